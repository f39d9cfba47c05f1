"""HTML: the page's main text, split at headings.

Invariants:
- nesting depth is measured by a linear scan before the parser runs, and a page
  deeper than ``max_depth`` is refused: lexbor's tree builder takes quadratic time on
  deep nesting (100,000 nested ``<div>`` take about 40 s), so the bound is checked
  first. The scan never under-counts what the parser builds by more than a factor of
  two (end tags that close nothing are ignored, as the parser ignores them);
- noise is removed before text is taken: scripts, styles, templates, forms, ``nav``,
  ``header``, ``footer``, ``aside``, and elements whose id, class or role marks them
  as navigation, menus, cookie or consent banners;
- ``main`` (or ``article``, or ``[role=main]``) is the text when present, else ``body``;
- each section carries the path of ``h1``-``h6`` headings above it.
"""

from __future__ import annotations

import re
from typing import Any

from pepperpy.core import ValidationError, provider_imports
from pepperpy.documents import DocumentLoader, Section

__all__ = ["HtmlLoader", "nesting_depth"]

_TAG = re.compile(rb"<(/?)([A-Za-z][A-Za-z0-9-]{0,40})")
#: Elements without end tags, and those whose end tag is optional (a new one closes
#: the previous sibling): neither deepens the tree by themselves.
_FLAT = frozenset(
    b"area base br col embed hr img input link meta param source track wbr "
    b"p li dt dd option optgroup tr td th thead tbody tfoot rt rp".split()
)
_NOISE = (
    "script, style, noscript, template, iframe, svg, canvas, form, button, select, "
    "nav, header, footer, aside, dialog, [aria-hidden=true], [hidden], "
    "[role=navigation], [role=banner], [role=contentinfo], [role=dialog]"
)
_NOISY_NAME = re.compile(
    r"(^|[\s_-])(nav|navbar|menu|breadcrumbs?|sidebar|cookies?|consent|gdpr|banner|"
    r"footer|header|advert|ads|share|social|popup|modal)([\s_-]|$)",
    re.IGNORECASE,
)
_BLOCKS = "h1, h2, h3, h4, h5, h6, p, li, pre, blockquote, td, th, dd, dt, figcaption"


def nesting_depth(data: bytes, limit: int) -> int:
    """How deep the elements nest (stops counting past ``limit``); linear time."""
    stack: list[bytes] = []
    open_count: dict[bytes, int] = {}
    deepest = 0
    for match in _TAG.finditer(data):
        name = match.group(2).lower()
        if name in _FLAT:
            continue
        if not match.group(1):
            stack.append(name)
            open_count[name] = open_count.get(name, 0) + 1
            deepest = max(deepest, len(stack))
            if deepest > limit:
                return deepest
        elif open_count.get(name):  # close up to the matching open element
            while stack:
                top = stack.pop()
                open_count[top] -= 1
                if top == name:
                    break
    return deepest


class HtmlLoader(DocumentLoader):
    """HTML pages (``.html``, ``.htm``)."""

    def read(self, data: bytes, *, name: str) -> list[Section]:
        limit = int(self.config.get("max_depth", 512))
        depth = nesting_depth(data, limit)
        if depth > limit:
            raise ValidationError(
                f"{name}: HTML elements nest deeper than {limit} levels; refused (such "
                "pages are generated or hostile); raise max_depth if it is genuine"
            )
        with provider_imports():
            from selectolax.lexbor import LexborHTMLParser

        try:
            tree = LexborHTMLParser(data.decode("utf-8", errors="replace"))
        except Exception as exc:
            raise ValidationError(f"{name} is not readable HTML ({exc})") from exc
        root = _main(tree)
        if root is None:
            return []
        _strip_noise(root)
        return _sections(root)


def _main(tree: Any) -> Any:
    for selector in ("main", "[role=main]", "article"):
        found = tree.css_first(selector)
        if found is not None:
            return found
    return tree.body


def _strip_noise(root: Any) -> None:
    for node in root.css(_NOISE):
        node.decompose()
    for node in root.css("[id], [class]"):
        marks = f"{node.attributes.get('id') or ''} {node.attributes.get('class') or ''}"
        if _NOISY_NAME.search(marks):
            node.decompose()


def _sections(root: Any) -> list[Section]:
    sections: list[Section] = []
    path: list[tuple[int, str]] = []
    body: list[str] = []

    def flush() -> None:
        text = "\n".join(body).strip()
        if text:
            sections.append(Section(text, headings=tuple(t for _, t in path)))
        body.clear()

    for node in root.css(_BLOCKS):
        if node.tag != "pre" and len(node.css(_BLOCKS)) > 1:  # the node matches itself
            continue  # its inner blocks come next, each on its own
        text = " ".join(node.text(deep=True, separator=" ").split())
        if node.tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            flush()
            level = int(node.tag[1])
            while path and path[-1][0] >= level:
                path.pop()
            if text:
                path.append((level, text))
        elif text:
            body.append(text)
    flush()
    return sections
