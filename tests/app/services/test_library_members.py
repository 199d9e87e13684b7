"""LibraryService.remove with containers: removing a file removes the documents read from inside it.

An e-mail with an attached file and a zip with a text member are ingested for real; removing the
container (or the folder holding it) must leave none of its members in the catalogue, the keyword
index or the vector store.
"""

from __future__ import annotations

import zipfile
from email.message import EmailMessage
from pathlib import Path

import pytest

from ingest.types import CHILD_SEPARATOR


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    folder = tmp_path / "inbox"
    (folder / "old").mkdir(parents=True)
    message = EmailMessage()
    message["From"] = "ranger@example.org"
    message["Subject"] = "Survey results"
    message.set_content("The survey results are attached.")
    message.add_attachment(b"Survey: forty-one pelicans were counted at the lagoon.", maintype="text",
                           subtype="plain", filename="survey.txt")
    (folder / "survey.eml").write_bytes(bytes(message))
    with zipfile.ZipFile(folder / "old" / "logs.zip", "w") as z:
        z.writestr("2023/log.txt", "Log: the flamingo colony moved to the north shore.")
    (folder / "plain.txt").write_text("A plain note about herons.")
    return folder


def keyword_paths(library, query: str) -> set[str]:
    base = library.open_kb("t")
    return {c.path for c in base.chunks([cid for cid, _ in base.keyword_search(query, 20)]).values()}


def vector_ids(library, doc_ids) -> set[str]:
    prefixes = tuple(f"{d}:" for d in doc_ids)
    return {i for i in library.open_kb("t").store.all_ids() if i.startswith(prefixes)}


def test_removing_a_container_removes_its_members(library, inbox: Path) -> None:
    library.ingest([inbox], "t")
    mail, member = str(inbox / "survey.eml"), f"{inbox / 'survey.eml'}{CHILD_SEPARATOR}survey.txt"
    ids = {d.path: d.doc_id for d in library.open_kb("t").documents()}
    assert member in ids and keyword_paths(library, "pelicans") == {member}

    events = library.remove("t", [mail])
    assert sorted((e.path, e.state) for e in events) == [(mail, "removed"), (member, "removed")]
    paths = {d.path for d in library.documents("t")}
    assert not any(p.startswith(mail) for p in paths)
    assert keyword_paths(library, "pelicans") == set()
    assert vector_ids(library, [ids[mail], ids[member]]) == set()
    assert str(inbox / "plain.txt") in paths  # nothing else went
    assert library.open_kb("t").consistency_problems() == []


def test_removing_one_member_keeps_its_container(library, inbox: Path) -> None:
    library.ingest([inbox], "t")
    mail, member = str(inbox / "survey.eml"), f"{inbox / 'survey.eml'}{CHILD_SEPARATOR}survey.txt"
    assert [(e.path, e.state) for e in library.remove("t", [member])] == [(member, "removed")]
    assert mail in {d.path for d in library.documents("t")}


def test_removing_a_folder_removes_the_members_of_its_files(library, inbox: Path) -> None:
    library.ingest([inbox], "t")
    archive = inbox / "old" / "logs.zip"
    member = f"{archive}{CHILD_SEPARATOR}2023/log.txt"
    assert keyword_paths(library, "flamingo") == {member}
    events = library.remove("t", [inbox / "old"])
    assert sorted(e.path for e in events) == [str(archive), member]
    assert keyword_paths(library, "flamingo") == set()
    assert {d.path for d in library.documents("t")} == {
        str(inbox / "survey.eml"), f"{inbox / 'survey.eml'}{CHILD_SEPARATOR}survey.txt", str(inbox / "plain.txt")}
    assert library.open_kb("t").consistency_problems() == []
