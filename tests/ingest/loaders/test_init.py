"""load_file: dispatch by suffix, clear reasons for unsupported types, errors that never leak."""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from ingest.errors import CorruptFile, EmptyDocument, IngestError, UnsupportedFileType
from ingest.loaders import LoadOptions, load_file, supported_suffixes


def test_supported_suffixes_are_lower_case_with_dot() -> None:
    suffixes = supported_suffixes()
    assert {".pdf", ".docx", ".pptx", ".xlsx", ".csv", ".tsv", ".txt", ".md", ".html", ".epub", ".eml", ".png"} <= suffixes
    assert all(s.startswith(".") and s == s.lower() for s in suffixes)
    assert {".doc", ".ppt", ".xls", ".msg", ".odt", ".ods", ".odp", ".rtf", ".zip", ".wps", ".et", ".dps"} <= suffixes
    assert ".wav" not in suffixes


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("CantinaBand3.wav", "unsupported file type .wav"),
        ("eml/signed-doc.p7s", "unsupported file type .p7s"),
    ],
)
def test_unsupported_types_say_what_to_do(office: Path, name: str, reason: str) -> None:
    assert (office / name).exists()
    with pytest.raises(UnsupportedFileType) as info:
        load_file(office / name)
    assert reason in str(info.value)
    assert "\n" not in str(info.value)


def test_suffix_is_case_insensitive(tmp_path: Path) -> None:
    path = tmp_path / "NOTES.TXT"
    path.write_text("hello upper case")
    assert load_file(path).sections[0].text == "hello upper case"


def test_library_exception_becomes_corrupt_file_with_short_reason(monkeypatch, tmp_path: Path) -> None:
    import ingest.loaders.text as text

    def broken(path, options):
        raise ValueError("bad token at offset 12\nTraceback-ish second line")

    monkeypatch.setattr(text, "load_text", broken)
    path = tmp_path / "a.txt"
    path.write_text("x")
    with pytest.raises(CorruptFile) as info:
        load_file(path)
    assert str(info.value) == "corrupt TXT: ValueError: bad token at offset 12"
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_missing_file_is_an_ingest_error(tmp_path: Path) -> None:
    with pytest.raises(IngestError):
        load_file(tmp_path / "gone.pdf")


def test_file_without_text_is_empty_document(office: Path) -> None:
    for name in ("empty.txt", "fake-text-all-whitespace.txt", "empty.xlsx", "eml/empty.eml"):
        with pytest.raises(EmptyDocument, match="no text found"):
            load_file(office / name)


def test_results_and_errors_pickle_for_the_worker_process(office: Path) -> None:
    document = load_file(office / "fake-text.txt", LoadOptions(ocr=False))
    assert pickle.loads(pickle.dumps(document)) == document
    error = pickle.loads(pickle.dumps(CorruptFile("corrupt PDF: x")))
    assert isinstance(error, CorruptFile) and str(error) == "corrupt PDF: x"
    assert pickle.loads(pickle.dumps(LoadOptions(ocr=False, max_pages=3))) == LoadOptions(ocr=False, max_pages=3)


def test_import_loads_no_parsing_library() -> None:
    code = (
        "import sys, ingest.loaders\n"
        "heavy = {'pypdfium2', 'pypdf', 'docx', 'pptx', 'openpyxl', 'bs4', 'lxml', 'ebooklib',"
        " 'rapidocr_onnxruntime', 'numpy', 'PIL', 'charset_normalizer'}\n"
        "print(sorted(heavy & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[3])
    assert out.stdout.strip() == "[]"


def test_text_file_without_extension_is_read_binary_is_not(office: Path, tmp_path: Path) -> None:
    assert load_file(office / "file_we_dont_want_imported").sections[0].text == "wombat"
    blob = tmp_path / "blob"
    blob.write_bytes(b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)))
    with pytest.raises(UnsupportedFileType, match=r"unsupported file type \(no extension\)"):
        load_file(blob)
