"""Prompt templates and chat messages, in Chinese and English.

Templates live in assets/prompts/ and can be replaced in settings (answer.prompt_en/prompt_zh;
empty uses the file).  The system prompt never changes between questions and earlier turns keep
their text, so the rendered prompt of the next question starts with the previous one's tokens
and llama.cpp reuses its evaluated state for that prefix; passages and the question come last.
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from app import paths
from app.rag.guards import drop_instructions, neutralise_markers
from ingest.lang import detect_lang

PROMPTS_DIR = paths.ASSETS_DIR / "prompts"

NOT_FOUND = {
    "en": "The documents do not contain the answer.",
    "zh": "文档中没有相关内容。",
}
MODEL_KNOWLEDGE_LABEL = {
    "en": "Not from your documents: answered from the model's general knowledge, which may be wrong.",
    "zh": "并非来自您的文档：以下为模型自身的常识回答，可能有误。",
}
MISSING_TERMS = {
    "en": " The passages found do not mention {terms}.",
    "zh": "找到的段落中没有提到{terms}。",
}
CUT_NOTE = {
    "en": "{n} more passage(s) did not fit the model's context and were left out.",
    "zh": "另有 {n} 个段落超出模型上下文，未提供给模型。",
}


def missing_terms_note(terms, lang: str) -> str:
    """" The passages found do not mention "X" or "Y"." after the not-found line; "" for no terms."""
    if not terms:
        return ""
    if lang == "zh":
        return MISSING_TERMS["zh"].format(terms="、".join(f"“{t}”" for t in terms[:4]))
    quoted = [f'"{t}"' for t in terms[:4]]
    joined = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
    return MISSING_TERMS["en"].format(terms=joined)


def answer_language(question: str) -> str:
    """'zh' for a Chinese question, else 'en' (the prompts exist in these two)."""
    return "zh" if detect_lang(question) == "zh" else "en"


@functools.lru_cache(maxsize=32)
def _read(path: str, mtime: float) -> str:
    return Path(path).read_text(encoding="utf-8").strip()


def asset(name: str) -> str:
    path = PROMPTS_DIR / name
    return _read(str(path), os.path.getmtime(path))


def system_prompt(lang: str, answer_settings=None) -> str:
    custom = ""
    if answer_settings is not None:
        custom = (answer_settings.prompt_zh if lang == "zh" else answer_settings.prompt_en).strip()
    return custom or asset(f"answer_{lang}.txt")


@functools.lru_cache(maxsize=8)
def _examples(path: str, mtime: float) -> tuple[tuple[str, str], ...]:
    items = json.loads(Path(path).read_text(encoding="utf-8"))
    out = []
    for item in items:
        passages = [PromptPassage(i + 1, label, text) for i, (label, text) in enumerate(item["passages"])]
        lang = "zh" if path.endswith("_zh.json") else "en"
        out.append((user_message(item["question"], passages, lang), item["answer"]))
    return tuple(out)


def example_turns(lang: str, answer_settings=None) -> list[tuple[str, str]]:
    """Worked (user, assistant) turns shown before the real question; none with a custom prompt.

    A small model copies a demonstrated format far more reliably than it follows a rule: three
    turns (a "who" question answered by the name alone, a short cited answer, and the not-found
    line) make its answers short spans instead of restated questions.  The "who" turn was added
    after the model kept answering "The Broncos defeated the Pittsburgh Steelers in the
    divisional round" to "Who did the Broncos beat?" (SQuAD questions 300-340: F1 60.4 -> 65.0).
    They are full turns with their own passages, not text inside the system
    prompt, so their facts stay in their own turn instead of leaking into answers; and they never
    change, so llama.cpp reuses their evaluated state and they cost no time after the first
    question.  A custom prompt may set other conventions, so it gets no examples.
    """
    if answer_settings is not None and (answer_settings.prompt_zh if lang == "zh" else answer_settings.prompt_en).strip():
        return []
    path = PROMPTS_DIR / f"examples_{lang}.json"
    if not path.exists():
        return []
    return list(_examples(str(path), os.path.getmtime(path)))


def knowledge_prompt(lang: str) -> str:
    return asset(f"knowledge_{lang}.txt")


@dataclass(frozen=True)
class PromptPassage:
    n: int
    label: str  # "report.pdf, p. 3"
    text: str


def passage_label(path: str, page: int | None, heading_path: Sequence[str] = (), lang: str = "en") -> str:
    name = Path(path).name
    where = ""
    if page is not None:
        where = f", 第 {page} 页" if lang == "zh" else f", p. {page}"
    heading = f" — {' / '.join(heading_path)}" if heading_path else ""
    return f"{name}{where}{heading}"


def format_passage(p: PromptPassage) -> str:
    """A passage fenced by its header: its label on one line, its text unable to forge the layout.

    Both come from the user's files (a file name may hold a newline and "Question: ..."), so both
    are neutralised (guards.neutralise_markers); the model reads them as quoted data.  Instructions
    addressed to the model inside the text are left out (guards.drop_instructions).
    """
    label = neutralise_markers(" ".join(p.label.split()))
    return f"[{p.n}] ({label})\n{neutralise_markers(drop_instructions(p.text.strip()))}"


EVIDENCE = {"en": ("Most relevant sentence:", "Most relevant sentences:"), "zh": ("最相关的句子：", "最相关的句子：")}


def evidence_line(evidence: Sequence[tuple[str, int]], lang: str) -> str:
    """"Most relevant sentence: ... [2]": the quoted answer's sentences, pointed out to the model.

    Retrieval already knows which sentence best answers the question (app.rag.quote); a 1.5B
    model reading five similar passages often takes its fact from the wrong one.  Naming that
    sentence, with its passage number, right before the question raised SQuAD F1 from 45 to 60
    on a tuning slice (questions 300-340, reversed passage order included).  The model still reads
    every passage and may answer from another one.
    """
    if not evidence:
        return ""
    label = EVIDENCE[lang][len(evidence) > 1]
    sep = "" if lang == "zh" else " "
    body = sep.join(f"{neutralise_markers(drop_instructions(' '.join(text.split())))}{sep}[{n}]" for text, n in evidence)
    return f"{label} {body}" if lang == "en" else f"{label}{body}"


def user_message(question: str, passages: Sequence[PromptPassage], lang: str,
                 evidence: Sequence[tuple[str, int]] = ()) -> str:
    """The question's turn: passages in the order given, the evidence line if any, the question last."""
    if lang == "zh":
        head, q = "段落：", "问题："
    else:
        head, q = "Passages:", "Question:"
    body = "\n\n".join(format_passage(p) for p in passages)
    hint = evidence_line(evidence, lang)
    hint = f"\n\n{hint}" if hint else ""
    return f"{head}\n{body}{hint}\n\n{q} {question.strip()}"


