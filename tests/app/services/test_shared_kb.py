"""A knowledge base shared through a real `chroma run` server behind the token gate.

One writer service ingests and follows a folder; a second service, with its own local copy of
the catalogue, reads.  The server is a real `chroma run --path <tmp> --host 127.0.0.1`, started
here; the gate runs on a thread of the test process so it starts in milliseconds.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import httpx
import pytest

from app.services.chat import ChatService
from app.services.library import LibraryService
from app.settings import Settings
from ingest.store import StoreUnavailable

TOKEN = "team-token-for-tests"


class Server:
    """`chroma run` on a private port plus the token gate on a public one; Chroma can be stopped and restarted."""

    def __init__(self, data: Path) -> None:
        from app.chroma_gate import free_port

        self.data = data
        self.inner = free_port()
        self.port = free_port()
        self.proc = None
        self.start_chroma()
        self._start_gate()

    def start_chroma(self) -> None:
        from app.chroma_gate import start_chroma

        self.proc = start_chroma(self.data, self.inner, log_file=self.data.parent / "chroma.log")

    def stop_chroma(self) -> None:
        self.proc.terminate()
        self.proc.wait(20)

    def _start_gate(self) -> None:
        import uvicorn

        from app.chroma_gate import TokenGate

        config = uvicorn.Config(TokenGate(f"http://127.0.0.1:{self.inner}", [TOKEN]), host="127.0.0.1",
                                port=self.port, log_level="warning", lifespan="on")
        self.gate = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.gate.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.gate.started:
            assert time.monotonic() < deadline, "the gate did not start"
            time.sleep(0.02)

    def close(self) -> None:
        self.gate.should_exit = True
        self.thread.join(10)
        if self.proc.poll() is None:
            self.stop_chroma()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from app.chroma_gate import chroma_executable

    try:
        chroma_executable()
        srv = Server(tmp_path_factory.mktemp("chroma") / "data")
    except (RuntimeError, OSError) as exc:
        pytest.skip(f"a real Chroma server cannot start on this machine: {exc}")
    yield srv
    srv.close()


def service(server, embedder, tmp_path, writer: bool, token: str = TOKEN, port: int | None = None) -> LibraryService:
    settings = Settings()
    settings.store.backend = "server"
    settings.store.port = port or server.port
    settings.store.token = token
    settings.store.writer = writer
    settings.sync.debounce_s = 0.2
    lib = LibraryService(settings, embedder=embedder)
    lib.replica_root = tmp_path / ("writer" if writer else "reader") / token
    return lib


@pytest.fixture
def pair(server, embedder, tmp_path):
    writer = service(server, embedder, tmp_path, True)
    reader = service(server, embedder, tmp_path, False)
    yield writer, reader
    writer.close()
    reader.close()


def kb_name(request) -> str:
    return request.node.name.replace("test_", "")[:40]


def search_paths(chat: ChatService, kb: str, question: str) -> set[str]:
    return {Path(s.path).name for s in chat.search(question, [kb])}


def test_a_reader_sees_a_document_once_the_writer_commits_and_never_half(pair, tmp_path, request, monkeypatch):
    writer, reader = pair
    kb = kb_name(request)
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "walrus.txt").write_text("The walrus leave policy allows three extra days per year.")
    assert writer.ingest([docs], kb).ok == 1
    chat = ChatService(reader.settings, reader)
    assert kb in reader.kb_names()
    assert search_paths(chat, kb, "walrus leave policy") == {"walrus.txt"}

    # The writer dies after the vectors and chunk texts are on the server, before publishing.
    (docs / "heron.txt").write_text("Heron invoices are paid within ten days.")
    base = writer.open_kb(kb)
    monkeypatch.setattr(type(base), "_publish", lambda self, path: (_ for _ in ()).throw(RuntimeError("crash")))
    with pytest.raises(RuntimeError):
        writer.ingest([docs / "heron.txt"], kb)
    monkeypatch.undo()
    time.sleep(reader.open_kb(kb).REFRESH_S)
    assert "heron.txt" not in {Path(d.path).name for d in reader.documents(kb)}
    assert "heron.txt" not in search_paths(chat, kb, "heron invoices paid")  # its vectors are there, unpublished

    # The writer's next write publishes what was left over; readers then see the whole document.
    writer.ingest([docs / "walrus.txt"], kb)
    time.sleep(reader.open_kb(kb).REFRESH_S)
    assert search_paths(chat, kb, "heron invoices paid") >= {"heron.txt"}
    assert reader.open_kb(kb).consistency_problems() == []
    assert writer.open_kb(kb).consistency_problems() == []


def test_followed_folder_changes_reach_the_reader(pair, tmp_path, request):
    writer, reader = pair
    kb = kb_name(request)
    folder = tmp_path / "shared-drive"
    folder.mkdir()
    (folder / "a.txt").write_text("Okapi budget: twelve thousand.")
    (folder / "b.txt").write_text("Gecko meetings are on Fridays.")
    writer.follow(kb, [folder])
    writer.sync(kb)
    os.rename(folder / "a.txt", folder / "renamed.txt")
    os.remove(folder / "b.txt")
    (folder / "c.txt").write_text("Ibex parking is behind building C.")
    report = writer.sync(kb)
    assert sorted(e.state for e in report.events) == ["moved", "ok", "removed"]
    time.sleep(reader.open_kb(kb).REFRESH_S)
    assert sorted(Path(d.path).name for d in reader.documents(kb)) == ["c.txt", "renamed.txt"]
    chat = ChatService(reader.settings, reader)
    assert "renamed.txt" in search_paths(chat, kb, "okapi budget")
    assert "b.txt" not in search_paths(chat, kb, "gecko meetings fridays")
    assert reader.open_kb(kb).consistency_problems() == []
    with pytest.raises(Exception, match="only reads it"):
        reader.ingest([folder], kb)
    with pytest.raises(Exception, match="only reads it"):
        reader.follow(kb, [folder])


def test_wrong_token_and_a_server_that_is_down_say_so(server, embedder, tmp_path):
    from app.chroma_gate import free_port

    wrong = service(server, embedder, tmp_path, False, token="not-the-token")
    with pytest.raises(StoreUnavailable, match="refused the access token"):
        wrong.kb_names()
    down = service(server, embedder, tmp_path, False, port=free_port())
    with pytest.raises(StoreUnavailable, match="Cannot reach the Chroma server"):
        down.kb_names()
    assert httpx.get(f"http://127.0.0.1:{server.port}/api/v2/heartbeat").status_code == 401
    assert httpx.get(f"http://127.0.0.1:{server.port}/api/v2/heartbeat", headers={"X-Chroma-Token": TOKEN}).status_code == 200


def test_server_stopped_during_a_question_then_back(pair, tmp_path, request, server, monkeypatch):
    writer, reader = pair
    kb = kb_name(request)
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "tapir.txt").write_text("Tapir travel is reimbursed at economy fares.")
    writer.ingest([docs], kb)
    chat = ChatService(reader.settings, reader)
    assert search_paths(chat, kb, "tapir travel") == {"tapir.txt"}

    store = reader.open_kb(kb).store
    query = type(store).query

    def stop_then_query(self, vector, k):
        server.stop_chroma()  # the server goes away after the question started
        return query(self, vector, k)

    monkeypatch.setattr(type(store), "query", stop_then_query)
    try:
        with pytest.raises(StoreUnavailable, match="Chroma server"):
            chat.search("tapir travel", [kb])
    finally:
        monkeypatch.undo()
        server.start_chroma()
    assert search_paths(chat, kb, "tapir travel") == {"tapir.txt"}  # recovers without a restart


def test_tls_with_a_private_certificate_authority(server, embedder, tmp_path):
    """The gate serves https with a self-signed certificate; the client verifies it with store.tls_ca_path."""
    import shutil
    import subprocess

    import uvicorn

    from app.chroma_gate import TokenGate, free_port

    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is not installed, so no test certificate can be made")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True)
    port = free_port()
    gate = uvicorn.Server(uvicorn.Config(TokenGate(f"http://127.0.0.1:{server.inner}", [TOKEN]), host="127.0.0.1",
                                        port=port, ssl_certfile=str(cert), ssl_keyfile=str(key), log_level="warning"))
    thread = threading.Thread(target=gate.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not gate.started:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        lib = service(server, embedder, tmp_path, False, port=port)
        lib.settings.store.tls = True
        with pytest.raises(StoreUnavailable, match="TLS"):  # the system's CAs do not know this certificate
            lib.kb_names()
        lib.settings.store.tls_ca_path = str(cert)
        assert isinstance(lib.kb_names(), list)
    finally:
        gate.should_exit = True
        thread.join(10)
