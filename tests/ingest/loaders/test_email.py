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


def test_attachments_are_documents_of_their_own(office: Path) -> None:
    document = load_file(office / "eml/fake-email-attachment.eml")
    assert "Attachments: fake-attachment.txt" in document.sections[0].text
    [attachment] = document.attachments
    assert attachment.name == "fake-attachment.txt"
    assert attachment.document.sections[0].text == "Hey this is a fake attachment!"


def test_logo_images_and_unknown_types_are_not_documents(office: Path) -> None:
    logo = load_file(office / "eml/fake-email-image-embedded.eml")
    assert logo.attachments == []
    assert "unstructured_logo.png (an image without readable text)" in logo.warnings[0]
    mp3 = load_file(office / "eml/mime-attach-mp3.eml")
    assert mp3.attachments == [] and "sample-3s.mp3 (.mp3 is not" in mp3.warnings[0]


def test_digest_messages_are_not_read_twice(office: Path) -> None:
    assert load_file(office / "eml/mime-multipart-digest.eml").attachments == []


def test_forwarded_message_is_a_document(tmp_path: Path) -> None:
    path = tmp_path / "fwd.eml"
    path.write_bytes(
        b"From: a@example.com\r\nSubject: Fwd: budget\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="B"\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nSee below.\r\n'
        b"--B\r\nContent-Type: message/rfc822\r\n\r\nFrom: b@example.com\r\nSubject: Budget 2024\r\n\r\n"
        b"The travel budget is 12,000 EUR.\r\n--B--\r\n")
    document = load_file(path)
    assert document.sections[1].text == "See below."
    [forwarded] = document.attachments
    assert forwarded.name == "Budget 2024.eml"
    assert forwarded.document.sections[1].text == "The travel budget is 12,000 EUR."


def test_msg_headers_body_and_attachment(office: Path) -> None:
    document = load_file(office / "fake-email-attachment.msg")
    assert document.file_type == "msg" and document.title == "Fake email with attachment"
    headers, body = document.sections
    assert headers.label == "headers" and body.label == "body"
    assert 'From: "Mallori Harrell" <mallori@unstructured.io>' in headers.text
    assert "Date: Thu, 20 Apr 2023 21:39:10 +0000" in headers.text
    assert "Attachments: fake-attachment.txt" in headers.text
    assert body.text.startswith("Hello!") and "Lots of whitespace" in body.text
    [attachment] = document.attachments
    assert attachment.document.sections[0].text == "Hey this is a fake attachment!"


def test_msg_cc_and_encrypted_body(office: Path) -> None:
    assert "Cc: steve@unstructured.io" in load_file(office / "fake-email-with-cc-and-bcc.msg").sections[0].text
    encrypted = load_file(office / "fake-encrypted.msg")
    assert [s.label for s in encrypted.sections] == ["headers"]
    assert encrypted.warnings[0] == "the message body is encrypted; only its headers were read"


def test_broken_msg_fails_alone_with_reason(office: Path, tmp_path: Path) -> None:
    from ingest.errors import CorruptFile

    truncated = tmp_path / "cut.msg"
    truncated.write_bytes((office / "fake-email.msg").read_bytes()[:2000])
    with pytest.raises(CorruptFile, match="corrupt Outlook MSG") as info:
        load_file(truncated)
    assert "\n" not in str(info.value)