def answer_messages(question: str, passages: Sequence[PromptPassage], history: Sequence[tuple[str, str]],
                    lang: str, answer_settings=None, examples: bool = True,
                    evidence: Sequence[tuple[str, int]] = ()) -> list[dict]:
    """System prompt, worked examples, earlier turns, then this question's passages and evidence.

    The passages are rendered in the order given; ChatService gives them best-last, nearest the
    question, where a small model attends most.
    """
    messages = [{"role": "system", "content": system_prompt(lang, answer_settings)}]
    shown = example_turns(lang, answer_settings) if examples else []
    for q, a in [*shown, *history]:
        messages.append({"role": "user", "content": q})
        messages.append({"role": "assistant", "content": a})
    messages.append({"role": "user", "content": user_message(question, passages, lang, evidence)})
    return messages


def knowledge_messages(question: str, history: Sequence[tuple[str, str]], lang: str) -> list[dict]:
    messages = [{"role": "system", "content": knowledge_prompt(lang)}]
    for q, a in history:
        messages.append({"role": "user", "content": q})
        messages.append({"role": "assistant", "content": a})
    messages.append({"role": "user", "content": question.strip()})
    return messages


def condense_messages(question: str, history: Sequence[tuple[str, str]], lang: str) -> list[dict]:
    if lang == "zh":
        lines = [f"用户：{q}\n助手：{a}" for q, a in history]
    else:
        lines = [f"User: {q}\nAssistant: {a}" for q, a in history]
    text = asset(f"condense_{lang}.txt").format(history="\n".join(lines), question=question.strip())
    return [{"role": "user", "content": text}]
