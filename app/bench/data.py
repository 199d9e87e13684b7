"""Benchmark data: SQuAD (v1.1 and v2.0) and BEIR files as documents and questions, and a throw-away home.

SQuAD-format files (CMRC 2018 uses the same layout) become one plain-text document per paragraph,
ingested by the real pipeline; v2.0's `is_impossible` questions are kept, with no answers, so the
QA benchmark can score them by whether the app says the documents lack the answer.
"""

from __future__ import annotations

import collections
import hashlib
import json
import os
import re
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from app.errors import LocalKBError

# -- data sets ---------------------------------------------------------------------------------


@dataclass
class Question:
    id: str
    text: str
    gold: dict[str, float]  # document key -> graded relevance
    answers: list[str] = field(default_factory=list)
    impossible: bool = False  # SQuAD v2.0: the paragraph does not answer it


@dataclass
class Dataset:
    documents: dict[str, str]  # document key -> text
    questions: list[Question]


def load_squad(path: str | Path, limit: int | None = None) -> Dataset:
    """Each paragraph is a document.  With `limit`, the first N questions and the paragraphs of
    every article they touch (the article's other paragraphs stay in as distractors)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))["data"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise LocalKBError(f"Not a SQuAD-format file: {path} ({exc})") from exc
    questions: list[Question] = []
    articles_used: set[int] = set()
    for ai, article in enumerate(data):
        for pi, para in enumerate(article.get("paragraphs", [])):
            for qa in para.get("qas", []):
                if limit is not None and len(questions) >= limit:
                    break
                answers = [a["text"] for a in qa.get("answers", [])]
                questions.append(Question(str(qa.get("id", len(questions))), qa["question"], {f"a{ai:04d}_p{pi:04d}": 1.0},
                                          answers, impossible=bool(qa.get("is_impossible", False))))
                articles_used.add(ai)
    docs = {}
    for ai, article in enumerate(data):
        if limit is not None and ai not in articles_used:
            continue
        for pi, para in enumerate(article.get("paragraphs", [])):
            docs[f"a{ai:04d}_p{pi:04d}"] = para["context"]
    return Dataset(docs, questions)


def _read_jsonl(path: Path) -> Iterator[dict]:
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def load_beir(folder: str | Path, limit: int | None = None, split: str = "test") -> Dataset:
    """BEIR layout: corpus.jsonl, queries.jsonl, qrels/<split>.tsv (query-id, corpus-id, score)."""
    folder = Path(folder)
    qrels_path = folder / "qrels" / f"{split}.tsv"
    for p in (folder / "corpus.jsonl", folder / "queries.jsonl", qrels_path):
        if not p.exists():
            raise LocalKBError(f"Not a BEIR-format folder: {p} is missing.")
    qrels: dict[str, dict[str, float]] = collections.defaultdict(dict)
    for line in qrels_path.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) < 3 or parts[0] == "query-id":
            continue
        try:
            grade = float(parts[2])
        except ValueError:
            continue
        if grade > 0:
            qrels[parts[0]][parts[1]] = grade
    docs = {}
    for row in _read_jsonl(folder / "corpus.jsonl"):
        title, text = row.get("title") or "", row.get("text") or ""
        docs[str(row["_id"])] = f"{title}\n\n{text}".strip() if title else text
    questions = []
    for row in _read_jsonl(folder / "queries.jsonl"):
        qid = str(row["_id"])
        if qid in qrels:
            questions.append(Question(qid, row["text"], {d: g for d, g in qrels[qid].items() if d in docs}))
    questions = [q for q in questions if q.gold]
    if limit is not None:
        questions = questions[:limit]
    return Dataset(docs, questions)


def _file_name(key: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", key)[:80]
    if safe != key:
        safe += "-" + hashlib.sha1(key.encode()).hexdigest()[:8]
    return safe + ".txt"


# -- temporary home ----------------------------------------------------------------------------


@contextmanager
def temporary_home(keep: str | None = None) -> Iterator[Path]:
    """Point LOCALKB_HOME at a fresh folder for the benchmark, restoring it afterwards.

    Yields a work folder whose `home` subfolder is LOCALKB_HOME; documents go beside it, never
    inside it (the app refuses to ingest its own data folder)."""
    old = os.environ.get("LOCALKB_HOME")
    with tempfile.TemporaryDirectory(prefix="localkb-bench-") as tmp:
        work = Path(keep) if keep else Path(tmp)
        home = work / "home"
        home.mkdir(parents=True, exist_ok=True)
        os.environ["LOCALKB_HOME"] = str(home)
        try:
            yield work
        finally:
            if old is None:
                os.environ.pop("LOCALKB_HOME", None)
            else:
                os.environ["LOCALKB_HOME"] = old


def services(settings=None, embedder=None):
    from app.services.chat import ChatService
    from app.services.library import LibraryService
    from app.settings import Settings

    settings = settings or Settings()
    library = LibraryService(settings, embedder=embedder)
    return settings, library, ChatService(settings, library)


def write_documents(dataset: Dataset, folder: Path) -> dict[str, str]:
    """Write each document as a .txt file; returns path -> document key."""
    folder.mkdir(parents=True, exist_ok=True)
    by_path = {}
    for key, text in dataset.documents.items():
        p = folder / _file_name(key)
        p.write_text(text, encoding="utf-8")
        by_path[str(p.resolve())] = key
    return by_path


