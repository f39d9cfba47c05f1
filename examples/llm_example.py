"""Chat with an LLM through PepperPy (the seed's example, configurable from the shell).

    python examples/llm_example.py                     # the local model, after `make demo`
    PEPPERPY_EXAMPLE_PROVIDER=openai OPENAI_API_KEY=sk-... python examples/llm_example.py

Environment (all optional):
    PEPPERPY_EXAMPLE_PROVIDER   local (default), openai, openrouter, anthropic, or any
                                installed LLM (`pepperpy models` lists them)
    PEPPERPY_EXAMPLE_MODEL      model name (default: the provider's default)
    PEPPERPY_EXAMPLE_BASE_URL   API base URL (any OpenAI-compatible server, a test server)
The API key comes from the provider's usual variable: OPENAI_API_KEY,
OPENROUTER_API_KEY or ANTHROPIC_API_KEY.
"""

import asyncio
import os
import sys

from pepperpy import PepperPy, PepperpyError

KEY_ENV = {
    "openai": "OPENAI_API_KEY",
    "openrouter": "OPENROUTER_API_KEY",
    "anthropic": "ANTHROPIC_API_KEY",
}


def llm_config() -> dict:
    """with_llm() keywords from the environment; unset values keep the plugin's defaults."""
    provider = os.environ.get("PEPPERPY_EXAMPLE_PROVIDER", "local")
    config = {"provider_type": provider, "max_tokens": 200}
    if provider in KEY_ENV:
        config["api_key"] = os.environ.get(KEY_ENV[provider])
    for key in ("model", "base_url"):
        value = os.environ.get(f"PEPPERPY_EXAMPLE_{key.upper()}")
        if value:
            config[key] = value
    return config


async def main() -> None:
    # Create a PepperPy instance with the desired providers
    async with PepperPy().with_llm(**llm_config()) as pepper:
        # Use the fluent API
        result = await (
            pepper.chat
            .with_system("You are a helpful assistant.")
            .with_user("Tell me about Python.")
            .generate()
        )

        print(result.content)


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except PepperpyError as exc:
        sys.exit(f"error: {exc}")
