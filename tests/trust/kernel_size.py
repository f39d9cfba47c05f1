"""Count the trust kernel: files, and code lines (docstrings and blank lines excluded)."""

from __future__ import annotations

import ast
import io
import tokenize
from pathlib import Path

KERNEL = Path(__file__).resolve().parents[2] / "pepperpy" / "trust"


def _docstring_lines(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = getattr(node, "body", [])
            if body and isinstance(body[0], ast.Expr) and isinstance(
                    getattr(body[0], "value", None), ast.Constant) and isinstance(
                    body[0].value.value, str):
                lines.update(range(body[0].lineno, (body[0].end_lineno or 0) + 1))
    return lines


def code_lines(path: Path) -> int:
    """Lines holding a token other than a comment, a docstring or whitespace."""
    source = path.read_text(encoding="utf-8")
    skip = _docstring_lines(ast.parse(source))
    lines: set[int] = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT,
                          tokenize.DEDENT, tokenize.ENDMARKER):
            continue
        lines.update(n for n in range(token.start[0], token.end[0] + 1) if n not in skip)
    return len(lines)


def files() -> list[Path]:
    return sorted(KERNEL.glob("*.py"))
