"""OCR for images and scanned PDF pages, with RapidOCR (PP-OCRv4, Chinese + English, ONNX).

The engine takes ~1 s and a few hundred MB to load, so it is created on first use and kept for
the life of the worker process.  RapidOCR returns one box per text line fragment; fragments are
re-assembled into reading-order lines here, since the library has no layout step of its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingest.errors import CorruptFile, EmptyDocument, FileTooLarge
from ingest.types import LoadedDocument, Section

if TYPE_CHECKING:
    from PIL.Image import Image

    from ingest.loaders import LoadOptions

MIN_SIDE_PX = 24  # smaller images cannot hold a readable line of text
MAX_SIDE_PX = 4000  # larger images are scaled down: detection resizes anyway, and memory is bounded
MAX_IMAGE_PIXELS = 200_000_000  # a decompression bomb, not a scan

_engine: Any = None


def engine() -> Any:
    """The process-wide RapidOCR engine, created on first use."""
    global _engine
    if _engine is None:
        from rapidocr_onnxruntime import RapidOCR

        _engine = RapidOCR()
    return _engine


def _lines(result: list[Any]) -> list[str]:
    # Each item is [box (4 corner points), text, score].  Fragments whose vertical centres are
    # within half a line height of each other form one line, read left to right.
    items = []
    for box, text, _score in result:
        ys = [p[1] for p in box]
        xs = [p[0] for p in box]
        items.append(((min(ys) + max(ys)) / 2, max(ys) - min(ys), min(xs), text))
    items.sort(key=lambda item: (item[0], item[2]))
    lines: list[list[tuple[float, float, float, str]]] = []
    for item in items:
        if lines:
            last = lines[-1]
            centre = sum(i[0] for i in last) / len(last)
            height = max(i[1] for i in last)
            if abs(item[0] - centre) < max(height, item[1]) / 2:
                last.append(item)
                continue
        lines.append([item])
    return [" ".join(i[3] for i in sorted(line, key=lambda i: i[2])) for line in lines]


def ocr_image(image: Image) -> str:
    """Recognised text of a PIL image, one line per text line."""
    import numpy as np

    if min(image.size) < MIN_SIDE_PX:
        return ""
    if max(image.size) > MAX_SIDE_PX:
        image = image.copy()
        image.thumbnail((MAX_SIDE_PX, MAX_SIDE_PX))
    rgb = np.asarray(image.convert("RGB"))
    result, _elapsed = engine()(rgb[:, :, ::-1])  # RapidOCR expects OpenCV's BGR order
    return "\n".join(_lines(result or []))


HEIF_SUFFIXES = frozenset({".heic", ".heif", ".hif"})


def load_image(path: Path, options: LoadOptions) -> LoadedDocument:
    """An image file; every frame of a multi-page TIFF is a page."""
    from PIL import Image, ImageSequence

    if not options.ocr:
        raise EmptyDocument("no text found: this is an image and OCR is off (settings: ingest.ocr)")
    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
    if path.suffix.lower() in HEIF_SUFFIXES:
        return _load_heif(path, options)
    try:
        image = Image.open(path)
        image.load()
    except Image.DecompressionBombError:
        raise FileTooLarge("image is too large to OCR: scale it down and add it again") from None
    sections = []
    warnings = []
    frames = getattr(image, "n_frames", 1)
    for number, frame in enumerate(ImageSequence.Iterator(image), start=1):
        if number > options.max_pages:
            warnings.append(f"only the first {options.max_pages} of {frames} images were read")
            break
        text = ocr_image(frame)
        if text.strip():
            sections.append(Section(text=text, page=number if frames > 1 else None, ocr=True))
    return LoadedDocument(file_type="image", sections=sections, pages=frames if frames > 1 else None,
                          warnings=warnings)


def _load_heif(path: Path, options: LoadOptions) -> LoadedDocument:
    """A HEIC/HEIF file: the primary image is read; burst or live-photo extras are other pictures
    of the same scene, so they are not OCRed again."""
    # Pillow has no HEIF decoder; pillow-heif (libheif + libde265 inside its wheel) is the kept
    # binding.  It is called directly, not registered as a Pillow plugin, so other formats decode
    # exactly as before and libheif's terse errors become one clear reason.
    import pillow_heif

    try:
        heif = pillow_heif.open_heif(path, convert_hdr_to_8bit=True)
        images = len(heif)
        primary = heif[heif.primary_index] if images > 1 else heif
        width, height = primary.size
        if width * height > MAX_IMAGE_PIXELS:
            raise FileTooLarge("image is too large to OCR: scale it down and add it again")
        image = primary.to_pillow()
    except FileTooLarge:
        raise
    except (ValueError, RuntimeError, OSError) as exc:
        reason = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
        raise CorruptFile(f"corrupt HEIC: the image cannot be decoded ({reason})") from None
    text = ocr_image(image)
    sections = [Section(text=text, ocr=True)] if text.strip() else []
    warnings = [f"only the primary of {images} images in this HEIC file was read"] if images > 1 else []
    return LoadedDocument(file_type="image", sections=sections, warnings=warnings)
