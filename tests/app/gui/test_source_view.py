"""The source viewer on a citation of a file inside a file (an e-mail attachment, a zip member).

Such a document has no file of its own on disk: the viewer shows its stored page text while its
container is there, and says the container has gone once it is not.  Real LibraryService, real
ingestion, offscreen Qt.
"""

from __future__ import annotations

import shutil
import zipfile
from email.message import EmailMessage
from pathlib import Path

import pytest

from app.gui.bridge import ServiceBridge
from app.gui.source_view import SourceView
from app.settings import Settings
from ingest.types import CHILD_SEPARATOR

ATTACHED = "Attached memo: the heron survey starts at dawn on Saturday, meet at gate four."


@pytest.fixture
def viewer(qtbot, library):
    bridge = ServiceBridge(Settings(), lambda settings: (library, None))
    view = SourceView(bridge)
    qtbot.addWidget(view)
    view.show()
    yield view
    bridge.shutdown()


@pytest.fixture
def containers(tmp_path: Path, shared_data: Path) -> Path:
    folder = tmp_path / "mail"
    folder.mkdir()
    message = EmailMessage()
    message["From"] = "warden@example.org"
    message["Subject"] = "Survey memo"
    message.set_content("The memo is attached.")
    message.add_attachment(ATTACHED.encode(), maintype="text", subtype="plain", filename="memo.txt")
    (folder / "memo.eml").write_bytes(bytes(message))
    pdf = shared_data / "docs" / "pdf-sample-files" / "001-trivial" / "minimal-document.pdf"
    with zipfile.ZipFile(folder / "papers.zip", "w") as z:
        z.write(pdf, "papers/minimal.pdf")
    return folder


def source_for(library, path: str, n: int = 1) -> dict:
    """A citation of the first passage of a document, as the chat hands it to the viewer."""
    base = library.open_kb("t")
    chunk = base.chunks([f"{base.document(path).doc_id}:0"])[f"{base.document(path).doc_id}:0"]
    return {"n": n, "kb": "t", "path": path, "page": chunk.page, "heading_path": list(chunk.heading_path),
            "snippet": chunk.text[:40], "text": chunk.text, "score": 1.0, "start": chunk.start, "end": chunk.end,
            "section": chunk.section}


def show(qtbot, view: SourceView, source: dict) -> str:
    with qtbot.waitSignal(view.shown, timeout=30000):
        view.show_source(source)
    return view.text.toPlainText()


def test_an_attachment_shows_its_stored_text_while_its_mail_is_there(qtbot, viewer, library, containers):
    library.ingest([containers], "t")
    member = f"{containers / 'memo.eml'}{CHILD_SEPARATOR}memo.txt"
    shown = show(qtbot, viewer, source_for(library, member))
    assert viewer.stack.currentWidget() is viewer.text
    assert "no longer at" not in shown
    assert "gate four" in shown and "#ffe27a" in viewer.text.toHtml()  # the stored text, passage marked
    assert "memo.eml › memo.txt" in viewer.title.text()
    assert viewer.open_btn.isEnabled()


def test_a_pdf_in_a_zip_shows_its_stored_page_text_not_a_rendering(qtbot, viewer, library, containers):
    library.ingest([containers], "t")
    member = f"{containers / 'papers.zip'}{CHILD_SEPARATOR}papers/minimal.pdf"
    source = source_for(library, member)
    shown = show(qtbot, viewer, source)
    assert viewer.stack.currentWidget() is viewer.text  # the member has no file to render
    assert "no longer at" not in shown and "Could not show" not in shown
    assert source["text"].split()[0] in shown
    assert viewer.prev_btn.isHidden() and viewer.next_btn.isHidden()


def test_a_member_of_a_gone_container_names_the_container(qtbot, viewer, library, containers):
    library.ingest([containers], "t")
    member = f"{containers / 'memo.eml'}{CHILD_SEPARATOR}memo.txt"
    source = source_for(library, member)
    shutil.move(containers / "memo.eml", containers.parent / "elsewhere.eml")
    shown = show(qtbot, viewer, source)
    assert f"no longer at {containers / 'memo.eml'}." in shown
    assert "memo.txt." not in shown  # the message names the real file, not the member's path
    assert "gate four" in shown  # the cited passage is still shown
    assert not viewer.open_btn.isEnabled()
