"""PepperPy's offline embeddings plugin (entry point ``provider:LocalEmbeddingProvider``).

all-MiniLM-L6-v2 as int8 ONNX on onnxruntime; the tokenizer ships in this folder
(``tokenizer.json``, see NOTICE.txt).
"""
