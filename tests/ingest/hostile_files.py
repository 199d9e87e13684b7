"""Hostile files, made on the spot: zip bombs, lying PDFs, huge files, strange names, bad links.

Used by tests/ingest/test_hostile_files.py and, to measure each one's outcome, time and peak
memory with the robustness sweep:

    python tests/ingest/hostile_files.py OUT_DIR && localkb bench robustness OUT_DIR

Every generator is fast (seconds): big files are sparse or compress to almost nothing.
"""

from __future__ import annotations

import io
import os
import sys
import zipfile
from pathlib import Path

GOOD_TEXT = "The canteen opens at half past eleven and serves soup on Fridays.\n"


# -- zip bombs disguised as Office files ----------------------------------------------------------


def _office_skeleton(kind: str) -> bytes:
    buffer = io.BytesIO()
    if kind == "docx":
        import docx

        document = docx.Document()
        document.add_paragraph("A harmless looking memo.")
        document.save(buffer)
    else:
        import openpyxl

        workbook = openpyxl.Workbook()
        workbook.active["A1"] = "A harmless looking sheet"
        workbook.save(buffer)
    return buffer.getvalue()


def zip_bomb(path: Path, kind: str, inflated_mb: int = 300) -> Path:
    """A valid docx/xlsx whose main part inflates to `inflated_mb` MB of whitespace-padded XML."""
    source = zipfile.ZipFile(io.BytesIO(_office_skeleton(kind)))
    main = "word/document.xml" if kind == "docx" else "xl/worksheets/sheet1.xml"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for info in source.infolist():
            data = source.read(info)
            if info.filename != main:
                out.writestr(info, data)
                continue
            # Stream the padding through zlib so the bomb never exists in memory or on disk.
            info = zipfile.ZipInfo(main, date_time=info.date_time)
            info.compress_type = zipfile.ZIP_DEFLATED
            with out.open(info, "w", force_zip64=True) as fh:
                # Padding goes after the root element's start tag: still well-formed XML.
                declaration, root, tail = data.split(b">", 2)
                fh.write(declaration + b">" + root + b">")
                block = b" " * (1 << 20)
                for _ in range(inflated_mb):
                    fh.write(block)
                fh.write(tail)
    return path


def lying_zip(path: Path, claimed: int = 1000, real_mb: int = 200) -> Path:
    """A .docx whose directory says its main part is `claimed` bytes while it inflates to `real_mb` MB."""
    zip_bomb(path, "docx", real_mb)
    data = bytearray(path.read_bytes())
    # Patch the uncompressed size in the central directory entry of word/document.xml (and its
    # zip64 extra), the number every reader trusts.
    name = b"word/document.xml"
    pos = 0
    while True:
        pos = data.find(b"PK\x01\x02", pos)
        if pos < 0:
            break
        name_len = int.from_bytes(data[pos + 28:pos + 30], "little")
        extra_len = int.from_bytes(data[pos + 30:pos + 32], "little")
        if data[pos + 46:pos + 46 + name_len] == name:
            data[pos + 24:pos + 28] = claimed.to_bytes(4, "little")
            extra = pos + 46 + name_len
            end = extra + extra_len
            while extra + 4 <= end:
                tag = int.from_bytes(data[extra:extra + 2], "little")
                size = int.from_bytes(data[extra + 2:extra + 4], "little")
                if tag == 0x0001:  # zip64: uncompressed size first
                    data[pos + 24:pos + 28] = b"\xff\xff\xff\xff"
                    data[extra + 4:extra + 12] = claimed.to_bytes(8, "little")
                extra += 4 + size
        pos += 4
    path.write_bytes(bytes(data))
    return path


# -- PDFs that lie about their structure ----------------------------------------------------------


def _pdf(objects: list[bytes]) -> bytes:
    """A PDF from numbered object bodies (1-based), with a correct cross-reference table."""
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _page(contents_ref: int, parent: int) -> bytes:
    return (b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] /Contents %d 0 R "
            b"/Resources << /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >> >>"
            % (parent, contents_ref))


