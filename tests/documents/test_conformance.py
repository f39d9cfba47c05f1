"""Every first-party documents loader against the documents conformance suite."""

from __future__ import annotations

from pepperpy_testing.conformance import DocumentsConformance
from tests.conftest import PLUGIN_SRC

_NA = {"documents.errors.secrets_hidden": "a loader's options hold no credential",
       "documents.errors.provider_errors": "no service behind it"}


class TestPdfConformance(DocumentsConformance):
    not_applicable = _NA
    plugin = PLUGIN_SRC / "documents_pdf_provider"


class TestDocxConformance(DocumentsConformance):
    not_applicable = _NA
    plugin = PLUGIN_SRC / "documents_docx_provider"


class TestHtmlConformance(DocumentsConformance):
    not_applicable = _NA
    plugin = PLUGIN_SRC / "documents_html_provider"


class TestMarkdownConformance(DocumentsConformance):
    not_applicable = _NA
    plugin = PLUGIN_SRC / "documents_markdown_provider"


def test_a_scaffolded_loader_is_verified_loaded_and_reads_paragraphs(tmp_path) -> None:
    """`plugin new --category documents` gives a loader that builds, verifies, declares
    its file type in the signed manifest and parses; the conformance run is in
    tests/e2e/test_plugin_author.py."""
    import pytest

    from pepperpy.core import ValidationError
    from pepperpy.documents import Section
    from pepperpy_dev.scaffold import new_plugin
    from pepperpy_testing.conformance.loading import load_plugin

    new_plugin("documents_notes_provider", "documents", out=tmp_path)
    plugin = load_plugin(tmp_path / "documents_notes_provider", home=tmp_path / "home")
    loader = plugin.create({})
    assert (plugin.category, plugin.provider_name) == ("documents", "notes")
    assert loader.file_types == (".notes",)
    text = "\ufeffFirst paragraph,\r\nstill first.\r\n\r\n\n  Second.  \n\n\n"
    assert loader.read(text.encode(), name="a.notes") == [
        Section("First paragraph,\nstill first."), Section("Second.")]
    assert loader.read(b"", name="empty.notes") == []
    with pytest.raises(ValidationError, match=r"latin\.notes is not UTF-8 text \(byte 3"):
        loader.read("caf\xe9".encode("latin-1"), name="latin.notes")
    with pytest.raises(ValidationError, match=r"bin\.notes holds NUL bytes"):
        loader.read(b"a\x00b", name="bin.notes")
