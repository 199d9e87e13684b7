"""OCR: recognised words in rendered and real images, line assembly, one engine per process."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from ingest.errors import CorruptFile, EmptyDocument
from ingest.loaders import LoadOptions, load_file
from ingest.loaders.ocr import _lines, engine, ocr_image


def test_rendered_text_is_recognised_line_by_line() -> None:
    font = ImageFont.load_default(size=44)
    image = Image.new("RGB", (900, 240), "white")
    draw = ImageDraw.Draw(image)
    draw.text((30, 30), "Quarterly revenue grew 12%", fill="black", font=font)
    draw.text((30, 130), "Invoice number 48213", fill="black", font=font)
    lines = ocr_image(image).splitlines()
    assert len(lines) == 2
    assert "Quarterly" in lines[0] and "revenue" in lines[0]
    assert "48213" in lines[1]


def test_chinese_image(office: Path) -> None:
    document = load_file(office / "img/chi_sim_image.jpeg")
    assert document.file_type == "image"
    assert all(s.ocr for s in document.sections)
    assert "适用人群" in document.sections[0].text


def test_image_with_ocr_off_is_empty(office: Path) -> None:
    with pytest.raises(EmptyDocument):
        load_file(office / "img/DA-1p.png", LoadOptions(ocr=False))


def test_tiny_image_is_not_sent_to_the_engine() -> None:
    assert ocr_image(Image.new("RGB", (10, 10), "white")) == ""


def test_fragments_on_one_line_are_joined_left_to_right() -> None:
    def box(x0, y0, x1, y1):
        return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]

    result = [
        [box(300, 12, 400, 40), "world", 0.9],
        [box(10, 10, 120, 38), "hello", 0.9],
        [box(10, 60, 200, 90), "second line", 0.9],
    ]
    assert _lines(result) == ["hello world", "second line"]


def test_engine_is_created_once() -> None:
    assert engine() is engine()


def test_heic_photo_is_read_like_other_images(office: Path) -> None:
    # The shared HEIC is the same page as DA-1p.png/.jpg, saved by an iPhone-style encoder.
    document = load_file(office / "img/DA-1p.heic")
    assert document.file_type == "image"
    assert document.sections and all(s.ocr for s in document.sections)
    text = document.sections[0].text
    assert "Abomination" in text and "maleficar" in text


@pytest.mark.parametrize("cut", [0, 3000])
def test_broken_heic_fails_alone_with_a_clear_reason(office: Path, tmp_path: Path, cut: int) -> None:
    broken = tmp_path / "broken.heic"
    data = (office / "img/DA-1p.heic").read_bytes()
    broken.write_bytes(data[:cut] + b"not a picture" if cut else b"not a picture at all")
    with pytest.raises(CorruptFile, match=r"^corrupt HEIC: the image cannot be decoded \(") as info:
        load_file(broken)
    assert "\n" not in str(info.value)