def _stream(text: bytes) -> bytes:
    content = b"BT /F1 12 Tf 72 720 Td (" + text + b") Tj ET"
    return b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream"


def pdf_cyclic_page_tree(path: Path) -> Path:
    """The page tree's second node lists the root as its kid: a walker that trusts it never ends."""
    path.write_bytes(_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R 4 0 R] /Count 2 >>",
        _page(5, 2),
        b"<< /Type /Pages /Parent 2 0 R /Kids [2 0 R] /Count 1 >>",
        _stream(b"A page inside a looping page tree."),
    ]))
    return path


def pdf_claims_many_pages(path: Path, claimed: int = 100_000) -> Path:
    """One real page under a page tree whose /Count says `claimed`."""
    path.write_bytes(_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count %d >>" % claimed,
        _page(4, 2),
        _stream(b"The only real page of a document that claims a hundred thousand."),
    ]))
    return path


# -- big files ------------------------------------------------------------------------------------


def huge_text(path: Path, size_mb: int = 500, lines: int = 1000) -> Path:
    """A `size_mb` MB .txt: `lines` lines of text at the start, the rest a hole (sparse: no disk, no time)."""
    with path.open("wb") as fh:
        fh.write(GOOD_TEXT.encode() * lines)
        fh.truncate(size_mb << 20)
    return path


def big_spreadsheet(path: Path, rows: int = 50_000) -> Path:
    """An .xlsx with a header row and `rows` data rows, written in openpyxl's streaming mode."""
    import openpyxl

    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("orders")
    sheet.append(["Order", "Region", "Product", "Amount"])
    regions = ("North", "South", "East", "West")
    for i in range(rows):
        sheet.append([i + 1, regions[i % 4], f"part-{i % 97}", (i * 37) % 1000])
    workbook.save(path)
    return path


# -- names and links ------------------------------------------------------------------------------


def strange_names(folder: Path) -> list[Path]:
    """Files named with a newline, with bytes that are not UTF-8, and with a 255-byte name."""
    made = [folder / "two\nlines.txt", folder / ("long-" + "n" * 246 + ".txt")]
    for p in made:
        p.write_text(f"{GOOD_TEXT}This one is called {p.name[:20]!r}.\n")
    raw = os.path.join(os.fsencode(folder), b"latin1-caf\xe9.txt")
    with open(raw, "w") as fh:
        fh.write(GOOD_TEXT)
    made.append(Path(os.fsdecode(raw)))
    return made


def bad_links(folder: Path, outside: Path) -> list[Path]:
    """A link loop (a -> b -> a), a link to a file outside `folder`, a dangling link."""
    outside.write_text("A private file outside the folder that was added.\n")
    (folder / "loop-a.txt").symlink_to(folder / "loop-b.txt")
    (folder / "loop-b.txt").symlink_to(folder / "loop-a.txt")
    (folder / "escape.txt").symlink_to(outside)
    (folder / "dangling.txt").symlink_to(folder / "no-such-file.txt")
    (folder / "dir-escape").symlink_to(outside.parent, target_is_directory=True)
    return [folder / n for n in ("loop-a.txt", "loop-b.txt", "escape.txt", "dangling.txt", "dir-escape")]


def make_all(folder: Path) -> None:
    """Every hostile file in one folder (plus one good file), for the robustness sweep."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "good.txt").write_text(GOOD_TEXT)
    zip_bomb(folder / "bomb.docx", "docx")
    zip_bomb(folder / "bomb.xlsx", "xlsx")
    lying_zip(folder / "lying-sizes.docx")
    pdf_cyclic_page_tree(folder / "cyclic-pages.pdf")
    pdf_claims_many_pages(folder / "claims-100000-pages.pdf")
    huge_text(folder / "huge-500mb.txt")
    big_spreadsheet(folder / "rows-50000.xlsx")
    strange_names(folder)
    bad_links(folder, folder.parent / f"{folder.name}-outside.txt")
    locked = folder / "no-permission.txt"
    locked.write_text(GOOD_TEXT)
    locked.chmod(0)


if __name__ == "__main__":
    make_all(Path(sys.argv[1]))
