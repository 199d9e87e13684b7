"""The source viewer: the cited page with the passage highlighted, and a button to open the file.

PDF pages are rendered on a worker (`pdf_page.render_page`); other formats show the page's
extracted text, asked of the library through the bridge, with the passage marked.  Showing a new
source while an older one still renders simply drops the older result.  A document read from
inside another file (an e-mail attachment, a zip member: `mail.eml › report.pdf`) has no file of
its own: it always shows its stored text, and is "no longer there" only when its container is not.
"""

from __future__ import annotations

import html
import itertools
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QPixmap
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QPushButton, QScrollArea, QStackedWidget, QTextBrowser,
                               QVBoxLayout, QWidget)

from app.gui.bridge import ServiceBridge
from app.gui.pdf_page import RenderedPage, render_page
from app.gui.workers import Task
from ingest.types import file_of

_request_ids = itertools.count(1)


def highlight_html(text: str, start: int, end: int) -> str:
    """Page text as HTML with [start, end) marked and anchored so the view can scroll to it."""
    start, end = max(0, min(start, len(text))), max(0, min(end, len(text)))
    before, passage, after = text[:start], text[start:end], text[end:]
    mark = (f'<a name="hit"></a><span style="background-color:#ffe27a">{html.escape(passage)}</span>'
            if passage else '<a name="hit"></a>')
    return (f'<div style="white-space: pre-wrap; font-size: 10.5pt">{html.escape(before)}{mark}'
            f'{html.escape(after)}</div>')


