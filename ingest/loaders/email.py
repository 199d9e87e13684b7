"""E-mail messages (.eml, RFC 822/MIME) with the standard library's email package.

First section: the headers a person asks about (From, To, Cc, Subject, Date) and the names of
attached files.  Second: the body, text/plain preferred, else the HTML part as text.  Attachment
contents are not read (add the files themselves to index them).
"""

from __future__ import annotations

import email
import email.header
import email.policy
from email.message import EmailMessage, Message
from pathlib import Path
from typing import TYPE_CHECKING

from ingest.loaders.html import html_sections
from ingest.loaders.text import clean_text, decode_bytes, detect_encoding
from ingest.types import LoadedDocument, Section

if TYPE_CHECKING:
    from ingest.loaders import LoadOptions

HEADERS = ("From", "To", "Cc", "Subject", "Date")


def _header(message: EmailMessage, name: str) -> str:
    try:
        value = message[name]
        return " ".join(str(value).split()) if value is not None else ""
    except Exception:
        # The modern policy raises on some malformed headers; decode the raw value by hand.
        raw = message.get_all(name) if hasattr(message, "get_all") else None
        if not raw:
            return ""
        try:
            parts = email.header.decode_header(str(raw[0]))
            return " ".join("".join(
                p.decode(c or "ascii", errors="replace") if isinstance(p, bytes) else p for p, c in parts
            ).split())
        except Exception:
            return " ".join(str(raw[0]).split())


def _part_text(part: Message) -> str:
    try:
        content = part.get_content()  # type: ignore[attr-defined]
        if isinstance(content, str):
            return content
    except Exception:
        pass  # unknown or lying charset: fall back to decoding the bytes ourselves
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset()
    if charset:
        try:
            return payload.decode(charset, errors="replace")
        except LookupError:
            pass
    return decode_bytes(payload)


def _attachment_names(message: EmailMessage) -> list[str]:
    names = []
    for part in message.walk():
        if part.is_multipart():
            continue
        filename = part.get_filename()
        if filename:
            names.append(" ".join(str(filename).split()))
    return names


def load_eml(path: Path, options: LoadOptions) -> LoadedDocument:
    """An .eml message: a headers section and a body section."""
    data = path.read_bytes()
    policy = email.policy.default
    # Some tools save whole messages as UTF-16; MIME parsing needs the text, not the bytes.
    if detect_encoding(data[:4096]).startswith(("utf-16", "utf-32")):
        message = email.message_from_string(decode_bytes(data), policy=policy)
    else:
        message = email.message_from_bytes(data, policy=policy)
    warnings: list[str] = []
    headers = {name: _header(message, name) for name in HEADERS}  # type: ignore[arg-type]
    lines = [f"{name}: {value}" for name, value in headers.items() if value]
    attachments = _attachment_names(message)  # type: ignore[arg-type]
    if attachments:
        lines.append("Attachments: " + ", ".join(attachments))
    sections = []
    head = clean_text("\n".join(lines))
    if head:
        sections.append(Section(text=head, label="headers"))

    content_type = message.get_content_type()
    if content_type in ("application/pkcs7-mime", "application/x-pkcs7-mime", "multipart/encrypted"):
        warnings.append("the message body is encrypted; only its headers were read")
    else:
        body = ""
        try:
            part = message.get_body(preferencelist=("plain", "html"))  # type: ignore[attr-defined]
        except Exception:
            part = None
        if part is None and not message.is_multipart() and message.get_content_maintype() == "text":
            part = message
        # A digest or other unusual structure has no single body: read its inline text parts.
        parts = [part] if part is not None else [
            p for p in message.walk()
            if p.get_content_type() in ("text/plain", "text/html") and not p.get_filename()
        ]
        texts = []
        for part in parts:
            text = _part_text(part)
            if part.get_content_subtype() == "html":
                _title, html = html_sections(text)
                text = "\n\n".join(s.text for s in html)
            texts.append(text)
        body = clean_text("\n\n".join(texts))
        if body:
            sections.append(Section(text=body, label="body"))
    return LoadedDocument(file_type="eml", sections=sections, title=headers["Subject"], warnings=warnings)
