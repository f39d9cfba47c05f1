"""The trust kernel stays small enough to audit in one sitting, and layered one way.

- ``pepperpy/trust/`` holds at most 8 files and fewer than 1,200 code lines
  (docstrings, comments and blank lines excluded);
- no import cycle anywhere in PepperPy, imports inside functions included;
- the kernel imports nothing above it: only ``pepperpy.core`` (errors), six leaf helpers
  that import nothing from PepperPy (``_record``, ``_versions``, ``_sha``, ``_crcs``,
  ``_lines``, ``_jsonio``) and,
  for the verified cache's file, the one atomic writer;
- the two decision modules import nothing that does I/O, checked on the source graph and
  in a fresh interpreter.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from trust.importgraph import ROOT, cycles, graph
from trust.kernel_size import code_lines, files

MAX_FILES = 8
MAX_CODE_LINES = 1200
KERNEL = "pepperpy.trust"
#: What the kernel may import besides itself: nothing that sits above it.
BELOW_KERNEL = {"pepperpy.core", "pepperpy._record", "pepperpy._versions", "pepperpy._sha",
                "pepperpy._crcs", "pepperpy._lines", "pepperpy._jsonio", "pepperpy.bundle.fileio"}
DECISIONS = ("pepperpy.trust.authentic", "pepperpy.trust.admissible")
#: Kernel modules the decisions may reach: values, and the archive parser (bytes in).
PURE = {"pepperpy.core", "pepperpy._record", "pepperpy._versions", "pepperpy._sha",
        "pepperpy._crcs", "pepperpy._jsonio", "pepperpy.trust", "pepperpy.trust.types",
        "pepperpy.trust.archive", *DECISIONS}
#: Modules that read or write files, start processes or talk to the network.
IO_MODULES = ("pepperpy.trust.gate", "pepperpy.trust.sealed", "pepperpy.trust.manifest",
              "pepperpy.bundle", "pepperpy.plugins", "pepperpy.settings",
              "pepperpy.distribution", "subprocess", "socket", "tempfile", "shutil",
              "fcntl", "urllib", "http", "glob", "zipfile", "sqlite3")


def test_the_kernel_is_at_most_8_files_and_under_1200_code_lines():
    counted = {path.name: code_lines(path) for path in files()}
    total = sum(counted.values())
    assert len(counted) <= MAX_FILES, f"{len(counted)} files: {sorted(counted)}"
    assert total < MAX_CODE_LINES, f"{total} code lines: {counted}"


def test_no_import_cycles_counting_imports_inside_functions():
    found = cycles(graph())
    assert not found, "import cycles among: " + "; ".join(", ".join(c) for c in found)


def test_the_kernel_imports_nothing_above_it():
    edges = graph()
    outside = {(m, t) for m, targets in edges.items() if m.startswith(KERNEL)
               for t in targets if not t.startswith(KERNEL) and t not in BELOW_KERNEL}
    assert not outside, f"the kernel imports modules above it: {sorted(outside)}"


@pytest.mark.parametrize("module", DECISIONS)
def test_a_decision_module_reaches_no_io_code_even_indirectly(module: str):
    edges = graph()
    reached, queue = {module}, [module]
    while queue:
        for target in edges[queue.pop()]:
            if target not in reached:
                reached.add(target)
                queue.append(target)
    assert reached <= PURE, f"{module} reaches {sorted(reached - PURE)}"


@pytest.mark.parametrize("module", DECISIONS)
def test_a_decision_module_imported_cold_loads_no_io_module(module: str):
    """In a fresh interpreter, importing the decision module adds no I/O module to what
    ``import pepperpy`` (its parent package) already loaded."""
    code = ("import sys\nimport pepperpy\nbefore = set(sys.modules)\n"
            f"import {module}\n"
            "print('\\n'.join(sorted(set(sys.modules) - before)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": ""})
    added = out.stdout.split()
    assert module in added
    bad = [m for m in added if m.startswith(IO_MODULES)]
    assert not bad, f"importing {module} loads {bad}"
