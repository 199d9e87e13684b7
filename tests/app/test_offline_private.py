"""The app works with no network and keeps its data private: ingest and answer with every socket
connect refused, in every process the app starts, then check what it left on disk.

The guard is a `sitecustomize` module on PYTHONPATH, so it is loaded by the CLI process and by
every process it spawns (ingest workers, which start fresh interpreters), not only by pytest's.
It refuses and records any connect or name lookup; the test fails if one was even attempted.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

GUARD = r'''
import os, socket

_LOG = os.environ["LOCALKB_TEST_SOCKET_LOG"]


def _record(kind, what):
    with open(_LOG, "a", encoding="utf-8") as fh:
        fh.write(f"{os.getpid()} {kind} {what!r}\n")


_record("loaded", "guard")


def _refuse_connect(self, address, *a, **k):
    if self.family in (socket.AF_INET, socket.AF_INET6):
        _record("connect", address)
        raise OSError(101, "network is unreachable (LocalKB offline test)")
    return _real_connect(self, address, *a, **k)


def _refuse_connect_ex(self, address, *a, **k):
    if self.family in (socket.AF_INET, socket.AF_INET6):
        _record("connect_ex", address)
        return 101
    return _real_connect_ex(self, address, *a, **k)


def _refuse_lookup(host, *a, **k):
    _record("getaddrinfo", host)
    raise socket.gaierror(-3, "name lookups are refused (LocalKB offline test)")


_real_connect, _real_connect_ex = socket.socket.connect, socket.socket.connect_ex
socket.socket.connect, socket.socket.connect_ex = _refuse_connect, _refuse_connect_ex
socket.getaddrinfo = _refuse_lookup
'''

QUESTION = "What is the hotel limit per night in London?"


@pytest.fixture(scope="module")
def offline_run(tmp_path_factory, builtin_models_dir):
    """Ingest the sample and ask one question with the fast built-in model, all under the guard."""
    from app.llm import builtin

    work = tmp_path_factory.mktemp("offline")
    guard_dir = work / "guard"
    guard_dir.mkdir()
    (guard_dir / "sitecustomize.py").write_text(GUARD, encoding="utf-8")
    home = work / "home"
    home.mkdir()
    log = work / "sockets.log"
    env = dict(os.environ)
    for key in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        env.pop(key, None)  # the app must set these itself, not rely on the test's environment
    env.update(LOCALKB_HOME=str(home), LOCALKB_MODELS_DIR=str(builtin_models_dir), LOCALKB_TEST_SOCKET_LOG=str(log),
               PYTHONPATH=os.pathsep.join([str(guard_dir), str(ROOT)]), QT_QPA_PLATFORM="offscreen")
    sample = ROOT / "assets" / "sample"
    model = builtin.ensure(builtin.FAST)
    cli = [sys.executable, "-m", "app"]
    ingest = subprocess.run(cli + ["ingest", str(sample), "--kb", "sample", "--json"], env=env,
                            capture_output=True, text=True, timeout=600)
    ask = subprocess.run(cli + ["ask", QUESTION, "--kb", "sample", "--model", str(model), "--json"], env=env,
                         capture_output=True, text=True, timeout=600)
    return ingest, ask, log, home


def test_ingest_and_answer_never_touch_the_network(offline_run):
    ingest, ask, log, _home = offline_run
    assert ingest.returncode == 0, ingest.stderr[-2000:]
    assert ask.returncode == 0, ask.stderr[-2000:]
    lines = log.read_text(encoding="utf-8").splitlines()
    guarded = {line.split()[0] for line in lines if line.endswith("'guard'")}
    # The CLI processes and at least one spawned ingest worker ran under the guard.
    assert len(guarded) >= 3, lines
    attempts = [line for line in lines if not line.endswith("'guard'")]
    assert attempts == [], f"network use attempted: {attempts}"
    answer = json.loads(ask.stdout)
    assert answer["sources"], answer
    assert "travel_expense_policy" in answer["sources"][0]["path"]


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_everything_the_app_writes_is_private(offline_run):
    _ingest, _ask, _log, home = offline_run
    written = list(home.rglob("*"))
    assert any(p.is_file() for p in written) and any(p.is_dir() for p in written)
    loose = []
    for p in written:
        mode = stat.S_IMODE(p.lstat().st_mode)
        if p.is_symlink():
            continue
        if mode & 0o077:
            loose.append(f"{p.relative_to(home)} {oct(mode)}")
    assert loose == [], f"readable by others: {loose}"
