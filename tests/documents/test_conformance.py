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
