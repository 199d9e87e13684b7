"""The centre: a conversation whose answers stream in as Markdown with numbered, clickable citations.

Questions go to `ServiceBridge.ask`.  Right after retrieval the quoted answer (sentences of the
passages, word for word) is shown in a tinted block, so the user sees evidence before the model
has read its prompt; a progress line follows the model through the prompt, then its tokens stream
in below the quote, re-rendered at most every 50 ms so a fast model cannot swamp the event loop.
The finished answer shows its checked citations: sentences no source backs are marked, and an
answer that looped or echoed the prompt is replaced by the quote with a note saying so.
Conversations are kept in the `ConversationStore` (SQLite); answers are stored with their sources,
quote and sentence checks, so they look the same after a restart and in the Markdown export.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any, Callable

import markdown
from PySide6.QtCore import QTimer, QUrl, Signal
from PySide6.QtGui import QTextBlockFormat, QTextCharFormat, QTextCursor
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
.quote-head { color: #2f5d34; }
.label { color: #555; font-size: 9pt; }
.unsupported { color: #8f2d00; background-color: #fdeee3; }
.unsupported-tag { color: #ffffff; background-color: #b4541a; font-size: 8pt; }
.progress { color: #555; }
"""

_CITE = re.compile(r"\[(\d{1,3})\]")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
QUOTE_BACKGROUND, QUOTE_BAR = "#eef5ec", "#6a9f62"

# Sentence statuses of app.rag.citations.CheckedSentence, as stored (strings keep the GUI off app.rag).
UNSUPPORTED, CORRECTED, ADDED = "unsupported", "corrected", "added"
# Private-use characters survive Markdown untouched: they mark where a checked sentence starts and ends.
_OPEN, _SEP, _CLOSE = "\ue000", "\ue001", "\ue002"
_MARK = re.compile(f"([{_OPEN}{_CLOSE}])(\\d+){_SEP}")
_END_PUNCT = re.compile(r"[。！？；.!?:：]+$")
_AFTER_SENTENCE = re.compile(r"(?:\s?[\[【]\d+(?:\s*[,，、]\s*\d+)*[\]】])*[”’」』）)\"]*[。！？；.!?:：]*")
_LEAD = re.compile(r"(?:[-*+]|\d+[.)]|#{1,6}|>)\s+")


def render_markdown(text: str) -> str:
    """Markdown (lists, tables, fenced code) as the HTML subset QTextBrowser understands."""
    return markdown.markdown(text, extensions=["tables", "fenced_code", "sane_lists"], output_format="html")


_STRONG = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*|__(?=\S)(.+?)(?<=\S)__")
_EMPHASIS = re.compile(r"(?<![\w*])\*(?=[^\s*])(.+?)(?<=[^\s*])\*(?![\w*])")
_CODE = re.compile(r"`([^`]+)`")
_LINE_LEAD = re.compile(r"(?m)^\s*(?:#{1,6}\s+|[-*+]\s+|>\s*)")


def inline_markdown(text: str, markup: bool = True) -> str:
    """One line of a passage's Markdown as HTML: bold, italics and code kept (or, without `markup`, dropped).

    Quotes and snippets are cut from the middle of a document, so block syntax (lists, headings)
    would mislead the Markdown renderer; only the inline marks are read.
    """
    text = html.escape(" ".join(_LINE_LEAD.sub("", text).split()), quote=False)
    bold, italic, code = (("<b>", "</b>"), ("<i>", "</i>"), ("<code>", "</code>")) if markup else (("", ""),) * 3
    text = _CODE.sub(lambda m: f"{code[0]}{m.group(1)}{code[1]}", text)
    text = _STRONG.sub(lambda m: f"{bold[0]}{m.group(1) or m.group(2)}{bold[1]}", text)
    return _EMPHASIS.sub(lambda m: f"{italic[0]}{m.group(1)}{italic[1]}", text)


