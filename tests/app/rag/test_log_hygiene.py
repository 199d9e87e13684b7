"""Logs never hold document text beyond short snippets, nor the user's questions unless debugging.

The app's log files (the GUI's and the engine's) take every logger's records at INFO and above;
this test collects exactly that while a document is ingested and a question answered with the
fast built-in model, and looks for the question and the document's text in it.
"""

from __future__ import annotations

import logging

import pytest

QUESTION_MARK = "zeppelin QXJ-7731"
DOCUMENT = ("The zeppelin QXJ-7731 is painted ultramarine and is kept in hangar nine behind the bakery. "
            "Maintenance crews inspect its envelope every second Thursday, following checklist form "
            "HV-22, and record leaks in the blue ledger kept by the duty officer. ") * 4


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def _longest_shared_run(text: str, document: str) -> int:
    """Length of the longest run of words of `document` that appears in `text`."""
    words = document.split()
    best = 0
    for i in range(len(words)):
        for j in range(i + best + 1, min(len(words), i + 60) + 1):
            if " ".join(words[i:j]) in text:
                best = j - i
            else:
                break
    return best


def _collected(work) -> str:
    root = logging.getLogger()
    handler = _Collect()
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)  # what app/gui/failures.py and the engine set for their log files
    try:
        work()
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    assert handler.lines, "nothing was logged at all: the test would prove nothing"
    return "\n".join(handler.lines)


def _assert_clean(log_text: str) -> None:
    assert QUESTION_MARK not in log_text and "What colour" not in log_text
    assert _longest_shared_run(log_text, DOCUMENT) < 8  # no more than a short snippet of the document


def test_ingest_search_and_quoted_answer_log_neither_the_question_nor_the_document(library, fast_settings, tmp_path):
    from app.services.chat import ChatService

    def work() -> None:
        (tmp_path / "hangar.txt").write_text(DOCUMENT)
        logging.getLogger("ingest.pipeline").info("a record, so an empty log cannot pass")
        assert library.ingest([tmp_path], "t").ok == 1
        chat = ChatService(fast_settings, library)
        result = chat.retrieve(f"What colour is the {QUESTION_MARK}?", ["t"])
        assert chat.quote(f"What colour is the {QUESTION_MARK}?", result) is not None

    _assert_clean(_collected(work))


@pytest.mark.slow
def test_a_full_answer_with_the_fast_model_logs_neither(library, fast_settings, tmp_path):
    from app.services.chat import ChatService

    fast_settings.model.max_tokens = 48

    def work() -> None:
        (tmp_path / "hangar.txt").write_text(DOCUMENT)
        assert library.ingest([tmp_path], "t").ok == 1
        answer = ChatService(fast_settings, library).ask(f"What colour is the {QUESTION_MARK}?", ["t"])
        assert answer.sources  # the question really went through retrieval and the model

    _assert_clean(_collected(work))
