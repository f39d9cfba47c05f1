"""The release rehearsal, laid out once per session (``make dist`` into a temporary folder,
with throwaway keys)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

TOOLS = Path(__file__).resolve().parents[2] / "tools"


@pytest.fixture(scope="session")
def release(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    if str(TOOLS) not in sys.path:
        sys.path.insert(0, str(TOOLS))
    from release import rehearse

    return rehearse(tmp_path_factory.mktemp("rehearsal") / "dist")
