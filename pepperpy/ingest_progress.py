"""``IngestProgress``: where a long ``add_files`` (or ``rag.remove``) is, for a progress
callback. A leaf module: ``pepperpy.ingest`` and ``pepperpy.rag_remove`` both report
with it (``pepperpy.ingest.IngestProgress`` is the public name)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

__all__ = ["IngestProgress"]


@dataclass
class IngestProgress:
    """Where a long ``add_files`` (or ``rag.remove``) is: handed to the ``progress``
    callback as it goes."""

    files_total: int
    files_done: int = 0
    files_skipped: int = 0
    chunks: int = 0
    chunks_embedded: int = 0
    files_removed: int = 0  # gone from a folder (``prune=True``) or ``rag.remove``
    chunks_removed: int = 0
    started: float = field(default_factory=time.perf_counter)

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    @property
    def chunks_per_second(self) -> float:
        return self.chunks_embedded / self.elapsed if self.elapsed > 0 else 0.0

    def line(self) -> str:
        """One human line, as the CLI prints it."""
        removed = (f", {self.chunks_removed} chunks of {self.files_removed} removed "
                   "files deleted" if self.files_removed else "")
        return (
            f"{self.files_done}/{self.files_total} files, {self.chunks} chunks "
            f"({self.chunks_embedded} embedded, {self.chunks_per_second:.1f}/s), "
            f"{self.files_skipped} skipped{removed}, {self.elapsed:.1f}s"
        )
