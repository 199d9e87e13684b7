"""A token gate (and TLS) in front of `chroma run`, for a team's shared knowledge bases.

Chroma 1.x's server has no authentication of its own: its Rust frontend accepts every request
(chroma-core/chroma#4965; the 0.x token providers are gone).  So `localkb serve-chroma` starts
`chroma run` on 127.0.0.1 only, and puts this small reverse proxy on the address users reach:
it refuses any request without a valid `Authorization: Bearer <token>` (or `X-Chroma-Token`)
before a byte reaches Chroma, serves TLS when given a certificate, and forwards everything
else unchanged.  uvicorn and httpx come with chromadb, so this adds no dependency.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Sequence

import httpx

log = logging.getLogger(__name__)

_HOP_BY_HOP = {b"connection", b"keep-alive", b"proxy-authenticate", b"proxy-authorization", b"te", b"trailers",
               b"transfer-encoding", b"upgrade", b"host", b"content-length"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TokenGate:
    """An ASGI app: checks the token, then forwards the request to `upstream`."""

    def __init__(self, upstream: str, tokens: Sequence[str]) -> None:
        self.upstream = upstream.rstrip("/")
        self.tokens = [t.encode() for t in tokens if t]
        self._client: httpx.AsyncClient | None = None

    def _allowed(self, headers: dict[bytes, bytes]) -> bool:
        if not self.tokens:
            return True
        auth = headers.get(b"authorization", b"")
        offered = auth[7:].strip() if auth[:7].lower() == b"bearer " else headers.get(b"x-chroma-token", b"")
        return any(hmac.compare_digest(offered, t) for t in self.tokens)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    self._client = httpx.AsyncClient(base_url=self.upstream, timeout=None)
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    if self._client is not None:
                        await self._client.aclose()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        headers = {k.lower(): v for k, v in scope["headers"]}
        if not self._allowed(headers):
            await _reply(send, 401, b'{"error":"Unauthorized","message":"missing or wrong access token"}')
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        client = self._client or httpx.AsyncClient(base_url=self.upstream, timeout=None)
        forward = [(k, v) for k, v in scope["headers"] if k.lower() not in _HOP_BY_HOP
                   and k.lower() not in (b"authorization", b"x-chroma-token")]
        path = scope.get("raw_path") or scope["path"].encode()
        url = path.decode("latin-1") + (("?" + scope["query_string"].decode("latin-1")) if scope["query_string"] else "")
        try:
            response = await client.request(scope["method"], url, headers=forward, content=body)
        except httpx.HTTPError as exc:
            await _reply(send, 502, ('{"error":"BadGateway","message":"Chroma is not answering: %s"}'
                                     % type(exc).__name__).encode())
            return
        out = [(k.encode(), v.encode()) for k, v in response.headers.items() if k.encode().lower() not in _HOP_BY_HOP]
        out.append((b"content-length", str(len(response.content)).encode()))
        await send({"type": "http.response.start", "status": response.status_code, "headers": out})
        await send({"type": "http.response.body", "body": response.content})


async def _reply(send, status: int, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def chroma_command() -> list[str]:
    """How to start Chroma's server: the `chroma` command beside this Python, or, in the installed
    app (which has no Python and no `chroma` script), the app itself with `--chroma-cli`, which
    runs the same Rust server from chromadb inside the bundle."""
    from app import paths

    if paths.frozen_root() is not None:
        return [sys.executable, "--chroma-cli"]
    return [chroma_executable()]


def chroma_executable() -> str:
    """The `chroma` command that chromadb installs beside this Python."""
    here = Path(sys.executable).parent / "chroma"
    found = str(here) if here.exists() else shutil.which("chroma")
    if not found:
        raise RuntimeError("the 'chroma' command is missing: reinstall chromadb (pip install chromadb)")
    return found


def start_chroma(path: Path, port: int, host: str = "127.0.0.1", timeout_s: float = 30.0,
                 log_file: Path | None = None) -> subprocess.Popen:
    """Start `chroma run` and wait until it answers; raises RuntimeError with its output if it cannot."""
    path.mkdir(parents=True, exist_ok=True)
    out = open(log_file, "ab") if log_file else subprocess.DEVNULL
    proc = subprocess.Popen([*chroma_command(), "run", "--path", str(path), "--host", host, "--port", str(port)],
                            stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "ANONYMIZED_TELEMETRY": "False"})
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"chroma run exited with code {proc.returncode}"
                               + (f"; see {log_file}" if log_file else ""))
        try:
            if httpx.get(f"http://{host}:{port}/api/v2/heartbeat", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"chroma run did not answer on {host}:{port} within {timeout_s:.0f} s")


def serve(path: Path, host: str, port: int, tokens: Sequence[str], certfile: str = "", keyfile: str = "",
          log_file: Path | None = None) -> int:
    """Run Chroma behind the gate until SIGINT/SIGTERM; returns an exit code."""
    import uvicorn

    inner = free_port()
    chroma = start_chroma(path, inner, log_file=log_file)
    config = uvicorn.Config(TokenGate(f"http://127.0.0.1:{inner}", tokens), host=host, port=port,
                            ssl_certfile=certfile or None, ssl_keyfile=keyfile or None, log_level="warning",
                            lifespan="on")
    server = uvicorn.Server(config)
    try:
        asyncio.run(server.serve())
    finally:
        chroma.send_signal(signal.SIGTERM)
        try:
            chroma.wait(10)
        except subprocess.TimeoutExpired:
            chroma.kill()
    return 0
