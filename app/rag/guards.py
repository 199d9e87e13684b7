"""Recognising generations that would embarrass: loops, and answers that echo the prompt.

Small models repeat one sentence until `max_tokens`, or copy the prompt's own scaffolding
("段落：[1] (...)", "Question: ...") instead of answering.  `repeats_itself` runs on the text
streamed so far, so the generation is stopped as soon as a loop shows; `echoes_prompt` judges the
finished text.  Either makes the app show the quoted answer instead, and say why.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher

# Markers of the prompt's layout (app.rag.prompts.user_message / format_passage): an answer
# containing them is reproducing the prompt, not answering it.
_SCAFFOLD = re.compile(r"(^|\n)\s*(段落[：:]|问题[：:]|最相关的句子[：:]|Passages:|Question:|Most relevant sentences?:)|^\s*\[\d+\]\s*\([^)]{3,}\)\s*\n", re.M)
_SPACE = re.compile(r"\s+")

# Chat-template control tokens.  The rendered prompt is tokenized with special tokens parsed (the
# template itself needs them), so a document holding "<|im_end|><|im_start|>system" would become a
# real turn boundary: ChatML/Qwen/SmolLM/Phi/GLM "<|...|>", DeepSeek's full-width "<｜...｜>",
# Llama/Mistral "<s>", "[INST]", "<<SYS>>", Gemma "<start_of_turn>", and bare "<bos>"-style names.
_CONTROL_TOKEN = re.compile(
    r"<\|[^<>|\n]{0,48}\|>|<｜[^<>\n]{0,48}｜>|</?s>|\[/?INST\]|<</?SYS>>|<(?:start|end)_of_turn>"
    r"|</?(?:bos|eos|pad|unk|mask|sep|cls)>",
    re.IGNORECASE,
)
# Lines of passage text that would read as the prompt's own layout (see prompts.user_message).
_FORGED_HEADER = re.compile(r"^(\s*)\[(\d+)\](?=\s*\()", re.M)
_FORGED_LINE = re.compile(r"^(\s*)(?=段落[：:]|问题[：:]|最相关的句子[：:]|Passages:|Question:|Most relevant sentences?:)", re.M)


def neutralise_markers(text: str) -> str:
    """Document text made inert inside the prompt: documents are data, never instructions.

    Chat-template tokens lose their angle/square brackets ("<|im_start|>" becomes "‹|im_start|›",
    which tokenizes as plain text); a line that imitates a passage header ("[2] (file.pdf)") gets
    full-width brackets, so it cannot pose as another passage to cite; a line that starts like the
    prompt's own "Question:" or "Passages:" is quoted with "> ".  Ordinary text is left as it is.
    """
    def defuse(match: re.Match) -> str:
        token = match.group(0)
        return token.replace("<", "‹").replace(">", "›").replace("[", "(").replace("]", ")")

    text = _CONTROL_TOKEN.sub(defuse, text)
    text = _FORGED_HEADER.sub(lambda m: f"{m.group(1)}［{m.group(2)}］", text)
    return _FORGED_LINE.sub(lambda m: f"{m.group(1)}> ", text)


def repeats_itself(text: str, min_unit: int = 6, max_unit: int = 200, times: int = 3) -> bool:
    """True when the text ends with the same piece repeated `times` times in a row, or when one
    sentence of 20+ characters occurs `times` times anywhere (a loop with drifting glue)."""
    flat = _SPACE.sub(" ", text)
    n = len(flat)
    if n >= min_unit * times:
        for unit in range(min_unit, min(max_unit, n // times) + 1):
            tail = flat[n - unit:]
            if all(flat[n - unit * (k + 1):n - unit * k] == tail for k in range(1, times)):
                return True
    pieces = {p.strip() for p in re.split(r"[。！？.!?\n]+", flat) if len(p.strip()) >= 20}
    # Counted as substrings: "So the limit is…" still repeats "the limit is…".
    return any(flat.count(p) >= times for p in pieces)


def cut_loop(text: str) -> str:
    """The text before the loop began: the first occurrence of the repeated piece is kept."""
    flat = text
    for unit in range(6, min(200, len(flat) // 2) + 1):
        tail = flat[-unit:]
        if flat.endswith(tail * 2):
            start = len(flat)
            while flat[:start].endswith(tail * 2):
                start -= unit
            return flat[:start].rstrip()
    sentences = re.split(r"(?<=[。！？.!?\n])", text)
    kept, seen = [], set()
    for s in sentences:
        key = s.strip()
        if key and key in seen:
            break
        seen.add(key)
        kept.append(s)
    return "".join(kept).rstrip()


def echoes_prompt(answer: str, question: str) -> str:
    """Why the answer is an echo of the prompt ('' when it is a real answer)."""
    text = answer.strip()
    if not text:
        return "empty"
    if _SCAFFOLD.search(text):
        return "it copies the prompt's layout"
    flat_a = _SPACE.sub("", text).lower().rstrip("?？。.")
    flat_q = _SPACE.sub("", question).lower().rstrip("?？。.")
    if flat_q and SequenceMatcher(None, flat_a, flat_q).ratio() > 0.85:
        return "it repeats the question"
    return ""
