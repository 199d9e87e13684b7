"""CLI command `serve-chroma`: run a team's Chroma server behind LocalKB's token gate."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from app.errors import SettingsError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve-chroma", help="run a Chroma server for shared knowledge bases, with token authentication")
    p.add_argument("--path", required=True, help="folder where the server keeps its data")
    p.add_argument("--host", default="0.0.0.0", help="address to listen on (default: all)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--token-file", help="file whose lines are the accepted tokens (else $LOCALKB_CHROMA_TOKEN)")
    p.add_argument("--no-auth", action="store_true", help="accept requests without a token (a trusted network only)")
    p.add_argument("--tls-cert", default="", help="PEM certificate: serve https")
    p.add_argument("--tls-key", default="", help="PEM private key of --tls-cert")
    p.set_defaults(handler=cmd_serve)


def _tokens(args) -> list[str]:
    # Tokens come from a file or the environment, never the command line, where `ps` shows them.
    if args.token_file:
        try:
            lines = Path(args.token_file).read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise SettingsError(f"Cannot read the token file {args.token_file}: {exc.strerror or exc}") from exc
        return [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    token = os.environ.get("LOCALKB_CHROMA_TOKEN", "").strip()
    return [token] if token else []


def cmd_serve(args) -> int:
    from app.chroma_gate import serve

    tokens = _tokens(args)
    if not tokens and not args.no_auth:
        raise SettingsError("No access token: pass --token-file FILE or set LOCALKB_CHROMA_TOKEN (or --no-auth).")
    if bool(args.tls_cert) != bool(args.tls_key):
        raise SettingsError("TLS needs both --tls-cert and --tls-key.")
    scheme = "https" if args.tls_cert else "http"
    print(f"serving Chroma data in {args.path} at {scheme}://{args.host}:{args.port} "
          f"({len(tokens)} token(s){', no authentication' if not tokens else ''}); Ctrl-C stops", file=sys.stderr)
    return serve(Path(args.path), args.host, args.port, tokens, args.tls_cert, args.tls_key,
                 log_file=Path(args.path) / "chroma.log")
