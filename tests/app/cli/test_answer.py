"""`localkb search` and `localkb ask` through the CLI entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import run


@pytest.fixture
def hr_kb(tmp_path: Path, library, monkeypatch, embedder):
    from app.services import library as library_module

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "leave.txt").write_text("Employees receive twenty-five days of paid annual leave each year.", encoding="utf-8")
    (docs / "vpn.txt").write_text("Always connect to the company VPN before opening the payroll system.", encoding="utf-8")
    library.ingest([docs], kb="hr")
    real_init = library_module.LibraryService.__init__
    monkeypatch.setattr(library_module.LibraryService, "__init__",
                        lambda self, settings, **_kw: real_init(self, settings, embedder=embedder))
    return docs


def test_search_json_lists_ranked_passages(hr_kb: Path, capsys):
    assert run(["search", "How many days of annual leave?", "--kb", "hr", "--top-k", "2", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    first = doc["results"][0]
    assert first["path"].endswith("leave.txt") and first["kb"] == "hr"
    assert {"text", "page", "score", "heading_path", "start", "end", "snippet"} <= set(first)


def test_search_plain_text(hr_kb: Path, capsys):
    assert run(["search", "company VPN payroll", "--kb", "hr"]) == 0
    out = capsys.readouterr().out
    assert "vpn.txt" in out.splitlines()[0]


def test_search_unknown_kb_fails_with_one_line(capsys):
    assert run(["search", "anything", "--kb", "nope"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("localkb: No knowledge base named 'nope'") and "\n" not in err


def test_ask_json_gives_answer_and_sources(hr_kb: Path, capsys, monkeypatch):
    from app.settings import Settings

    monkeypatch.setattr(Settings, "load", classmethod(lambda cls, path=None: cls(model={"max_tokens": 32, "n_ctx": 2048, "builtin": "smollm2-135m"})))
    assert run(["ask", "How many days of annual leave do employees receive?", "--kb", "hr", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["text"] and not doc["not_found"]
    assert any(s["path"].endswith("leave.txt") for s in doc["sources"])


def test_ask_not_found_in_plain_text(hr_kb: Path, capsys):
    assert run(["ask", "Who won the 1954 football world cup?", "--kb", "hr"]) == 0
    assert "The documents do not contain the answer." in capsys.readouterr().out


def test_ask_with_missing_model_file_fails_with_one_line(hr_kb: Path, capsys, tmp_path: Path):
    assert run(["ask", "How many days of annual leave?", "--kb", "hr", "--model", str(tmp_path / "x.gguf")]) == 2
    assert "Model file not found" in capsys.readouterr().err


def test_ask_prints_the_quote_before_the_models_answer_and_json_carries_the_checks(hr_kb: Path, capsys, monkeypatch):
    from app.settings import Settings

    monkeypatch.setattr(Settings, "load", classmethod(
        lambda cls, path=None: cls(model={"max_tokens": 32, "n_ctx": 2048, "builtin": "smollm2-135m"})))
    assert run(["ask", "How many days of annual leave do employees receive?", "--kb", "hr"]) == 0
    out = capsys.readouterr().out
    quote_at = out.index("From your documents (quoted):")
    assert "twenty-five days of paid annual leave" in out[quote_at:out.index("Answer:")]
    assert quote_at < out.index("Answer:") < out.index("Sources:")
    assert run(["ask", "How many days of annual leave do employees receive?", "--kb", "hr", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert "twenty-five" in doc["quote"]["text"] and doc["quote"]["sources"][0]["path"].endswith("leave.txt")
    assert doc["sentences"] and {"text", "status", "citations", "cited", "missing"} <= set(doc["sentences"][0])
    assert doc["model_name"].endswith(".gguf")
