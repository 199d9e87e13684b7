"""E-mail messages: .eml (RFC 822/MIME, the standard library's email package) and Outlook .msg.

First section: the headers a person asks about (From, To, Cc, Subject, Date) and the names of
attached files.  Second: the body, text/plain preferred, else the HTML part as text (for .msg,
else the RTF body).  Attached files, forwarded messages included, are read as documents of their
own (see container.py); images embedded in the body (signature logos) are not.

.msg files are read with extract-msg (over olefile), the maintained reader of Outlook's format:
it decodes the compressed-RTF bodies and embedded messages that a hand-written reader would not.
"""

from __future__ import annotations

import email
import email.header
import email.policy
from email.message import EmailMessage, Message
from pathlib import Path
from typing import TYPE_CHECKING

from ingest.loaders.container import Member, read_members
from ingest.loaders.html import html_sections
from ingest.loaders.text import clean_text, decode_bytes, detect_encoding
from ingest.types import LoadedDocument, Section

if TYPE_CHECKING:
    from ingest.loaders import LoadOptions

HEADERS = ("From", "To", "Cc", "Subject", "Date")


def _header_sections(headers: dict, attachments: list[str]) -> list[Section]:
    """The "headers" section of a mail (.eml or .msg): its non-empty headers and attachment names."""
    lines = [f"{name}: {value}" for name, value in headers.items() if value]
    if attachments:
        lines.append("Attachments: " + ", ".join(attachments))
    head = clean_text("\n".join(lines))
    return [Section(text=head, label="headers")] if head else []


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


def _leaf_parts(message: Message) -> list[Message]:
    """Leaf parts of a message, not descending into forwarded messages (they are read whole)."""
    if message.get_content_type() == "message/rfc822" or not message.is_multipart():
        return [message]
    out: list[Message] = []
    for part in message.get_payload():  # type: ignore[union-attr]
        if isinstance(part, Message):
            out.extend(_leaf_parts(part))
    return out


def _attached_parts(message: EmailMessage, body_parts: list[Message]) -> list[Member]:
    """Parts that are files of their own: named attachments and forwarded messages."""
    members = []
    for part in _leaf_parts(message)[1:] if message.is_multipart() else []:
        if any(part is b for b in body_parts):
            continue
        if part.get_content_type() == "message/rfc822":
            inner = part.get_payload()
            inner = inner[0] if isinstance(inner, list) and inner else inner
            # A digest's messages are its body (read above), not attachments to read again.
            if isinstance(inner, Message) and not any(p is b for p in inner.walk() for b in body_parts):
                data = inner.as_bytes()
                subject = " ".join(str(inner.get("Subject", "") or "").split())[:80] or "forwarded message"
                members.append(Member(f"{subject.replace('/', '-')}.eml", len(data), lambda data=data: data))
            continue
        filename = part.get_filename()
        disposition = (part.get_content_disposition() or "").lower()
        # An image the HTML body shows (a logo, a signature) is part of the message, not a file.
        if not filename or (part.get_content_maintype() == "image" and part.get("Content-ID") and disposition != "attachment"):
            continue
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            members.append(Member(" ".join(str(filename).split()), len(payload), lambda data=payload: data))
    return members


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
    sections = _header_sections(headers, _attachment_names(message))  # type: ignore[arg-type]

    content_type = message.get_content_type()
    parts: list[Message] = []
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
    attachments = []
    if content_type not in ("application/pkcs7-mime", "application/x-pkcs7-mime", "multipart/encrypted"):
        attachments, unread = read_members(_attached_parts(message, parts), options)  # type: ignore[arg-type]
        warnings.extend(unread)
    return LoadedDocument(file_type="eml", sections=sections, title=headers["Subject"], warnings=warnings,
                          attachments=attachments)


# ---------------------------------------------------------------- Outlook .msg

_ENCRYPTED_ATTACHMENTS = (".pgp-encrypted", ".p7m")


def load_msg(path: Path, options: LoadOptions) -> LoadedDocument:
    """An Outlook .msg message: headers, body, and each attachment as a document of its own."""
    import email.utils
    import logging

    import extract_msg

    # extract-msg logs every odd property it meets; a worker has no one to read them.
    logging.getLogger("extract_msg").setLevel(logging.CRITICAL)
    message = extract_msg.openMsg(str(path))
    try:
        date = getattr(message, "date", None)
        headers = {
            "From": getattr(message, "sender", None),
            "To": getattr(message, "to", None),
            "Cc": getattr(message, "cc", None),
            "Subject": getattr(message, "subject", None),
            "Date": email.utils.format_datetime(date) if date is not None and hasattr(date, "tzinfo") else date,
        }
        headers = {k: " ".join(str(v).split()) for k, v in headers.items() if v}
        raw = list(getattr(message, "attachments", []) or [])
        names = [_msg_attachment_name(a, i) for i, a in enumerate(raw, start=1)]
        sections = _header_sections(headers, names)
        warnings: list[str] = []
        body = _msg_body(message)
        if body:
            sections.append(Section(text=body, label="body"))
        elif any(n.lower().endswith(_ENCRYPTED_ATTACHMENTS) for n in names):
            warnings.append("the message body is encrypted; only its headers were read")
        members = []
        for attachment, name in zip(raw, names):
            if name.lower().endswith(_ENCRYPTED_ATTACHMENTS) or getattr(attachment, "hidden", False):
                continue
            data = _msg_attachment_bytes(attachment)
            if data is not None:
                members.append(Member(name, len(data), lambda data=data: data))
        attachments, unread = read_members(members, options)
        warnings.extend(unread)
    finally:
        message.close()
    return LoadedDocument(file_type="msg", sections=sections, title=headers.get("Subject", ""), warnings=warnings,
                          attachments=attachments)


def _msg_body(message: object) -> str:
    for reader in (lambda: getattr(message, "body", None), lambda: getattr(message, "htmlBody", None),
                   lambda: getattr(message, "rtfBody", None)):
        try:
            value = reader()
        except Exception:  # one broken body stream; the next form may be fine
            continue
        if not value:
            continue
        if isinstance(value, bytes) and value.lstrip().startswith(b"{\\rtf"):
            from ingest.loaders.rtf import rtf_lines

            value = "\n".join(x if isinstance(x, str) else x[1] for x in rtf_lines(value.decode("latin-1")))
        elif isinstance(value, bytes) or "<html" in value[:2000].lower():
            _title, html = html_sections(value)
            value = "\n\n".join(s.text for s in html)
        text = clean_text(value)
        if text:
            return text
    return ""


def _msg_attachment_name(attachment: object, index: int) -> str:
    name = getattr(attachment, "longFilename", None) or getattr(attachment, "shortFilename", None) \
        or getattr(attachment, "displayName", None) or f"attachment-{index}"
    name = " ".join(str(name).split())
    if _is_embedded_msg(attachment) and not name.lower().endswith(".msg"):
        name += ".msg"
    return name


def _is_embedded_msg(attachment: object) -> bool:
    from extract_msg.enums import AttachmentType

    return getattr(attachment, "type", None) == AttachmentType.MSG


def _msg_attachment_bytes(attachment: object) -> bytes | None:
    try:
        data = getattr(attachment, "data", None)
        if isinstance(data, bytes):
            return data
        if _is_embedded_msg(attachment) and hasattr(data, "exportBytes"):
            return data.exportBytes()
    except Exception:  # a broken attachment stream costs that attachment only
        return None
    return None
