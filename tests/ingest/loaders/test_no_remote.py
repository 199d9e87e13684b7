"""Loaders never fetch, execute or follow anything remote, and archive members never escape.

The oracle is a real HTTP server on 127.0.0.1 that records every request: a fetch made by C code
would reach it as surely as one made by Python.  Each XML-based document also points an external
entity at a secret local file, which must never show up in the text: with an unsafe lxml parser
(resolve_entities=True) the secret does appear, so these tests catch a loader that parses unsafely.
"""

from __future__ import annotations

import io
import re
import stat
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from ingest.errors import IngestError
from ingest.loaders import LoadOptions, load_file

SECRET = "TOP-SECRET-LOCAL-FILE-CONTENT"
REMOTE = "REMOTE-CONTENT-WAS-FETCHED"


@pytest.fixture
def server():
    requests: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the http.server API
            requests.append(self.path)
            body = f'<?xml version="1.0"?><x>{REMOTE}</x>'.encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", requests
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def secret(tmp_path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text(SECRET)
    return path


def _doctype(root: str, url: str, secret: Path) -> bytes:
    return (f'<!DOCTYPE {root} [<!ENTITY remote SYSTEM "{url}/entity"> <!ENTITY local SYSTEM "file://{secret}"> '
            f'<!ENTITY % dtd SYSTEM "{url}/dtd"> %dtd;]>').encode()


def _patch_zip(source: bytes, part: str, edit) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(source)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            dst.writestr(info, edit(data) if info.filename == part else data)
    return out.getvalue()


def _with_entities(xml: bytes, root: str, url: str, secret: Path, hook: bytes) -> bytes:
    """Declare hostile entities and use them where the text `hook` was; add an XInclude too."""
    head, rest = xml.split(b"?>", 1)
    rest = rest.replace(hook, hook + b" &remote; &local;", 1)
    return head + b"?>" + _doctype(root, url, secret) + rest


def _assert_nothing_fetched(text: str, requests: list[str]) -> None:
    assert requests == [], f"fetched {requests}"
    assert REMOTE not in text and SECRET not in text


def _text(path: Path) -> str:
    document = load_file(path, LoadOptions(ocr=False))
    parts = [s.text for s in document.sections]
    parts += [s.text for a in document.attachments for s in a.document.sections]
    return "\n".join(parts)


def _text_or_reason(path: Path) -> str:
    """The file's text, or the reason it was refused: refusing a file is safe too, fetching is not."""
    try:
        return _text(path)
    except IngestError as exc:
        return str(exc)


def test_html_fetches_no_image_style_script_frame_dtd_or_xinclude(tmp_path, server, secret):
    url, requests = server
    page = tmp_path / "page.html"
    page.write_text(
        f'<!DOCTYPE html SYSTEM "{url}/html.dtd" [<!ENTITY local SYSTEM "file://{secret}">]>'
        f'<html xmlns:xi="http://www.w3.org/2001/XInclude"><head><link rel="stylesheet" href="{url}/a.css">'
        f'<script src="{url}/x.js"></script><meta http-equiv="refresh" content="0; url={url}/go"></head>'
        f'<body><img src="{url}/logo.png"><iframe src="{url}/frame"></iframe><object data="{url}/o"></object>'
        f'<xi:include href="{url}/include.xml"/><p>Local text only. &local;</p>'
        f'<svg><image href="{url}/svg.png"/></svg></body></html>'
    )
    text = _text(page)
    assert "Local text only." in text
    _assert_nothing_fetched(text, requests)


def test_docx_ignores_external_entities_linked_images_and_remote_templates(tmp_path, server, secret):
    import docx

    url, requests = server
    buffer = io.BytesIO()
    document = docx.Document()
    document.add_paragraph("HOOK the visible memo text.")
    document.save(buffer)
    data = _patch_zip(buffer.getvalue(), "word/document.xml",
                      lambda xml: _with_entities(xml, "w:document", url, secret, b"HOOK"))
    # A remote template (settings) and an image linked, not embedded, from the web.
    data = _patch_zip(data, "word/_rels/document.xml.rels", lambda xml: xml.replace(
        b"</Relationships>",
        f'<Relationship Id="rIdRemote" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/image" '
        f'Target="{url}/linked.png" TargetMode="External"/>'
        f'<Relationship Id="rIdOle" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/oleObject" '
        f'Target="{url}/linked.xlsx" TargetMode="External"/></Relationships>'.encode()))
    out = io.BytesIO(data)
    with zipfile.ZipFile(out, "a") as z:
        z.writestr("word/_rels/settings.xml.rels",
                   '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                   '<Relationship Id="rIdT" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/attachedTemplate" '
                   f'Target="{url}/template.dotm" TargetMode="External"/></Relationships>')
    path = tmp_path / "memo.docx"
    path.write_bytes(out.getvalue())
    try:
        text = _text(path)
    except IngestError as exc:  # refusing the file is safe too; fetching is not
        text = str(exc)
    else:
        assert text.startswith("HOOK")  # the text before the unexpanded entity is read
    _assert_nothing_fetched(text, requests)


def test_xlsx_and_pptx_ignore_external_entities(tmp_path, server, secret):
    import openpyxl
    from pptx import Presentation

    url, requests = server
    buffer = io.BytesIO()
    workbook = openpyxl.Workbook()
    workbook.active["A1"] = "HOOK sheet text"
    workbook.save(buffer)
    sheet = tmp_path / "book.xlsx"
    sheet.write_bytes(_patch_zip(buffer.getvalue(), "xl/sharedStrings.xml",
                                 lambda xml: _with_entities(xml, "sst", url, secret, b"HOOK")))
    buffer = io.BytesIO()
    deck = Presentation()
    slide = deck.slides.add_slide(deck.slide_layouts[1])
    slide.shapes.title.text = "HOOK slide title"
    deck.save(buffer)
    slides = tmp_path / "deck.pptx"
    slides.write_bytes(_patch_zip(buffer.getvalue(), "ppt/slides/slide1.xml",
                                  lambda xml: _with_entities(xml, "p:sld", url, secret, b"HOOK")))
    for path in (sheet, slides):
        _assert_nothing_fetched(_text_or_reason(path), requests)


def test_odt_and_epub_ignore_external_entities(tmp_path, server, secret, office):
    url, requests = server
    odt = tmp_path / "note.odt"
    source = (office / "simple.odt").read_bytes()
    with zipfile.ZipFile(io.BytesIO(source)) as z:
        content = z.read("content.xml")
    hook = re.search(rb"<text:p[^>]*>([^<]{3})", content).group(1)
    odt.write_bytes(_patch_zip(source, "content.xml",
                               lambda xml: _with_entities(xml, "office:document-content", url, secret, hook)))
    epub = tmp_path / "book.epub"
    source = (office / "winter-sports.epub").read_bytes()
    with zipfile.ZipFile(io.BytesIO(source)) as z:
        chapter = next(n for n in z.namelist() if n.endswith((".xhtml", ".html")) and "nav" not in n)
        opf = next(n for n in z.namelist() if n.endswith(".opf"))
    patched = _patch_zip(source, chapter, lambda xml: _with_entities(xml, "html", url, secret, b"<body>")
                         if xml.startswith(b"<?xml") else xml)
    epub.write_bytes(_patch_zip(patched, opf, lambda xml: _with_entities(xml, "package", url, secret, b"<metadata")
                                if xml.startswith(b"<?xml") else xml))
    for path in (odt, epub):
        _assert_nothing_fetched(_text_or_reason(path), requests)


def test_mail_and_rtf_follow_no_links(tmp_path, server):
    url, requests = server
    mail = tmp_path / "news.eml"
    mail.write_text(
        "From: a@example.com\nTo: b@example.com\nSubject: Newsletter\nMIME-Version: 1.0\n"
        'Content-Type: multipart/mixed; boundary="B"\n\n'
        '--B\nContent-Type: text/html; charset=utf-8\n\n'
        f'<html><body><img src="{url}/track.gif"><p>Read the plan.</p>'
        f'<link rel="stylesheet" href="{url}/s.css"></body></html>\n'
        f'--B\nContent-Type: message/external-body; access-type=URL; URL="{url}/big.pdf"\n\n'
        'Content-Type: application/pdf\n\n\n'
        "--B--\n"
    )
    rtf = tmp_path / "letter.rtf"
    rtf.write_text(r"{\rtf1\ansi Dear reader, the letter text."
                   r"{\field{\*\fldinst INCLUDEPICTURE " + f'"{url}/pic.png"' + r" \\d}{\fldrslt}}"
                   r"{\field{\*\fldinst INCLUDETEXT " + f'"{url}/text.txt"' + r"}{\fldrslt}}}")
    assert "Read the plan." in _text(mail)
    assert "the letter text" in _text(rtf)
    _assert_nothing_fetched(_text(mail) + _text(rtf), requests)


def test_zip_members_with_links_or_absolute_names_never_reach_outside(tmp_path):
    secret = tmp_path / "outside-secret.txt"
    secret.write_text(SECRET)
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as z:
        link = zipfile.ZipInfo("link.txt")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16  # a symlink member pointing at the secret
        z.writestr(link, str(secret))
        z.writestr("/etc/cron.d/evil.txt", "absolute name text")
        z.writestr("..\\..\\windows.txt", "backslash traversal text")
    before = sorted(p.name for p in tmp_path.parent.iterdir())
    document = load_file(archive, LoadOptions(ocr=False))
    names = [a.name for a in document.attachments]
    assert all(not n.startswith("/") and ".." not in n.split("/") for n in names)
    assert sorted(p.name for p in tmp_path.parent.iterdir()) == before
    assert not Path("/etc/cron.d/evil.txt").exists()
    texts = {a.name: a.document.sections[0].text for a in document.attachments}
    assert texts["link.txt"] == str(secret)  # the link's own text, never the file it names
    assert SECRET not in "\n".join(texts.values())
