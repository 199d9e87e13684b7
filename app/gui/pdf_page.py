"""Render one PDF page to a QImage with a passage highlighted, for the source viewer.

Citations carry character offsets into pypdfium2's text of the page (`get_text_range()`), so the
same text page gives a box for every character; boxes on one line are merged into one rectangle
and painted translucent over the rendered page.  Runs on a worker thread (QImage, not QPixmap,
is safe there); pdfium itself is not thread-safe, hence the lock.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QImage, QPainter

PDFIUM_LOCK = threading.Lock()
HIGHLIGHT = QColor(255, 200, 0, 90)
OUTLINE = QColor(230, 140, 0, 200)


@dataclass
class RenderedPage:
    image: QImage
    page: int  # 1-based
    pages: int
    highlights: list[QRectF] = field(default_factory=list)  # in image pixels


def merge_boxes(boxes: list[tuple[float, float, float, float]]) -> list[tuple[float, float, float, float]]:
    """Join character boxes (left, bottom, right, top in PDF points) that sit on the same line."""
    lines: list[list[float]] = []
    for left, bottom, right, top in boxes:
        if right - left <= 0 or top - bottom <= 0:
            continue  # generated spaces and line breaks have no area
        if lines:
            last = lines[-1]
            centre = (top + bottom) / 2  # commas and accents are short: compare centres, not overlap
            slack = 0.3 * (last[3] - last[1])
            if last[1] - slack <= centre <= last[3] + slack and left >= last[0] - 2:
                last[0], last[1] = min(last[0], left), min(last[1], bottom)
                last[2], last[3] = max(last[2], right), max(last[3], top)
                continue
        lines.append([left, bottom, right, top])
    return [tuple(line) for line in lines]  # type: ignore[misc]


def render_page(path: str | Path, page: int, start: int = 0, end: int = 0, width_px: int = 900) -> RenderedPage:
    """Render 1-based `page` of `path` about `width_px` wide with characters [start, end) highlighted."""
    import pypdfium2 as pdfium

    with PDFIUM_LOCK:
        pdf = pdfium.PdfDocument(str(path))
        try:
            pages = len(pdf)
            index = min(max(page, 1), pages) - 1
            pdf_page = pdf[index]
            page_w, page_h = pdf_page.get_size()
            scale = max(0.5, min(4.0, width_px / page_w))
            bitmap = pdf_page.render(scale=scale)
            image = QImage(bitmap.buffer, bitmap.width, bitmap.height, bitmap.stride,
                           QImage.Format.Format_RGB32 if bitmap.n_channels == 4 else QImage.Format.Format_BGR888).copy()
            boxes = []
            if end > start:
                text_page = pdf_page.get_textpage()
                count = text_page.count_chars()
                boxes = [text_page.get_charbox(i) for i in range(max(0, start), min(end, count))]
                text_page.close()
            pdf_page.close()
        finally:
            pdf.close()
    rects = [QRectF(left * scale, (page_h - top) * scale, (right - left) * scale, (top - bottom) * scale)
             for left, bottom, right, top in merge_boxes(boxes)]
    if rects:
        painter = QPainter(image)
        painter.setPen(OUTLINE)
        for rect in rects:
            padded = rect.adjusted(-2, -2, 2, 2)
            painter.fillRect(padded, HIGHLIGHT)
        painter.end()
    return RenderedPage(image, index + 1, pages, rects)