def link_citations(body: str, message: int, numbers: set[int]) -> str:
    """Turn `[n]` markers that match a source into links, outside <pre>/<code> blocks."""
    parts = re.split(r"(<pre>.*?</pre>|<code>.*?</code>)", body, flags=re.S)
    for i in range(0, len(parts), 2):
        parts[i] = _CITE.sub(lambda m: f'<a href="cite:{message}:{m.group(1)}">[{m.group(1)}]</a>'
                             if int(m.group(1)) in numbers else m.group(0), parts[i])
    return "".join(parts)


def quote_to_dict(quote: Any) -> dict[str, Any] | None:
    """A `QuotedAnswer` as JSON-safe data: text, parts and one source per part."""
    if quote is None:
        return None
    if isinstance(quote, dict):
        return quote
    return {"text": quote.text, "parts": list(quote.parts), "sources": [source_to_dict(s) for s in quote.sources],
            "score": float(getattr(quote, "score", 0.0))}


def check_to_dict(sentence: Any) -> dict[str, Any]:
    """A `CheckedSentence` as JSON-safe data (its offsets point into the model's text, so they are left out)."""
    if isinstance(sentence, dict):
        return sentence
    return {"text": sentence.text, "status": sentence.status, "cited": list(sentence.cited),
            "citations": list(sentence.citations), "missing": list(sentence.missing)}


