"""`localkb --self-test` really ingests the sample, answers with the default model and cites it."""

import io

from app.cli import run
from app.selftest import run_self_test


def test_self_test_passes_and_reports_a_cited_answer(localkb_home):
    out = io.StringIO()
    assert run_self_test(out) == 0
    text = out.getvalue()
    assert "self-test: OK" in text and "travel_expense_policy.md" in text
    assert "self-test: embedder: all-MiniLM-L6-v2 (openvino, " in text  # the default runtime, not a fallback
    # It works in a throw-away home: the user's own data is never touched.
    assert not (localkb_home / "kbs").exists()


def test_self_test_flag_is_wired(monkeypatch):
    called = []
    monkeypatch.setattr("app.selftest.run_self_test", lambda: called.append(1) or 0)
    assert run(["--self-test"]) == 0 and called
