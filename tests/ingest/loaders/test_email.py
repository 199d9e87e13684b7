"""E-mail: headers first, the body (plain preferred, HTML as text), attachment names, odd encodings."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.errors import EmptyDocument
from ingest.loaders import load_file


def test_headers_then_body(office: Path) -> None:
    document = load_file(office / "eml/fake-email.eml")
    assert document.file_type == "eml" and document.title == "Test Email"
    headers, body = document.sections
    assert headers.label == "headers" and body.label == "body"
    assert headers.text.splitlines()[0] == "From: Matthew Robinson <mrobinson@unstructured.io>"
    assert "Subject: Test Email" in headers.text
    assert body.text.startswith("This is a test email to use for unit tests.")


def test_cc_and_attachments(office: Path) -> None:
    headers = load_file(office / "eml/mime-multi-to-cc-bcc.eml").sections[0].text
    assert "To: Bob <bob@example.com>, Sue <sue@example.com>" in headers
    assert "Cc: Tom <tom@example.com>" in headers
    attached = load_file(office / "eml/mime-attach-mp3.eml").sections[0].text
    assert "Attachments: sample-3s.mp3" in attached


def test_html_only_body_is_text(office: Path) -> None:
    body = load_file(office / "eml/mime-html-only.eml").sections[1].text
    assert body.startswith("This is a text/html part.")
    assert "<" not in body


def test_plain_part_is_preferred(office: Path) -> None:
    body = load_file(office / "eml/mime-different-plain-html.eml").sections[1].text
    assert body.startswith("This is the text/plain part.")


@pytest.mark.parametrize("name", ["fake-email-utf-16.eml", "fake-email-utf-16-be.eml", "fake-email-utf-16-le.eml"])
def test_utf16_message(office: Path, name: str) -> None:
    document = load_file(office / "eml" / name)
    assert document.title == "Test Email"
    assert "Roses are red" in document.sections[1].text


def test_encoded_words_and_legacy_charset(office: Path) -> None:
    assert load_file(office / "eml/mime-word-encoded-subject.eml").title == "Simple email with ☸☿ Unicode subject"
    hebrew = load_file(office / "eml/email-no-utf8-2008-07-16.062410.eml")
    assert "שלום" in hebrew.title and "סלבה היקר" in hebrew.sections[1].text


def test_encrypted_body_keeps_headers_and_warns(office: Path) -> None:
    document = load_file(office / "eml/fake-encrypted.eml")
    assert [s.label for s in document.sections] == ["headers"]
    assert document.warnings == ["the message body is encrypted; only its headers were read"]


def test_digest_parts_are_read(office: Path) -> None:
    body = load_file(office / "eml/mime-multipart-digest.eml").sections[1].text
    assert "first message" in body and "third message" in body


def test_empty_message(office: Path) -> None:
    with pytest.raises(EmptyDocument):
        load_file(office / "eml/empty.eml")