def mark_sentences(text: str, checks: list[dict[str, Any]], marked: set[str]) -> str:
    """`text` with the checked sentences whose status is in `marked` wrapped in private-use markers.

    The sentences are found in order in the final text (their citations were rewritten, so their
    offsets into the model's text do not apply); list and heading markers stay outside the marks
    so the Markdown still parses, and the sentence's citations and closing punctuation go inside.
    """
    out, pos = [], 0
    for k, check in enumerate(checks):
        core = str(check.get("text", "")).strip()
        end_punct = _END_PUNCT.search(core)
        core = core[:end_punct.start()] if end_punct else core
        lead = _LEAD.match(core)
        core = core[lead.end():] if lead else core
        if not core.strip():
            continue
        at = text.find(core, pos)
        if at < 0:
            continue
        end = _AFTER_SENTENCE.match(text, at + len(core)).end()
        if check.get("status") in marked and "|" not in core and not re.fullmatch(r"[\d\s.)]+", core):
            out += [text[pos:at], f"{_OPEN}{k}{_SEP}", text[at:end], f"{_CLOSE}{k}{_SEP}"]
        else:
            out.append(text[pos:end])
        pos = end
    out.append(text[pos:])
    return "".join(out)


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
        # role, text, sources, note; answers also: error, quote, checks, fallback (see _close_answer)
        self.messages: list[dict[str, Any]] = []
        self._streaming: str | None = None  # the answer being written, while a question runs
        self._stopped = False
        self._quote: dict[str, Any] | None = None  # the running answer's quote, once retrieval has found it
        self._progress: tuple[int, int] | None = None  # prompt tokens read, of how many
        self._model_loading = False
        self._render_timer = QTimer(self, singleShot=True, interval=50)
        self._render_timer.timeout.connect(self._render_stream)
        self._stream_start = -1  # where the streaming answer begins in the transcript document
        self._live_start = -1  # where the running answer's quote begins (the streaming part follows it)

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

        bridge.answer_quote.connect(self._quoted)
        bridge.answer_progress.connect(self._prompt_progress)
        bridge.model_state_changed.connect(self._model_state)
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
        self.messages = [self._stored_message(m) for m in self.store.messages(conversation_id)]
        self.render()

    @staticmethod
    def _stored_message(m: Any) -> dict[str, Any]:
        details = getattr(m, "details", None) or {}
        text, note = m.text, str(details.get("note") or "")
        suffix = f"\n\n*{note}*"
        if note and text.endswith(suffix):
            text = text[:-len(suffix)]  # shown as a note again, not as part of the answer
        else:
            note = ""
        return {"role": m.role, "text": text, "sources": m.sources, "note": note, "quote": details.get("quote"),
                "checks": details.get("checks") or [], "fallback": details.get("fallback", "")}

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
        self._quote, self._progress, self._model_loading = None, None, False
        self._set_busy(True)
        # The engine starts before the window lays anything out: the quote is often found sooner
        # than a long transcript is re-rendered.
        self.bridge.ask(text, kbs, history)
        self._append_question()

    def stop(self) -> None:
        if not self.busy:
            return
        self._stopped = True
        self.bridge.stop_answer()
        # The worker stops within a token; the window does not wait for it.
        self._close_answer(self._streaming or "", [], self.tr("Stopped."), {"quote": self._quote})

    def _quoted(self, quote: Any) -> None:
        if self._streaming is None or self._stopped:
            return
        self._quote = quote_to_dict(quote)
        # Only the running answer is re-rendered: a full render of a long conversation took
        # 100-350 ms on 2 cores, most of the window's time to the quote.
        self._render_live()

    def _prompt_progress(self, done: int, total: int) -> None:
        if self._streaming is None or self._stopped:
            return
        self._progress, self._model_loading = (done, total), False
        self._schedule_stream()

    def _model_state(self, state: str) -> None:
        if self._streaming is None or self._stopped:
            return
        self._model_loading = state == "loading"
        self._schedule_stream()

    def _token(self, token: str) -> None:
        if self._streaming is None or self._stopped:
            return
        self._streaming += token
        self._schedule_stream()

    def _schedule_stream(self) -> None:
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
        # The quote streamed early (a follow-up's, found before the rewrite) gives way to the
        # answer's own, and to none when the answer found nothing.
        quote = quote_to_dict(getattr(answer, "quote", None)) or (None if getattr(answer, "not_found", False) else self._quote)
        sources = [source_to_dict(s) for s in answer.sources]
        # A quoted sentence may come from a passage that was left out of the prompt: list it too,
        # so every number the user sees has a line under Sources.
        listed = {int(s.get("n", 0)) for s in sources}
        for source in (quote or {}).get("sources") or []:
            if int(source.get("n", 0)) not in listed:
                listed.add(int(source.get("n", 0)))
                sources.append(source)
        details = {"quote": quote, "checks": [check_to_dict(c) for c in getattr(answer, "sentences", None) or []],
                   "fallback": getattr(answer, "fallback", "") or ""}
        self._close_answer(answer.text, sources, " ".join(notes), details)

    def _failed(self, message: str) -> None:
        if self._stopped or self._streaming is None:
            return
        if not message:  # cancelled
            self._close_answer(self._streaming, [], self.tr("Stopped."))
            return
        partial = self._streaming
        self._streaming = None
        self._set_busy(False)
        self.messages.append({"role": "assistant", "text": partial, "sources": [], "note": "", "error": message,
                              "quote": self._quote})
        self.render()

    def _close_answer(self, text: str, sources: list[dict[str, Any]], note: str,
                      details: dict[str, Any] | None = None) -> None:
        self._streaming = None
        self._set_busy(False)
        details = {key: value for key, value in (details or {}).items() if value}
        if note:
            details["note"] = note  # so a reopened conversation shows it as a note again
        stored = text + (f"\n\n*{note}*" if note else "")  # the note stays in the text for history and export
        if self.conversation_id is not None and (stored.strip() or sources or details.get("quote")):
            self.store.append(self.conversation_id, "assistant", stored, sources, details)
        self.messages.append({"role": "assistant", "text": text, "sources": sources, "note": note,
                              "quote": details.get("quote"), "checks": details.get("checks") or [],
                              "fallback": details.get("fallback", "")})
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
        self._stream_start = self._live_start = -1
        if self._streaming is not None:
            parts.append(self._answer_head())
        self.transcript.setHtml("".join(parts))
        if self._streaming is not None:
            self._open_live()
        if at_bottom or self._streaming is not None:
            bar.setValue(bar.maximum())

    def _answer_head(self) -> str:
        app_name = self.tr("LocalKB")
        return f"<p><b>{app_name}</b></p>"

    def _append_question(self) -> None:
        """Add the question just asked and the running answer's heading below the transcript."""
        if len(self.messages) <= 1 or self._live_start >= 0:
            self.render()  # the first question replaces the welcome page
            return
        cursor = QTextCursor(self.transcript.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.insertBlock(QTextBlockFormat(), QTextCharFormat())
        cursor.insertHtml(self._message_html(len(self.messages) - 1, self.messages[-1]) + self._answer_head())
        self._open_live()

    def _open_live(self) -> None:
        cursor = QTextCursor(self.transcript.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        # A block of its own: HTML inserted at the end of the last block would join that paragraph.
        cursor.insertBlock(QTextBlockFormat(), QTextCharFormat())
        self._live_start = cursor.position()
        self._render_live()

    def _render_live(self) -> None:
        """Re-render the running answer: its quote, once found, then the part that streams."""
        if self._streaming is None or self._live_start < 0:
            self.render()
            return
        document = self.transcript.document()
        cursor = QTextCursor(document)
        cursor.setPosition(min(self._live_start, document.characterCount() - 1))
        cursor.movePosition(QTextCursor.MoveOperation.End, QTextCursor.MoveMode.KeepAnchor)
        cursor.removeSelectedText()
        if self._quote:
            cursor.insertHtml(self._quote_html("live", self._quote) + self._answer_label())
            cursor.insertBlock(QTextBlockFormat(), QTextCharFormat())
        self._stream_start = cursor.position()
        self._render_stream()

    def _render_stream(self) -> None:
        """Re-render only the answer being written: re-laying out the whole transcript per token stalls the loop."""
        if self._streaming is None or self._stream_start < 0:
            return
        document = self.transcript.document()
        cursor = QTextCursor(document)
        cursor.setPosition(min(self._stream_start, document.characterCount() - 1))
        cursor.movePosition(QTextCursor.MoveOperation.End, QTextCursor.MoveMode.KeepAnchor)
        cursor.insertHtml(render_markdown(self._streaming) if self._streaming
                          else f'<p class="progress"><i>{html.escape(self._status_text())}</i></p>')
        bar = self.transcript.verticalScrollBar()
        bar.setValue(bar.maximum())

    def _status_text(self) -> str:
        """What the answer is waiting on before its first token."""
        if self._model_loading:
            return self.tr("Loading the model…")
        if self._progress is not None:
            done, total = self._progress
            if total and done < total:
                return (self.tr("Reading %1 tokens of passages… %2%").replace("%1", str(total))
                        .replace("%2", str(min(99, done * 100 // total))))
            return self.tr("Writing the answer…")
        if self._quote is not None:
            return self.tr("Preparing the answer…")
        return self.tr("Searching your documents…")

    def _answer_label(self) -> str:
        label = self.tr("Answer written by the model, citations checked against the passages:")
        return f'<p class="label">{label}</p>'

    def _quote_html(self, key: int | str, quote: dict[str, Any]) -> str:
        """The quoted answer in a tinted block; each sentence's [n] opens the source at that sentence."""
        parts, sources = quote.get("parts") or [], quote.get("sources") or []
        gap = "" if any(_CJK.search(part) for part in parts) else " "  # Chinese runs on without spaces
        joined = gap.join(f'{inline_markdown(part)}{gap}<a href="quote:{key}:{i}">[{source.get("n", i + 1)}]</a>'
                          for i, (part, source) in enumerate(zip(parts, sources)))
        head = self.tr("From your documents")
        hint = self.tr("quoted word for word; click a number to see the sentence in its source")
        return (f'<table width="100%" cellspacing="0" cellpadding="0" style="margin-top: 2px; margin-bottom: 6px;">'
                f'<tr><td width="4" bgcolor="{QUOTE_BAR}"></td>'
                f'<td bgcolor="{QUOTE_BACKGROUND}" style="padding: 8px;">'
                f'<p class="quote-head"><b>{head}</b> <span class="muted">· {hint}</span></p>'
                f'<p>{joined}</p></td></tr></table>')

    def _answer_body(self, index: int, message: dict[str, Any]) -> str:
        """The answer's Markdown with linked citations, and sentences no source backs marked."""
        sources = message.get("sources") or []
        numbers = {int(s.get("n", i + 1)) for i, s in enumerate(sources)}
        fallback = message.get("fallback") or ""
        if fallback and message.get("quote"):
            # The answer's text is the quote above; repeating it would only add length.
            note = (self.tr("The model’s answer kept repeating itself, so the quote from your documents is "
                            "shown instead.") if fallback == "loop" else
                    self.tr("The model’s answer only repeated the question or the passages, so the quote from "
                            "your documents is shown instead."))
            return f'<p class="note"><i>{html.escape(note)}</i></p>'
        checks = message.get("checks") or []
        marked = {UNSUPPORTED, CORRECTED, ADDED}
        body = render_markdown(mark_sentences(message["text"], checks, marked) if checks else message["text"])
        body = link_citations(body, index, numbers)
        unsupported = False
        tag = self.tr("not found in the sources")

        def mark(m: re.Match) -> str:
            nonlocal unsupported
            check = checks[int(m.group(2))]
            status = check.get("status")
            if m.group(1) == _CLOSE:
                # Only an unsupported sentence gets a visible tag; the others carry just a tooltip.
                return (f'</span>&nbsp;<span class="unsupported-tag">&nbsp;{html.escape(tag)}&nbsp;</span>'
                        if status == UNSUPPORTED else "</span>")
            if status == UNSUPPORTED:
                unsupported = True
                missing = ", ".join(str(w) for w in check.get("missing") or [])
                tip = self.tr("No passage the model was given says this; check it before relying on it.")
                if missing:
                    tip += " " + self.tr("Not in the sources: %1").replace("%1", missing)
                return f'<span class="unsupported" title="{html.escape(tip)}">'
            cited = "".join(f"[{n}]" for n in check.get("cited") or [])
            now = "".join(f"[{n}]" for n in check.get("citations") or [])
            tip = (self.tr("Citation corrected: the model cited %1, the passage that says this is %2.")
                   .replace("%1", cited).replace("%2", now) if status == CORRECTED else
                   self.tr("Citation added: the model cited nothing, the passage that says this is %1.")
                   .replace("%1", now))
            return f'<span title="{html.escape(tip)}">'

        body = _MARK.sub(mark, body)
        if unsupported:
            legend = self.tr("Sentences marked “not found in the sources” are not backed by any passage the "
                             "model was given: they may be wrong.")
            body += f'<p class="label">{html.escape(legend)}</p>'
        return body

    def _message_html(self, index: int, message: dict[str, Any]) -> str:
        if message["role"] == "user":
            you = self.tr("You")  # outside the f-string so lupdate finds it
            return (f'<table width="100%" class="you" cellpadding="8"><tr><td><b>{you}</b><br>'
                    f'{html.escape(message["text"])}</td></tr></table>')
        sources = message.get("sources") or []
        app_name, sources_title = self.tr("LocalKB"), self.tr("Sources")
        out = [f"<p><b>{app_name}</b></p>"]
        if message.get("quote"):
            out.append(self._quote_html(index, message["quote"]))
            if message.get("text", "").strip() and not message.get("fallback"):
                out.append(self._answer_label())
        out.append(self._answer_body(index, message))
        if message.get("error"):
            out.append(f'<p class="err">{html.escape(message["error"])}</p>')
        if message.get("note"):
            out.append(f'<p class="note"><i>{html.escape(message["note"])}</i></p>')
        if sources:
            out.append(f'<p class="src"><b>{sources_title}</b></p>')
            for i, s in enumerate(sources):
                n = s.get("n", i + 1)
                snippet = html.unescape(inline_markdown(str(s.get("snippet", "")), markup=False))
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
        if url.scheme() == "quote":
            self._quote_link(url.path())
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

    def _quote_link(self, path: str) -> None:
        key, _, part = path.partition(":")
        try:
            quote = self._quote if key == "live" else self.messages[int(key)].get("quote")
            source = (quote or {}).get("sources", [])[int(part)]
        except (ValueError, IndexError):
            return
        self.citation_clicked.emit(source)

    def source_at(self, message: int, n: int) -> dict[str, Any] | None:
        for i, source in enumerate(self.messages[message].get("sources") or []):
            if int(source.get("n", i + 1)) == n:
                return source
        return None
