"""Chat persistence: conversations, messages with sources, export to Markdown, reopening."""

from __future__ import annotations

import pytest

from app.services.chat import Source
from app.services.conversations import ConversationError, ConversationStore


@pytest.fixture
def store(tmp_path):
    s = ConversationStore(tmp_path / "chats.sqlite3")
    yield s
    s.close()


def test_create_list_rename_delete(store):
    a = store.create("First", kbs=["default"])
    b = store.create("Second")
    assert [c.id for c in store.list()] == [b.id, a.id]
    store.rename(a.id, "Renamed")
    assert store.get(a.id).title == "Renamed"
    assert store.get(a.id).kbs == ("default",)
    store.append(a.id, "user", "q")
    assert store.list()[0].id == a.id  # touched conversations move to the top
    store.delete(a.id)
    assert [c.id for c in store.list()] == [b.id]
    with pytest.raises(ConversationError):
        store.rename(a.id, "gone")
    with pytest.raises(ConversationError):
        store.rename(b.id, "   ")


def test_messages_with_sources_survive_reopen(tmp_path):
    path = tmp_path / "chats.sqlite3"
    store = ConversationStore(path)
    conv = store.create("报销")
    src = Source(1, "default", "/docs/差旅.md", 2, ("报销", "住宿"), "每晚不超过 500 元", "全文", 0.9, 10, 20)
    store.append(conv.id, "user", "住宿标准是多少？")
    store.append(conv.id, "assistant", "每晚不超过 500 元 [1]。", sources=[src])
    store.close()

    reopened = ConversationStore(path)
    messages = reopened.messages(conv.id)
    assert [m.role for m in messages] == ["user", "assistant"]
    assert messages[1].sources[0]["path"] == "/docs/差旅.md"
    assert messages[1].sources[0]["heading_path"] == ["报销", "住宿"]
    assert reopened.history(conv.id) == [("住宿标准是多少？", "每晚不超过 500 元 [1]。")]
    reopened.close()


def test_deleting_a_conversation_deletes_its_messages(store):
    conv = store.create("x")
    store.append(conv.id, "user", "hello")
    store.delete(conv.id)
    assert store.messages(conv.id) == []
    with pytest.raises(ConversationError):
        store.append(conv.id, "user", "late")


def test_export_markdown_has_numbered_citations(store):
    conv = store.create("Travel policy", kbs=["default"])
    store.append(conv.id, "user", "How much for a hotel?")
    store.append(conv.id, "assistant", "Up to **150 EUR** a night [1].", sources=[
        {"n": 1, "kb": "default", "path": "/docs/travel.pdf", "page": 3, "heading_path": [],
         "snippet": "Hotels: up to 150 EUR per night", "text": "", "score": 0.8, "start": 0, "end": 5}])
    md = store.export_markdown(conv.id)
    assert md.startswith("# Travel policy\n")
    assert "**Question:** How much for a hotel?" in md
    assert "Up to **150 EUR** a night [1]." in md
    assert '1. travel.pdf, p. 3 [default] — "Hotels: up to 150 EUR per night"' in md
