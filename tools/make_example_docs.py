"""Write the demo's PDF and Word documents into examples/corpus/ (committed outputs).

    .venv/bin/python tools/make_example_docs.py

Uses fpdf2 and python-docx (the ``test`` extra). Dates are fixed, so running it again
with the same library versions gives the same bytes. Each fact the demo asks about
sits on one PDF page or under one Word heading.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

CORPUS = Path(__file__).resolve().parents[1] / "examples" / "corpus"
FIXED = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)

GUIDE_PAGES = (
    ("Quillon visitor guide", "Quillon is a fishing town of four thousand people on the "
     "northern coast. This guide covers getting around and the islands nearby."),
    ("Ferries", "The ferry to Osk Island leaves Quillon pier at 7:40 and at 16:10 every "
     "day. The crossing takes 50 minutes; tickets are sold on board and bicycles "
     "travel free."),
    ("Walking", "The cliff path from the pier to Saltmarsh Point is 9 kilometres long and "
     "marked with blue posts. Allow three hours, and check the tide table first."),
)


def write_guide(path: Path) -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_creation_date(FIXED)
    pdf.set_title("Quillon visitor guide")
    for title, text in GUIDE_PAGES:
        pdf.add_page()
        pdf.set_font("Helvetica", "B", 16)
        pdf.cell(0, 12, title, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", size=12)
        pdf.multi_cell(0, 8, text)
    path.write_bytes(bytes(pdf.output()))


def write_garden(path: Path) -> None:
    import docx

    document = docx.Document()
    document.core_properties.created = FIXED.replace(tzinfo=None)
    document.core_properties.modified = FIXED.replace(tzinfo=None)
    document.core_properties.author = "Quillon community garden"
    document.add_heading("Quillon community garden rules", level=0)
    document.add_heading("Watering", level=1)
    document.add_paragraph("Plots are watered before 8 in the morning or after 7 in the "
                           "evening; the hoses are shared and go back on their hooks.")
    document.add_heading("Plot fees", level=1)
    document.add_paragraph("The yearly fee for a garden plot depends on its size:")
    table = document.add_table(rows=1, cols=3)
    for cell, text in zip(table.rows[0].cells, ("Plot", "Size", "Fee per year"),
                          strict=True):
        cell.text = text
    for row in (("Small plot", "12 square metres", "30 crowns"),
                ("Large plot", "30 square metres", "65 crowns")):
        for cell, text in zip(table.add_row().cells, row, strict=True):
            cell.text = text
    buffer = io.BytesIO()
    document.save(buffer)
    path.write_bytes(_fixed_zip_times(buffer.getvalue()))


def _fixed_zip_times(data: bytes) -> bytes:
    """The same ZIP with every entry dated FIXED (python-docx stamps the current time)."""
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as old, zipfile.ZipFile(out, "w") as new:
        for info in old.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=FIXED.timetuple()[:6])
            fixed.compress_type = zipfile.ZIP_DEFLATED
            new.writestr(fixed, old.read(info.filename))
    return out.getvalue()


def main() -> None:
    write_guide(CORPUS / "quillon-guide.pdf")
    write_garden(CORPUS / "community-garden.docx")
    print(f"wrote {CORPUS / 'quillon-guide.pdf'} and {CORPUS / 'community-garden.docx'}")


if __name__ == "__main__":
    main()
