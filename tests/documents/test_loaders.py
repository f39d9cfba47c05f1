"""The loaders on their own (from plugin_src, real libraries): the bounds they check
before parsing, and the structure they keep."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from support.plugins import load_source_plugin

from pepperpy.core import ValidationError

from .corpus import write_pdf, zip_bomb


def loader(folder: str, **config: object):
    manifest, cls = load_source_plugin(folder)
    defaults = {k: v["default"] for k, v in manifest["config_schema"]["properties"].items()
                if "default" in v}
    return cls(**{**defaults, **config})


def html_module():
    import importlib

    load_source_plugin("documents_html_provider")
    return importlib.import_module("documents_html_provider.provider")


@pytest.mark.parametrize("page, depth", [
    ("<div>" * 600 + "x" + "</div>" * 600, 600),
    ("<div></x>" * 600, 600),  # end tags that close nothing do not shorten the count
    ("<div></div>" * 5000, 1),
    ("<p>" * 5000, 0),  # a new <p> closes the previous one: flat
    ("<ul><li>" * 100, 100),
])
def test_html_depth_scan_counts_what_the_parser_builds(page: str, depth: int) -> None:
    assert html_module().nesting_depth(page.encode(), 10_000) == depth


@pytest.mark.parametrize("page", [
    "<div>" * 100_000, "<div></x>" * 100_000, "<span><b>" * 50_000,
], ids=["nested", "nested-with-stray-end-tags", "inline"])
def test_deep_html_is_refused_before_parsing(page: str) -> None:
    with pytest.raises(ValidationError, match="nest deeper than 512"):
        loader("documents_html_provider").read(page.encode(), name="deep.html")


def test_html_without_main_reads_the_body_and_drops_noise() -> None:
    page = (b"<body><div class='navbar'>Menu</div><h1>Title</h1><p>Body text.</p>"
            b"<div class='cookie-consent'>Accept</div><aside>Related</aside></body>")
    sections = loader("documents_html_provider").read(page, name="p.html")
    assert [(s.headings, s.text) for s in sections] == [(("Title",), "Body text.")]


def _forged_bomb(declared: int) -> bytes:
    """A small valid ZIP whose central directory claims ``declared`` inflated bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b"<w:document/>")
    data = bytearray(buffer.getvalue())
    central = data.rfind(b"PK\x01\x02")
    data[central + 24 : central + 28] = declared.to_bytes(4, "little")
    return bytes(data)


def _incompressible(size: int) -> bytes:
    """A ZIP of ``size`` random bytes: ratio about 1, so only the total can refuse it."""
    import os

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/media/image1.bin", os.urandom(size))
    return buffer.getvalue()


@pytest.mark.parametrize(("data", "limit"), [
    (_forged_bomb(4_000_000_000), 100 << 20),  # the claim alone: nothing is inflated
    (_incompressible(64 << 10), 32 << 10),  # a plain ratio, too much in all
], ids=["declared-4GB", "total-above-limit"])
def test_docx_bomb_is_refused_by_declared_size(data: bytes, limit: int) -> None:
    with pytest.raises(ValidationError, match=r"would unpack to \d+ bytes .*ZIP bomb"):
        loader("documents_docx_provider", max_unpacked_bytes=limit).read(data, name="b.docx")


def test_docx_bomb_by_ratio(tmp_path: Path) -> None:
    data = zip_bomb(tmp_path / "b.docx", declared=50 << 20).read_bytes()
    with pytest.raises(ValidationError, match="ratio above 200"):
        loader("documents_docx_provider").read(data, name="b.docx")


def test_pdf_with_an_empty_user_password_opens(tmp_path: Path) -> None:
    data = write_pdf(tmp_path / "o.pdf", ("Only page.",), user_password="").read_bytes()
    sections = loader("documents_pdf_provider").read(data, name="o.pdf")
    assert [(s.page, s.text) for s in sections] == [(1, "Only page.")]


def test_markdown_headings_ignore_code_fences() -> None:
    text = b"# Guide\n\nIntro.\n\n```\n# not a heading\n```\n\n## Install\n\nRun it.\n"
    sections = loader("documents_markdown_provider").read(text, name="g.md")
    assert [s.headings for s in sections] == [("Guide",), ("Guide", "Install")]
    assert "# not a heading" in sections[0].text
