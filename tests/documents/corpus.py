"""A small real corpus (PDF, .docx, HTML, Markdown) and the bad inputs, written by
the real libraries (fpdf2, python-docx) into a folder: no mocked parsers anywhere.

Each fact sits on one PDF page or under one heading, so a question has one right
``source`` (and ``page``).
"""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

PDF_PAGES = (
    "Marrow Valley annual report. The valley counted 12,400 residents this year, "
    "most of them in the three river villages.",
    "Water supply. The Keswick reservoir holds 3.2 million cubic meters of water and "
    "feeds every tap in the valley through two treatment plants.",
    "Transport. Tram line 7 runs every nine minutes from the central station to the "
    "airport, from five in the morning until midnight.",
)

#: (question, source, page or None, words the hit must contain)
QUESTIONS = (
    ("How often does tram line 7 run to the airport?", "city-report.pdf", 3, "nine minutes"),
    ("How much water does the Keswick reservoir hold?", "city-report.pdf", 2, "3.2 million"),
    ("At what temperature are apples kept in the cold rooms?", "orchard-handbook.docx",
     None, "2 degrees"),
    ("How many months can Gala apples be stored?", "orchard-handbook.docx", None, "Gala"),
    ("When does the Tidewater maritime museum open?", "museum.html", None, "10 am"),
    ("How much honey does one beehive yield in spring?", "bees.md", None, "18 kilograms"),
)

HTML = """<!doctype html><html><head><title>Tidewater Maritime Museum</title>
<style>body { font-family: serif } .nav { color: red }</style>
<script>var tracker = "ticket prices cookie consent museum opening tracker";</script>
</head><body>
<nav><a href="/">Home</a> <a href="/tickets">Tickets and opening hours</a></nav>
<div id="cookie-banner">We use cookies to improve the museum website. Accept all cookies?</div>
<header class="site-header">Tidewater Maritime Museum: menu</header>
<main>
<h1>Tidewater Maritime Museum</h1>
<h2>Opening hours</h2>
<p>The museum opens at 10 am from Tuesday to Sunday and stays closed on Mondays.</p>
<h2>Collection</h2>
<p>The collection holds the carved figurehead of the schooner Alba and forty ship models.</p>
</main>
<footer>Copyright Tidewater. Follow us on social media.</footer>
<script>document.write("museum opens at 3 am")</script>
</body></html>
"""

MARKDOWN = """# Beekeeping notes

## Swarming

Colonies swarm in May when the hive is crowded; add a super before the first warm week.

## Honey

The spring honey harvest yields about 18 kilograms per hive in a good year.
"""


def write_pdf(path: Path, pages: tuple[str, ...] = PDF_PAGES, *,
              user_password: str | None = None) -> Path:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 8, text)
    if user_password is not None:
        pdf.set_encryption(owner_password="owner-secret", user_password=user_password)
    path.write_bytes(bytes(pdf.output()))
    return path


def write_docx(path: Path, *, storage_text: str = "Apples are kept in the cold rooms at "
               "2 degrees Celsius and 90 percent humidity.") -> Path:
    import docx

    document = docx.Document()
    document.add_heading("Orchard handbook", level=0)
    document.add_heading("Harvest", level=1)
    document.add_paragraph("Apples are picked by hand in late September, row by row.")
    document.add_heading("Storage", level=1)
    document.add_paragraph(storage_text)
    document.add_heading("Varieties", level=2)
    table = document.add_table(rows=1, cols=3)
    for cell, text in zip(table.rows[0].cells, ("Variety", "Sugar", "Storage months"),
                          strict=True):
        cell.text = text
    for row in (("Gala", "14", "5 months"), ("Russet", "16", "7 months")):
        cells = table.add_row().cells
        for cell, text in zip(cells, row, strict=True):
            cell.text = text
    buffer = io.BytesIO()
    document.save(buffer)
    path.write_bytes(buffer.getvalue())
    return path


def write_good(folder: Path) -> Path:
    """The four good files."""
    folder.mkdir(parents=True, exist_ok=True)
    write_pdf(folder / "city-report.pdf")
    write_docx(folder / "orchard-handbook.docx")
    (folder / "museum.html").write_text(HTML, encoding="utf-8")
    (folder / "bees.md").write_text(MARKDOWN, encoding="utf-8")
    return folder


def zip_bomb(path: Path, *, declared: int = 200 << 20) -> Path:
    """A .docx-named ZIP whose one entry inflates ``declared`` bytes of zeros."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        with archive.open("word/document.xml", "w") as entry:
            block = b"\0" * (1 << 20)
            for _ in range(declared >> 20):
                entry.write(block)
    return path


#: bad file name -> the words its warning line must contain
BAD = {
    "corrupt.pdf": "not a readable PDF",
    "locked.pdf": "password",
    "empty.md": "0 bytes",
    "bomb.docx": "ZIP bomb",
    "deep.html": "nest deeper",
    "data.xyz": "'.xyz'",
    "latin1.txt": "not UTF-8",
    "loop": "symlink loop",
}


def write_bad(folder: Path) -> Path:
    """Every bad input the loaders and the walker must name and skip."""
    folder.mkdir(parents=True, exist_ok=True)
    good = write_pdf(folder / "corrupt.pdf").read_bytes()
    (folder / "corrupt.pdf").write_bytes(good[:200] + b"\0garbage\0" * 50)
    write_pdf(folder / "locked.pdf", user_password="letmein")
    (folder / "empty.md").write_bytes(b"")
    zip_bomb(folder / "bomb.docx")
    depth = 100_000
    (folder / "deep.html").write_text(
        "<html><body>" + "<div>" * depth + "deep" + "</div>" * depth + "</body></html>")
    (folder / "data.xyz").write_bytes(b"\x00\x01 unknown format")
    (folder / "latin1.txt").write_bytes("Caf\xe9 au lait, cr\xe8me br\xfbl\xe9e".encode("latin-1"))
    os.symlink(folder, folder / "loop")  # a folder symlink back to its own parent
    (folder / ".hidden.md").write_text("# Hidden\n\nNever read.", encoding="utf-8")
    return folder
