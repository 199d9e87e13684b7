"""Longest event-loop stall while the real window ingests a folder and answers: `python -m tests.app.gui.stall_bench [FOLDER]`.

Prints one line per phase.  The target is under 100 ms: longer and a person feels the window stick.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("LOCALKB_HOME", tempfile.mkdtemp(prefix="localkb-stall-"))

from PySide6.QtWidgets import QApplication  # noqa: E402

from tests.app.gui.make_screenshots import factory, settle, until, wait_for  # noqa: E402


def main(folder: Path) -> dict:
    from app.gui import build_window
    from app.gui.stall_probe import StallProbe
    from app.settings import Settings

    app = QApplication.instance() or QApplication(["localkb"])
    started = time.perf_counter()
    window = build_window(Settings(), factory)
    window.show()
    settle(50)
    shown = time.perf_counter() - started
    probe = StallProbe(10)
    results = {"window_shown_s": shown}

    probe.start()
    until(lambda: not window.bridge.busy)
    results["startup"] = probe.stop()

    probe.start()
    window.add_paths([str(folder)])
    report = wait_for(window.bridge.ingest_finished, 3_600_000)[0]
    results["ingest"] = probe.stop()
    if report is not None:
        results["ingest_files"] = f"{report.ok} ok, {report.skipped} skipped, {report.failed} failed, " \
                                  f"{report.chunks_added} chunks in {report.seconds:.0f} s"
    until(lambda: not window.bridge.busy)

    window.chat.question.setText("What is the warranty period and how do I export data?")
    probe.start()
    window.chat.ask()
    answer = wait_for(window.bridge.answer_finished, 600_000)
    results["answer"] = probe.stop()
    results["answer_chat"] = type(window.bridge._chat()).__name__
    results["answer_sources"] = len(answer[0].sources) if answer else 0

    # Again, warm: the first run pays for importing torch/llama_cpp and loading models, whose C
    # initialisers hold the GIL; these show what a user sees from then on.
    from app import paths

    probe.start()
    window.bridge.ingest([str(paths.ASSETS_DIR / "sample")], "warm")
    wait_for(window.bridge.ingest_finished, 600_000)
    results["ingest_warm"] = probe.stop()
    until(lambda: not window.bridge.busy)
    window.library.select_kb("warm")
    until(lambda: window.library.selected_kbs() == ["warm"])
    window.chat.question.setText("How much can I spend on a hotel night?")
    probe.start()
    window.bridge.load_model()
    until(lambda: window.bridge._chat().model_state() == "ready" and not window.bridge.busy, 600_000)
    results["model_load"] = probe.stop()
    probe.start()
    window.chat.ask()
    answer = wait_for(window.bridge.answer_finished, 600_000)
    results["answer_warm"] = probe.stop()
    results["answer_warm_sources"] = len(answer[0].sources) if answer else 0
    for key, value in results.items():
        print(f"{key}: {value}", flush=True)
    window.close()
    return results


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "/work/shared/data/docs"))
