"""Every first-party documents loader against the documents conformance suite."""

from __future__ import annotations

from pepperpy.testing.conformance import DocumentsConformance
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


def test_scaffolding_a_loader_points_to_the_example_loader(tmp_path) -> None:
    import pytest

    from pepperpy.core import ValidationError
    from pepperpy.scaffold import new_plugin

    with pytest.raises(ValidationError, match="documents_markdown_provider"):
        new_plugin("documents_epub_provider", "documents", out=tmp_path)
    assert not list(tmp_path.iterdir())
