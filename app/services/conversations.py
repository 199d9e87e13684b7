"""Chat persistence: conversations and their messages in one SQLite file.

The GUI keeps every question, answer and the answer's sources here (`paths.chats_db()`), so a
conversation survives a restart and can be exported to Markdown with its citations.  Sources are
stored as JSON dicts (the fields of `app.services.chat.Source`), which keeps this module free of
the answering stack; so is what the chat view needs to show an answer again as it first appeared
(its quoted answer, which sentences the sources do not back), in a `details` JSON object.  The
schema evolves by an append-only list of named migrations.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from app import paths
from app.errors import LocalKBError

MIGRATIONS: list[tuple[str, str]] = [
    (
        "001_initial",
        """
        CREATE TABLE conversations (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            title TEXT NOT NULL,
            kbs TEXT NOT NULL DEFAULT '[]',
            created REAL NOT NULL,
            updated REAL NOT NULL
        );
        CREATE TABLE messages (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
            role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
            text TEXT NOT NULL,
            sources TEXT NOT NULL DEFAULT '[]',
            created REAL NOT NULL
        );
        CREATE INDEX messages_by_conversation ON messages(conversation_id, id);
        """,
    ),
    (
        "002_message_details",
        """
        ALTER TABLE messages ADD COLUMN details TEXT NOT NULL DEFAULT '{}';
        """,
    ),
]


class ConversationError(LocalKBError):
    """A conversation is missing or the chat database cannot be used."""


@dataclass(frozen=True)
class Conversation:
    id: int
    title: str
    kbs: tuple[str, ...]
    created: float
    updated: float


@dataclass(frozen=True)
class Message:
    id: int
    conversation_id: int
    role: str  # 'user' or 'assistant'
    text: str
    sources: list[dict[str, Any]] = field(default_factory=list)
    created: float = 0.0
    # How the answer was shown: 'quote' {text, parts, sources}, 'checks' [{text, status, citations,
    # cited, missing}], 'fallback'.  Free-form so the view can grow without a migration per field.
    details: dict[str, Any] = field(default_factory=dict)


def source_to_dict(source: Any) -> dict[str, Any]:
    """A `Source` dataclass (or a dict already) as JSON-safe data; tuples become lists."""
    data = dataclasses.asdict(source) if dataclasses.is_dataclass(source) else dict(source)
    return json.loads(json.dumps(data, ensure_ascii=False, default=str))


class ConversationStore:
    """Conversations and messages in SQLite; safe to call from any thread (one lock, one connection)."""

    def __init__(self, db_path: Path | None = None) -> None:
        self.path = Path(db_path) if db_path else paths.chats_db()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        try:
            # One connection shared by the GUI thread and workers, serialised by the lock.
            self._db = sqlite3.connect(str(self.path), check_same_thread=False, timeout=10)
            self._db.execute("PRAGMA foreign_keys = ON")
            self._db.execute("PRAGMA journal_mode = WAL")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise ConversationError(f"Cannot open the chat history {self.path}: {exc}. "
                                    "Move the file away to start a fresh history.") from exc

    def _migrate(self) -> None:
        with self._db:
            self._db.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied REAL NOT NULL)")
            done = {row[0] for row in self._db.execute("SELECT name FROM _migrations")}
        for name, sql in MIGRATIONS:
            if name in done:
                continue
            with self._db:  # statement by statement so a failure rolls the whole migration back
                for statement in filter(str.strip, sql.split(";")):
                    self._db.execute(statement)
                self._db.execute("INSERT INTO _migrations VALUES (?, ?)", (name, time.time()))

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- conversations -------------------------------------------------------------------------

    def list(self) -> list[Conversation]:
        """Most recently updated first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, title, kbs, created, updated FROM conversations ORDER BY updated DESC, id DESC").fetchall()
        return [self._conversation(row) for row in rows]

    def get(self, conversation_id: int) -> Conversation:
        with self._lock:
            row = self._db.execute("SELECT id, title, kbs, created, updated FROM conversations WHERE id = ?",
                                   (conversation_id,)).fetchone()
        if row is None:
            raise ConversationError(f"Conversation {conversation_id} no longer exists.")
        return self._conversation(row)

    def create(self, title: str = "New chat", kbs: Iterable[str] = ()) -> Conversation:
        now = time.time()
        with self._lock, self._db:
            cur = self._db.execute("INSERT INTO conversations (title, kbs, created, updated) VALUES (?, ?, ?, ?)",
                                   (title.strip() or "New chat", json.dumps(list(kbs)), now, now))
            new_id = cur.lastrowid
        return self.get(int(new_id))

    def rename(self, conversation_id: int, title: str) -> None:
        title = title.strip()
        if not title:
            raise ConversationError("A conversation needs a name.")
        self._update("UPDATE conversations SET title = ? WHERE id = ?", (title, conversation_id))

    def set_kbs(self, conversation_id: int, kbs: Iterable[str]) -> None:
        self._update("UPDATE conversations SET kbs = ? WHERE id = ?", (json.dumps(list(kbs)), conversation_id))

    def delete(self, conversation_id: int) -> None:
        self._update("DELETE FROM conversations WHERE id = ?", (conversation_id,))

    def _update(self, sql: str, params: tuple) -> None:
        with self._lock, self._db:
            cur = self._db.execute(sql, params)
        if cur.rowcount == 0:
            raise ConversationError(f"Conversation {params[-1]} no longer exists.")

    # -- messages ------------------------------------------------------------------------------

    def append(self, conversation_id: int, role: str, text: str, sources: Iterable[Any] = (),
               details: dict[str, Any] | None = None) -> Message:
        """Add a message; `sources` are `Source` objects or dicts, `details` JSON-safe data, stored as JSON."""
        if role not in ("user", "assistant"):
            raise ValueError(f"role must be 'user' or 'assistant', not {role!r}")
        data = [source_to_dict(s) for s in sources]
        extra = json.loads(json.dumps(details or {}, ensure_ascii=False, default=str))
        now = time.time()
        with self._lock, self._db:
            if self._db.execute("SELECT 1 FROM conversations WHERE id = ?", (conversation_id,)).fetchone() is None:
                raise ConversationError(f"Conversation {conversation_id} no longer exists.")
            cur = self._db.execute(
                "INSERT INTO messages (conversation_id, role, text, sources, created, details) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (conversation_id, role, text, json.dumps(data, ensure_ascii=False), now,
                 json.dumps(extra, ensure_ascii=False)))
            self._db.execute("UPDATE conversations SET updated = ? WHERE id = ?", (now, conversation_id))
        return Message(int(cur.lastrowid), conversation_id, role, text, data, now, extra)

    def messages(self, conversation_id: int) -> list[Message]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, conversation_id, role, text, sources, created, details FROM messages "
                "WHERE conversation_id = ? ORDER BY id", (conversation_id,)).fetchall()
        return [Message(r[0], r[1], r[2], r[3], json.loads(r[4]), r[5], json.loads(r[6] or "{}")) for r in rows]

    def history(self, conversation_id: int) -> list[tuple[str, str]]:
        """Completed (question, answer) pairs, oldest first, as `ChatService.ask` takes them."""
        pairs: list[tuple[str, str]] = []
        question: str | None = None
        for message in self.messages(conversation_id):
            if message.role == "user":
                question = message.text
            elif question is not None:
                pairs.append((question, message.text))
                question = None
        return pairs

    def export_markdown(self, conversation_id: int) -> str:
        """The conversation as Markdown; each answer is followed by its numbered sources."""
        conversation = self.get(conversation_id)
        lines = [f"# {conversation.title}", ""]
        if conversation.kbs:
            lines += [f"Knowledge bases: {', '.join(conversation.kbs)}", ""]
        for message in self.messages(conversation_id):
            if message.role == "user":
                lines += [f"**Question:** {message.text}", ""]
                continue
            quote = (message.details.get("quote") or {}).get("text")
            if quote:
                lines += [f"> From your documents: {quote}", ""]
            lines += [message.text.strip(), ""]
            unsupported = [c.get("text", "") for c in message.details.get("checks") or ()
                           if c.get("status") == "unsupported"]
            if unsupported:
                lines += ["Not found in the sources:", ""] + [f"- {text}" for text in unsupported] + [""]
            if message.sources:
                lines.append("Sources:")
                lines.append("")
                for i, source in enumerate(message.sources, 1):
                    lines.append(f"{source.get('n', i)}. {format_citation(source)}")
                lines.append("")
            lines += ["---", ""]
        return "\n".join(lines).rstrip() + "\n"

    @staticmethod
    def _conversation(row: tuple) -> Conversation:
        return Conversation(row[0], row[1], tuple(json.loads(row[2])), row[3], row[4])


def format_citation(source: dict[str, Any]) -> str:
    """`file, p. N — "snippet"` for one stored source."""
    name = Path(str(source.get("path", ""))).name or str(source.get("path", "?"))
    where = f", p. {source['page']}" if source.get("page") else ""
    heading = source.get("heading_path") or ()
    if heading:
        where += f", {' › '.join(heading)}"
    snippet = " ".join(str(source.get("snippet", "")).split())
    if len(snippet) > 160:
        snippet = snippet[:157] + "..."
    kb = f" [{source['kb']}]" if source.get("kb") else ""
    return f"{name}{where}{kb}" + (f' — "{snippet}"' if snippet else "")
