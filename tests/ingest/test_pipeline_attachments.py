"""Files inside files through the real pipeline and search: members as documents, table rows found by question."""

from __future__ import annotations

import os
import shutil
import time
import zipfile
from pathlib import Path

import pytest

from ingest.types import CHILD_SEPARATOR


@pytest.fixture
def company(tmp_path: Path, shared_data: Path) -> Path:
    office = shared_data / "docs" / "office-example-docs"
    root = tmp_path / "company"
    root.mkdir()
    for name in ("simple.zip", "fake-email-attachment.msg", "example-steelJIS-datasheet.html", "fake.odt"):
        shutil.copy(office / name, root / name)
    shutil.copy(shared_data / "docs" / "pdf-sample-files" / "011-google-doc-document" / "google-doc-document.pdf",
                root / "countries.pdf")
    return root


def top_source(library, question: str):
    from app.services.chat import ChatService

    return ChatService(library.settings, library).search(question, ["t"], top_k=3)[0]


def test_members_are_documents_and_table_rows_answer_questions(library, company: Path) -> None:
    report = library.ingest([company], "t")
    states = {e.path.replace(str(company) + os.sep, ""): e.state for e in report.events}
    assert states == {
        "simple.zip": "ok", f"simple.zip{CHILD_SEPARATOR}stanley-cups.csv": "ok",
        f"simple.zip{CHILD_SEPARATOR}ideas-page.html": "ok",
        "fake-email-attachment.msg": "ok", f"fake-email-attachment.msg{CHILD_SEPARATOR}fake-attachment.txt": "ok",
        "example-steelJIS-datasheet.html": "ok", "fake.odt": "ok", "countries.pdf": "ok",
    }

    cups = top_source(library, "How many Stanley Cups have the Maple Leafs won?")
    assert cups.path == f"{company / 'simple.zip'}{CHILD_SEPARATOR}stanley-cups.csv"
    assert "Team: Maple Leafs; Location: TOR; Stanley Cups: 13" in cups.text

    steel = top_source(library, "What is the tensile strength of SNB22-3 bars?")
    assert steel.path.endswith("example-steelJIS-datasheet.html")
    assert "Assortment: Bars; Yield point or Proof stress: 890; Tensile strength: 1000" in steel.text

    currency = top_source(library, "What currency does Germany use?")
    assert currency.path.endswith("countries.pdf") and currency.page == 1
    assert "Currency; Indonesia: Rupia; Germany: EUR (€)" in currency.text

    leader = top_source(library, "Who is the leader on Friday?")
    assert leader.path.endswith("fake.odt") and "Fri: Ryan" in leader.text

    attachment = top_source(library, "fake attachment")
    assert attachment.path.endswith(f"fake-email-attachment.msg{CHILD_SEPARATOR}fake-attachment.txt")
    assert library.open_kb("t").consistency_problems() == []


def test_changed_container_drops_members_it_no_longer_has(library, tmp_path: Path) -> None:
    archive = tmp_path / "bundle.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("keep.txt", "The warehouse opens at seven.")
        z.writestr("gone.txt", "The canteen serves soup on Mondays.")
    library.ingest([archive], "t")
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("keep.txt", "The warehouse opens at seven.")
        z.writestr("new.txt", "Parking is free after six.")
    os.utime(archive, (time.time() + 5, time.time() + 5))
    report = library.ingest([archive], "t")
    states = {Path(e.path).name.split(CHILD_SEPARATOR)[-1]: e.state for e in report.events}
    assert states == {"bundle.zip": "ok", "keep.txt": "skipped", "new.txt": "ok"}
    paths = {d.path.replace(str(tmp_path) + os.sep, "") for d in library.documents("t")}
    assert paths == {"bundle.zip", f"bundle.zip{CHILD_SEPARATOR}keep.txt", f"bundle.zip{CHILD_SEPARATOR}new.txt"}
    kb = library.open_kb("t")
    assert kb.keyword_search("canteen soup", 5) == []
    assert kb.consistency_problems() == []


def test_reindexing_a_member_rereads_its_container(library, tmp_path: Path) -> None:
    archive = tmp_path / "bundle.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("keep.txt", "The warehouse opens at seven.")
    library.ingest([archive], "t")
    member = f"{archive}{CHILD_SEPARATOR}keep.txt"
    report = library.reindex("t", [member])
    assert {e.path: e.state for e in report.events} == {str(archive): "ok", member: "ok"}
    assert library.open_kb("t").consistency_problems() == []
