"""The ingestion panel: overall files, chunks and time left, each file's state and reason, and Cancel.

It only listens to the bridge's ingest signals; the work itself runs on a worker.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (QHBoxLayout, QHeaderView, QLabel, QProgressBar, QPushButton, QTreeWidget,
                               QTreeWidgetItem, QVBoxLayout, QWidget)

from app.gui.bridge import ServiceBridge

STATE_COLOURS = {"ok": "#2e7d32", "skipped": "#555555", "failed": "#c62828", "removed": "#555555"}


def format_eta(seconds: float | None) -> str:
    if seconds is None:
        return "…"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


class ProgressPanel(QWidget):
    close_requested = Signal()

    def __init__(self, bridge: ServiceBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self._rows: dict[str, QTreeWidgetItem] = {}
        self.running = False

        self.title = QLabel()
        self.bar = QProgressBar()
        self.bar.setTextVisible(True)
        self.stats = QLabel()
        self.cancel_btn = QPushButton(self.tr("Cancel"))
        self.cancel_btn.setToolTip(self.tr("Stop after the current file; documents already indexed stay."))
        self.cancel_btn.clicked.connect(self._cancel)
        self.close_btn = QPushButton(self.tr("Close"))
        self.close_btn.clicked.connect(self.close_requested)
        top = QHBoxLayout()
        top.addWidget(self.title)
        top.addWidget(self.bar, 1)
        top.addWidget(self.stats)
        top.addWidget(self.cancel_btn)
        top.addWidget(self.close_btn)

        self.files = QTreeWidget()
        self.files.setHeaderLabels([self.tr("File"), self.tr("State"), self.tr("Chunks"), self.tr("Reason")])
        self.files.setRootIsDecorated(False)
        self.files.setAcceptDrops(False)
        header = self.files.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        header.resizeSection(0, 260)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addLayout(top)
        layout.addWidget(self.files)

        bridge.ingest_started.connect(self.started)
        bridge.ingest_file.connect(self.file_event)
        bridge.ingest_progress.connect(self.progress)
        bridge.ingest_finished.connect(self.finished)
        bridge.ingest_failed.connect(self.failed)

    def started(self, kb: str, paths: list[str]) -> None:
        if not self.running:
            self.files.clear()
            self._rows.clear()
        self.running = True
        self.title.setText(self.tr("Adding to “%1”").replace("%1", kb))
        self.bar.setRange(0, 0)  # busy until the first count arrives
        self.stats.setText(self.tr("Looking for files…"))
        self.cancel_btn.setEnabled(True)
        self.cancel_btn.setVisible(True)
        self.close_btn.setVisible(False)

    def _state_text(self, state: str) -> str:
        return {"started": self.tr("reading…"), "ok": self.tr("added"), "skipped": self.tr("unchanged"),
                "failed": self.tr("failed"), "removed": self.tr("removed")}.get(state, state)

    def file_event(self, event: Any) -> None:
        row = self._rows.get(event.path)
        if row is None:
            row = QTreeWidgetItem([Path(event.path).name, "", "", ""])
            row.setToolTip(0, event.path)
            self._rows[event.path] = row
            self.files.addTopLevelItem(row)
        row.setText(1, self._state_text(event.state))
        row.setForeground(1, QBrush(QColor(STATE_COLOURS.get(event.state, "#9a6700"))))
        row.setText(2, str(event.chunks) if event.chunks else "")
        row.setTextAlignment(2, Qt.AlignmentFlag.AlignRight)
        row.setText(3, event.reason or "")
        row.setToolTip(3, event.reason or "")
        if event.state == "failed":
            self.files.scrollToItem(row)

    def progress(self, progress: Any) -> None:
        self.bar.setRange(0, max(progress.files_total, 1))
        self.bar.setValue(progress.files_done)
        self.bar.setFormat(self.tr("%v of %m files"))
        chunks = (self.tr("%1 of %2 chunks").replace("%1", str(progress.chunks_done))
                  .replace("%2", str(progress.chunks_total)) if progress.chunks_total
                  else self.tr("%1 chunks").replace("%1", str(progress.chunks_done)))
        self.stats.setText(chunks + " · " + self.tr("time left: %1").replace("%1", format_eta(progress.eta_s)))

    def finished(self, report: Any) -> None:
        self.running = False
        self.cancel_btn.setVisible(False)
        self.close_btn.setVisible(True)
        if report is None:
            self.title.setText(self.tr("Stopped"))
            self.bar.setRange(0, 1)
            self.stats.setText(self.tr("Documents finished before stopping stay indexed."))
            return
        self.bar.setRange(0, 1)
        self.bar.setValue(1)
        self.bar.setFormat(self.tr("done"))
        self.title.setText(self.tr("Finished"))
        self.stats.setText(self.tr("%1 added, %2 unchanged, %3 failed · %4 chunks in %5 s")
                           .replace("%1", str(report.ok)).replace("%2", str(report.skipped))
                           .replace("%3", str(report.failed)).replace("%4", str(report.chunks_added))
                           .replace("%5", f"{report.seconds:.1f}"))

    def failed(self, message: str) -> None:
        """Stopped by an error (a full disk, say), not by the user: say so, with the reason."""
        self.title.setText(self.tr("Stopped by an error"))
        # The whole message is in the bar at the top of the window; here it would squeeze the row.
        self.stats.setText(self.tr("Not finished: see the message at the top of the window. "
                                   "Documents finished before the error stay indexed."))
        self.stats.setToolTip(message)

    def _cancel(self) -> None:
        self.cancel_btn.setEnabled(False)
        self.stats.setText(self.tr("Cancelling…"))
        self.bridge.cancel_ingest()