class SourceView(QWidget):
    shown = Signal(dict)  # after a source is on screen (tests and screenshots wait on it)

    def __init__(self, bridge: ServiceBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.source: dict[str, Any] | None = None
        self.rendered: RenderedPage | None = None
        self._request = 0

        self.title = QLabel(self.tr("Click a citation such as [1] to see where an answer comes from."))
        self.title.setWordWrap(True)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.prev_btn = QPushButton("◀")
        self.prev_btn.setToolTip(self.tr("Previous page"))
        self.prev_btn.clicked.connect(lambda: self._turn(-1))
        self.next_btn = QPushButton("▶")
        self.next_btn.setToolTip(self.tr("Next page"))
        self.next_btn.clicked.connect(lambda: self._turn(1))
        self.open_btn = QPushButton(self.tr("Open file"))
        self.open_btn.setToolTip(self.tr("Open the document in its usual application"))
        self.open_btn.clicked.connect(self.open_file)
        for btn in (self.prev_btn, self.next_btn):
            btn.setFixedWidth(32)
        buttons = QHBoxLayout()
        buttons.addWidget(self.prev_btn)
        buttons.addWidget(self.next_btn)
        buttons.addStretch()
        buttons.addWidget(self.open_btn)

        self.image = QLabel()
        self.image.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self.scroll = QScrollArea()
        self.scroll.setWidget(self.image)
        self.scroll.setWidgetResizable(True)
        self.text = QTextBrowser()
        self.text.setAcceptDrops(False)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.stack = QStackedWidget()
        for page in (self.message, self.scroll, self.text):
            self.stack.addWidget(page)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.title)
        layout.addLayout(buttons)
        layout.addWidget(self.stack, 1)
        bridge.page_text_ready.connect(self._page_text)
        self._set_enabled(False)

    def _set_enabled(self, on: bool, pdf: bool = False) -> None:
        self.open_btn.setEnabled(on)
        self.prev_btn.setVisible(pdf)
        self.next_btn.setVisible(pdf)

    def show_source(self, source: dict[str, Any]) -> None:
        self.source = dict(source)
        self.rendered = None
        path = Path(str(source.get("path", "")))
        file = Path(file_of(str(path)))  # the file on disk: the document, or the one it was read from
        member = str(path)[len(str(file)):]  # " › report.pdf" for a member, "" for a file
        page = source.get("page")
        where = self.tr("page %1").replace("%1", str(page)) if page else ""
        heading = " › ".join(source.get("heading_path") or ())
        parts = [f"<b>[{source.get('n', '')}] {html.escape(file.name + member)}</b>", where, html.escape(heading)]
        self.title.setText(" · ".join(p for p in parts if p))
        self.title.setToolTip(str(path))
        self._request = next(_request_ids)
        # A member has no file to render, whatever its type: its pages are shown as stored text.
        pdf = not member and path.suffix.lower() == ".pdf"
        self._set_enabled(file.exists(), pdf=pdf)
        if not file.exists():
            self._show_text_fallback(self.tr("The file is no longer at %1. Move it back, or remove it from the "
                                             "knowledge base and add it again.").replace("%1", str(file)))
            return
        if pdf:
            self._render_pdf(path, int(page or 1), int(source.get("start", 0)), int(source.get("end", 0)))
        else:
            self.message.setText(self.tr("Loading page…"))
            self.stack.setCurrentWidget(self.message)
            self.bridge.page_text(self._request, str(source.get("kb", "")), str(path), page, source.get("section"))

    def _render_pdf(self, path: Path, page: int, start: int, end: int) -> None:
        request = self._request
        self.message.setText(self.tr("Rendering page…"))
        self.stack.setCurrentWidget(self.message)
        width = max(360, self.scroll.viewport().width() - 4)  # fit the page to the viewer's width
        Task(render_page, path, page, start, end, width).start(
            lambda result: self._rendered(request, result),
            lambda message: self._failed(request, message))

    def _rendered(self, request: int, result: RenderedPage) -> None:
        if request != self._request:
            return
        self.rendered = result
        self.stack.setCurrentWidget(self.scroll)
        pixmap = QPixmap.fromImage(result.image)
        # The dock may have changed width while the page rendered: fit the page to it now.
        width = self.scroll.viewport().width() - 2
        factor = min(1.0, width / pixmap.width()) if width > 100 else 1.0
        if factor < 1.0:
            pixmap = pixmap.scaledToWidth(width, Qt.TransformationMode.SmoothTransformation)
        self.image.setPixmap(pixmap)
        if result.highlights:
            # Put the passage near the top of the view, with a little of what leads into it.
            self.image.adjustSize()
            self.scroll.widget().adjustSize()
            self.scroll.verticalScrollBar().setValue(int(result.highlights[0].top() * factor) - 80)
        self.prev_btn.setEnabled(result.page > 1)
        self.next_btn.setEnabled(result.page < result.pages)
        self.shown.emit(self.source or {})

    def _failed(self, request: int, message: str) -> None:
        if request == self._request:
            self._show_text_fallback(self.tr("Could not show this page: %1").replace("%1", message))

    def _page_text(self, key: object, text: str) -> None:
        if key != self._request or self.source is None:
            return
        start, end = int(self.source.get("start", 0)), int(self.source.get("end", 0))
        if not text.strip():  # the library has no page text: show the passage itself
            text, start, end = str(self.source.get("text", "")), 0, len(str(self.source.get("text", "")))
        self.text.setHtml(highlight_html(text, start, end))
        self.text.scrollToAnchor("hit")
        self.stack.setCurrentWidget(self.text)
        self.shown.emit(self.source)

    def _show_text_fallback(self, message: str) -> None:
        passage = str((self.source or {}).get("text", ""))
        self.text.setHtml(f'<p style="color:#b00020">{html.escape(message)}</p>' + highlight_html(passage, 0, len(passage)))
        self.stack.setCurrentWidget(self.text)
        self.shown.emit(self.source or {})

    def _turn(self, step: int) -> None:
        if self.source is None or self.rendered is None:
            return
        page = self.rendered.page + step
        if 1 <= page <= self.rendered.pages:
            self._request = next(_request_ids)
            # Other pages are shown without a highlight: the passage is on the cited page only.
            self._render_pdf(Path(self.source["path"]), page, 0, 0)

    def open_file(self) -> None:
        if self.source:
            # A member cannot be opened by itself: open the mail or archive that holds it.
            QDesktopServices.openUrl(QUrl.fromLocalFile(file_of(str(self.source["path"]))))
