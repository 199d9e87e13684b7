"""The centre: a conversation whose answers stream in as Markdown with numbered, clickable citations.

Questions go to `ServiceBridge.ask`; tokens arrive as signals and the transcript is re-rendered at
most every 50 ms, so a fast model cannot swamp the event loop.  Conversations are kept in the
`ConversationStore` (SQLite); answers are stored with their sources so citations still work
after a restart and in the Markdown export.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any, Callable

import markdown
from PySide6.QtCore import QTimer, QUrl, Signal
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import (QComboBox, QFileDialog, QHBoxLayout, QLabel, QLineEdit, QPushButton,
                               QTextBrowser, QToolButton, QVBoxLayout, QWidget)

from app.gui.bridge import ServiceBridge
from app.gui.library_view import ask_text, ask_yes_no
from app.services.conversations import ConversationStore, source_to_dict

CSS = """
body { font-size: 10.5pt; }
.you { background-color: #eef3fb; }
.note { color: #8a5a00; }
.err { color: #b00020; }
.src { color: #444; font-size: 9pt; }
.muted { color: #777; }
pre { background-color: #f4f4f4; }
code { background-color: #f4f4f4; }
th { background-color: #eeeeee; }
a { color: #1a5fb4; text-decoration: none; }
"""

_CITE = re.compile(r"\[(\d{1,3})\]")


def render_markdown(text: str) -> str:
    """Markdown (lists, tables, fenced code) as the HTML subset QTextBrowser understands."""
    return markdown.markdown(text, extensions=["tables", "fenced_code", "sane_lists"], output_format="html")


def link_citations(body: str, message: int, numbers: set[int]) -> str:
    """Turn `[n]` markers that match a source into links, outside <pre>/<code> blocks."""
    parts = re.split(r"(<pre>.*?</pre>|<code>.*?</code>)", body, flags=re.S)
    for i in range(0, len(parts), 2):
        parts[i] = _CITE.sub(lambda m: f'<a href="cite:{message}:{m.group(1)}">[{m.group(1)}]</a>'
                             if int(m.group(1)) in numbers else m.group(0), parts[i])
    return "".join(parts)


def page_label(source: dict[str, Any]) -> str:
    name = Path(str(source.get("path", ""))).name
    page = source.get("page")
    return f"{name}, p. {page}" if page else name


class ChatView(QWidget):
    citation_clicked = Signal(dict)  # a stored source (fields of app.services.chat.Source)
    action_requested = Signal(str)  # links in the empty state: 'sample', 'add'

    def __init__(self, bridge: ServiceBridge, store: ConversationStore, kbs: Callable[[], list[str]],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bridge, self.store, self._kbs = bridge, store, kbs
        self.conversation_id: int | None = None
        self.messages: list[dict[str, Any]] = []  # role, text, sources, note
        self._streaming: str | None = None  # the answer being written, while a question runs
        self._stopped = False
        self._render_timer = QTimer(self, singleShot=True, interval=50)
        self._render_timer.timeout.connect(self._render_stream)
        self._stream_start = -1  # where the streaming answer begins in the transcript document

        self.conversations = QComboBox()
        self.conversations.setMinimumContentsLength(24)
        self.conversations.setToolTip(self.tr("Earlier conversations"))
        self.conversations.activated.connect(self._conversation_picked)
        bar = QHBoxLayout()
        bar.addWidget(QLabel(self.tr("Conversation:")))
        bar.addWidget(self.conversations, 1)
        for text, tip, slot in ((self.tr("New"), self.tr("Start a new conversation"), self.new_conversation),
                                (self.tr("Rename"), self.tr("Rename this conversation"), self._rename),
                                (self.tr("Delete"), self.tr("Delete this conversation"), self._delete),
                                (self.tr("Export…"), self.tr("Save this conversation as Markdown with its sources"),
                                 self._export)):
            btn = QToolButton()
            btn.setText(text)
            btn.setToolTip(tip)
            btn.clicked.connect(slot)
            bar.addWidget(btn)

        self.transcript = QTextBrowser()
        self.transcript.setOpenLinks(False)
        self.transcript.document().setDefaultStyleSheet(CSS)
        self.transcript.anchorClicked.connect(self._link)
        self.transcript.setAcceptDrops(False)

        self.question = QLineEdit()
        self.question.setPlaceholderText(self.tr("Ask a question about your documents…"))
        self.question.returnPressed.connect(self.ask)
        self.question.setAcceptDrops(False)
        self.ask_btn = QPushButton(self.tr("Ask"))
        self.ask_btn.setDefault(True)
        self.ask_btn.clicked.connect(self.ask)
        self.stop_btn = QPushButton(self.tr("Stop"))
        self.stop_btn.setEnabled(False)
        self.stop_btn.setToolTip(self.tr("Stop writing this answer"))
        self.stop_btn.clicked.connect(self.stop)
        ask_row = QHBoxLayout()
        ask_row.addWidget(self.question, 1)
        ask_row.addWidget(self.ask_btn)
        ask_row.addWidget(self.stop_btn)
        self.scope = QLabel()
        self.scope.setProperty("class", "muted")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(bar)
        layout.addWidget(self.transcript, 1)
        layout.addLayout(ask_row)
        layout.addWidget(self.scope)

        bridge.answer_token.connect(self._token)
        bridge.answer_finished.connect(self._finished)
        bridge.answer_failed.connect(self._failed)
        self.reload_conversations()
        self.render()

    # -- conversations -------------------------------------------------------------------------

    def reload_conversations(self, select: int | None = None) -> None:
        convs = self.store.list()
        self.conversations.blockSignals(True)
        self.conversations.clear()
        for conv in convs:
            self.conversations.addItem(conv.title, conv.id)
        self.conversations.blockSignals(False)
        target = select if select is not None else (self.conversation_id or (convs[0].id if convs else None))
        index = self.conversations.findData(target)
        if index >= 0:
            self.conversations.setCurrentIndex(index)
            if target != self.conversation_id:
                self.open_conversation(target)
        elif not convs:
            self.conversation_id, self.messages = None, []
            self.render()

    def open_conversation(self, conversation_id: int) -> None:
        if self.busy:
            return
        self.conversation_id = conversation_id
        self.messages = [{"role": m.role, "text": m.text, "sources": m.sources, "note": ""}
                         for m in self.store.messages(conversation_id)]
        self.render()

    def _conversation_picked(self, index: int) -> None:
        conv = self.conversations.itemData(index)
        if conv is not None and conv != self.conversation_id:
            self.open_conversation(conv)

    def new_conversation(self) -> None:
        if self.busy:
            return
        self.conversation_id, self.messages = None, []
        self.conversations.setCurrentIndex(-1)
        self.render()
        self.question.setFocus()

    def _rename(self) -> None:
        if self.conversation_id is None:
            return
        title = ask_text(self, self.tr("Rename conversation"), self.tr("Name:"), self.conversations.currentText())
        if title:
            self.store.rename(self.conversation_id, title)
            self.reload_conversations(self.conversation_id)

    def _delete(self) -> None:
        if self.conversation_id is None or self.busy:
            return
        if ask_yes_no(self, self.tr("Delete conversation"),
                      self.tr("Delete “%1”?").replace("%1", self.conversations.currentText())):
            self.store.delete(self.conversation_id)
            self.conversation_id, self.messages = None, []
            self.reload_conversations()
            self.render()

    def _export(self) -> None:
        if self.conversation_id is None:
            return
        name = re.sub(r"[^\w\- ]+", "_", self.conversations.currentText()).strip() or "conversation"
        path, _ = QFileDialog.getSaveFileName(self, self.tr("Export conversation"), f"{name}.md", "Markdown (*.md)")
        if path:
            Path(path).write_text(self.store.export_markdown(self.conversation_id), encoding="utf-8")

    # -- asking --------------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        return self._streaming is not None

    def ask(self, question: str | None = None) -> None:
        text = (question if isinstance(question, str) else self.question.text()).strip()
        if not text or self.busy:
            return
        kbs = self._kbs()
        if not kbs:
            self.messages.append({"role": "assistant", "text": "", "sources": [], "note": "",
                                  "error": self.tr("There is nothing to search yet. Drag files or folders onto the "
                                                   "window, or try the sample knowledge base, then ask again.")})
            self.render()
            return
        if self.conversation_id is None:
            conv = self.store.create(text[:60], kbs)
            self.conversation_id = conv.id
            self.reload_conversations(conv.id)
        else:
            self.store.set_kbs(self.conversation_id, kbs)
        turns = self.bridge.settings.answer.history_turns
        history = self.store.history(self.conversation_id)[-turns:] if turns else []
        self.store.append(self.conversation_id, "user", text)
        self.messages.append({"role": "user", "text": text, "sources": [], "note": ""})
        self.question.clear()
        self._streaming, self._stopped = "", False
        self._set_busy(True)
        self.render()
        self.bridge.ask(text, kbs, history)

    def stop(self) -> None:
        if not self.busy:
            return
        self._stopped = True
        self.bridge.stop_answer()
        # The worker stops within a token; the window does not wait for it.
        self._close_answer(self._streaming or "", [], self.tr("Stopped."))

    def _token(self, token: str) -> None:
        if self._streaming is None or self._stopped:
            return
        self._streaming += token
        if not self._render_timer.isActive():
            self._render_timer.start()

    def _finished(self, answer: Any) -> None:
        if self._stopped or self._streaming is None:
            return
        notes = []
        if getattr(answer, "not_found", False):
            notes.append(self.tr("Not found in the selected knowledge bases."))
        if getattr(answer, "from_model_knowledge", False):
            notes.append(self.tr("Answered from the model’s own knowledge, not from your documents."))
        if getattr(answer, "cut_passages", 0):
            notes.append(self.tr("%n passage(s) left out to fit the model’s context.", "", answer.cut_passages))
        self._close_answer(answer.text, [source_to_dict(s) for s in answer.sources], " ".join(notes))

    def _failed(self, message: str) -> None:
        if self._stopped or self._streaming is None:
            return
        if not message:  # cancelled
            self._close_answer(self._streaming, [], self.tr("Stopped."))
            return
        partial = self._streaming
        self._streaming = None
        self._set_busy(False)
        self.messages.append({"role": "assistant", "text": partial, "sources": [], "note": "", "error": message})
        self.render()

    def _close_answer(self, text: str, sources: list[dict[str, Any]], note: str) -> None:
        self._streaming = None
        self._set_busy(False)
        stored = text + (f"\n\n*{note}*" if note else "")  # the note survives a restart as part of the text
        if self.conversation_id is not None and (stored.strip() or sources):
            self.store.append(self.conversation_id, "assistant", stored, sources)
        self.messages.append({"role": "assistant", "text": text, "sources": sources, "note": note})
        self.render()

    def _set_busy(self, busy: bool) -> None:
        self.ask_btn.setEnabled(not busy)
        self.stop_btn.setEnabled(busy)

    def set_scope(self, kbs: list[str]) -> None:
        self.scope.setText(self.tr("Asking: %1").replace("%1", ", ".join(kbs)) if kbs else
                           self.tr("No knowledge base selected: add documents first."))

    # -- rendering -----------------------------------------------------------------------------

    def render(self) -> None:
        bar = self.transcript.verticalScrollBar()
        at_bottom = bar.value() >= bar.maximum() - 4
        if not self.messages and self._streaming is None:
            self.transcript.setHtml(self._welcome())
            return
        parts = [self._message_html(i, m) for i, m in enumerate(self.messages)]
        self._stream_start = -1
        if self._streaming is not None:
            parts.append("<p><b>LocalKB</b></p>")
        self.transcript.setHtml("".join(parts))
        if self._streaming is not None:
            cursor = QTextCursor(self.transcript.document())
            cursor.movePosition(QTextCursor.MoveOperation.End)
            self._stream_start = cursor.position()
            self._render_stream()
        if at_bottom or self._streaming is not None:
            bar.setValue(bar.maximum())

    def _render_stream(self) -> None:
        """Re-render only the answer being written: re-laying out the whole transcript per token stalls the loop."""
        if self._streaming is None or self._stream_start < 0:
            return
        document = self.transcript.document()
        cursor = QTextCursor(document)
        cursor.setPosition(min(self._stream_start, document.characterCount() - 1))
        cursor.movePosition(QTextCursor.MoveOperation.End, QTextCursor.MoveMode.KeepAnchor)
        thinking = self.tr("Reading your documents and thinking…")
        cursor.insertHtml(render_markdown(self._streaming) if self._streaming else f'<p class="muted">{thinking}</p>')
        bar = self.transcript.verticalScrollBar()
        bar.setValue(bar.maximum())

    def _message_html(self, index: int, message: dict[str, Any]) -> str:
        if message["role"] == "user":
            you = self.tr("You")  # outside the f-string so lupdate finds it
            return (f'<table width="100%" class="you" cellpadding="8"><tr><td><b>{you}</b><br>'
                    f'{html.escape(message["text"])}</td></tr></table>')
        sources = message.get("sources") or []
        numbers = {int(s.get("n", i + 1)) for i, s in enumerate(sources)}
        app_name, sources_title = self.tr("LocalKB"), self.tr("Sources")
        out = [f"<p><b>{app_name}</b></p>",
               link_citations(render_markdown(message["text"]), index, numbers)]
        if message.get("error"):
            out.append(f'<p class="err">{html.escape(message["error"])}</p>')
        if message.get("note"):
            out.append(f'<p class="note"><i>{html.escape(message["note"])}</i></p>')
        if sources:
            out.append(f'<p class="src"><b>{sources_title}</b></p>')
            for i, s in enumerate(sources):
                n = s.get("n", i + 1)
                snippet = " ".join(str(s.get("snippet", "")).split())
                if len(snippet) > 180:
                    snippet = snippet[:177] + "…"
                out.append(f'<p class="src"><a href="cite:{index}:{n}">[{n}] {html.escape(page_label(s))}</a>'
                           f' <span class="muted">— {html.escape(snippet)}</span></p>')
        out.append("<hr>")
        return "".join(out)

    def _welcome(self) -> str:
        return self.tr(
            "<h2>Ask your documents</h2>"
            "<p>LocalKB answers questions from your own files and shows where each answer comes from. "
            "Everything stays on this computer.</p>"
            "<ol><li><b>Add documents</b>: drag files or folders anywhere onto this window, "
            "or <a href=\"action:add\">pick files</a>.</li>"
            "<li><b>Ask</b> a question below, in English or Chinese.</li>"
            "<li><b>Click a citation</b> like [1] to see the page with the passage highlighted.</li></ol>"
            "<p>New here? <a href=\"action:sample\">Try the sample knowledge base</a> — a few short company "
            "documents, indexed in seconds.</p>")

    def _link(self, url: QUrl) -> None:
        if url.scheme() == "action":
            self.action_requested.emit(url.path())
            return
        if url.scheme() != "cite":
            return
        message, _, n = url.path().partition(":")
        try:
            sources = self.messages[int(message)].get("sources") or []
        except (ValueError, IndexError):
            return
        for i, source in enumerate(sources):
            if str(source.get("n", i + 1)) == n:
                self.citation_clicked.emit(source)
                return

    def source_at(self, message: int, n: int) -> dict[str, Any] | None:
        for i, source in enumerate(self.messages[message].get("sources") or []):
            if int(source.get("n", i + 1)) == n:
                return source
        return None
