"""Keep llama.cpp's prompt cache between calls without changing a single answer.

llama.cpp's CPU kernels round a one-token batch differently from a batch of two or
more (the single-token path quantizes and sums in another order), while batches of
two or more give bit-identical rows whatever their size or split. llama-cpp-python
keeps the KV cache and evaluates only what follows the prefix a new prompt shares
with the cached tokens, but its cache also holds the answer's tokens, decoded one at
a time, and it may evaluate a one-token suffix: both change the next answer.

So the cache that is reused is only the part evaluated in batches of two or more:

- before a request, the cache is cut back to the last prompt (the tokens decoded
  after it are dropped, and evaluated again as part of the next prompt's batch);
- a prompt's evaluation never ends in a one-token batch (a lone last token takes the
  cached position before it along).

Then every prompt position holds what a fresh evaluation computes, and the answers at a
fixed seed are those of an empty cache (``tests/local/test_prompt_cache.py``).
Recurrent and hybrid models cannot cut their state back: they start empty each time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["prompt_caching", "start_request"]


def prompt_caching(llama_class: type) -> type:
    """A subclass of llama-cpp-python's ``Llama`` that reuses only batch-evaluated tokens."""

    class PromptCachingLlama(llama_class):  # type: ignore[misc, valid-type]
        _batched = 0  # cached positions 0.._batched were evaluated in batches of 2+
        _prompt_next = False

        def start_request(self, *, keep_cache: bool) -> None:
            """Cut the cache back to what may be reused (or clear it), before a call."""
            recurrent = getattr(self, "_is_recurrent", False) or getattr(
                self, "_is_hybrid", False
            )
            if not keep_cache or recurrent:
                self.reset()
            elif self.n_tokens > self._batched:
                self.n_tokens = self._batched
                self._requires_eval = True  # the current logits are not the prompt's
            self._prompt_next = True

        def reset(self) -> None:
            super().reset()
            self._batched = 0

        def eval(self, tokens: Sequence[int]) -> None:
            if not self._prompt_next:  # decoding: one token at a time, never reused
                super().eval(tokens)
                return
            self._prompt_next = False
            batch = [int(t) for t in tokens]
            if len(batch) == 1 and self.n_tokens > 0:  # take the position before along
                self.n_tokens -= 1
                batch.insert(0, int(self.input_ids[self.n_tokens]))
            size = max(int(self.n_batch), 2)
            start = 0
            while start < len(batch):
                end = min(start + size, len(batch))
                if len(batch) - end == 1:  # never leave a lone last token
                    end -= 1
                super().eval(batch[start:end])
                start = end
            self._batched = self.n_tokens

    PromptCachingLlama.__name__ = PromptCachingLlama.__qualname__ = "PromptCachingLlama"
    return PromptCachingLlama


def start_request(llama: Any, *, keep_cache: bool) -> None:
    """``llama.start_request`` when it has one (a plain ``Llama``: clear the cache)."""
    start = getattr(llama, "start_request", None)
    if start is not None:
        start(keep_cache=keep_cache)
    else:
        llama.reset()
