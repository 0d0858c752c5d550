"""Text of a report or receipt PDF, for assertions: poppler's `pdftotext` on the PDF bytes when it is installed,
otherwise WeasyPrint's own output — the text of the laid-out pages it writes into the PDF, line by line."""
from __future__ import annotations

import shutil
import subprocess


def pdf_text(*, pdf: bytes, html: str) -> str:
    """`pdf` is what the service produced from `html`; both are given so the check works with or without
    poppler-utils."""
    assert pdf.startswith(b"%PDF-") and b"%%EOF" in pdf[-1024:]
    if shutil.which("pdftotext"):
        out = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True)
        return " ".join(out.stdout.decode("utf-8").split())
    return layout_text(html)


def layout_text(html: str) -> str:
    from weasyprint import HTML
    from weasyprint.formatting_structure.boxes import LineBox, TextBox

    lines = []
    for page in HTML(string=html).render().pages:
        for box in page._page_box.descendants():
            if isinstance(box, LineBox):
                lines.append("".join(b.text for b in box.descendants() if isinstance(b, TextBox)))
    return " ".join(" ".join(lines).split())
