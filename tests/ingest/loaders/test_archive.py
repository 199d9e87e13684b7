"""Zip checks before Office/EPUB parsers run: not a zip, encrypted OLE wrapper, zip bombs."""

from __future__ import annotations

import shutil
import struct
import zipfile
from pathlib import Path

import pytest

from ingest.errors import CorruptFile, EncryptedFile
from ingest.loaders import load_file


def test_zip_bomb_is_refused_before_parsing(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.docx"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("word/document.xml", "w") as member:
            chunk = b"\0" * (1 << 20)
            for _ in range(64):  # 64 MiB of zeros deflate to ~64 KiB: a ratio around 1000
                member.write(chunk)
    assert bomb.stat().st_size < 1 << 20
    with pytest.raises(CorruptFile, match="looks like a zip bomb"):
        load_file(bomb)


def test_archive_declaring_over_a_gibibyte_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "huge.xlsx"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("xl/workbook.xml", "x" * 100)
    data = bytearray(path.read_bytes())
    # Patch the central directory's uncompressed size: that is what the check trusts.
    central = data.rindex(b"PK\x01\x02")
    struct.pack_into("<I", data, central + 24, 0xF0000000)
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptFile, match="looks like a zip bomb"):
        load_file(path)


def test_not_a_zip(tmp_path: Path) -> None:
    path = tmp_path / "fake.docx"
    path.write_text("this is plain text with a docx name")
    with pytest.raises(CorruptFile, match="corrupt DOCX: not a valid zip archive"):
        load_file(path)


def test_truncated_zip(office: Path, tmp_path: Path) -> None:
    data = (office / "fake.docx").read_bytes()
    path = tmp_path / "half.docx"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptFile):
        load_file(path)


def test_password_protected_xlsx_is_encrypted(office: Path) -> None:
    with pytest.raises(EncryptedFile, match="password-protected XLSX"):
        load_file(office / "password_protected.xlsx")


def test_legacy_office_file_with_modern_suffix(office: Path, tmp_path: Path) -> None:
    renamed = tmp_path / "report.docx"
    shutil.copy(office / "simple.doc", renamed)
    with pytest.raises(CorruptFile, match="legacy Office file: save it as .docx"):
        load_file(renamed)
