"""Metadata removal, file by file: what phones write into photos never reaches the store, and the
picture survives (it still decodes; a JPEG keeps its orientation)."""

from __future__ import annotations

import io
import time
import zlib

import pytest
from PIL import Image

from bot.web.webform.photos import MAX_PARTS, BadPhoto, clean_photo
from tests.media_samples import jpeg
from tests.webform.photo_samples import (
    GPS,
    MARKER,
    comment_flood_jpeg,
    gif,
    jpeg_segment,
    jpeg_with_hidden_gps,
    jpeg_with_metadata,
    plain_jpeg,
    plain_png,
    png_chunk,
    png_with,
    png_with_metadata,
    riff,
    webp_chunk,
    webp_chunks,
    webp_with_hidden_gps,
    webp_with_metadata,
)


@pytest.mark.parametrize(
    ("make", "kind"),
    [
        (jpeg_with_metadata, "image/jpeg"),
        (png_with_metadata, "image/png"),
        (webp_with_metadata, "image/webp"),
    ],
)
def test_metadata_is_removed_and_the_picture_kept(make, kind) -> None:  # type: ignore[no-untyped-def]
    original = make()
    assert MARKER in original
    cleaned, content_type = clean_photo(original)
    assert content_type == kind
    assert MARKER not in cleaned
    picture = Image.open(io.BytesIO(cleaned))
    picture.load()
    assert picture.size == (48, 32)
    assert picture.getpixel((0, 0)) == Image.open(io.BytesIO(original)).getpixel((0, 0))


def test_a_jpeg_keeps_only_its_orientation() -> None:
    cleaned, _ = clean_photo(jpeg_with_metadata())
    exif = Image.open(io.BytesIO(cleaned)).getexif()
    assert dict(exif) == {0x0112: 6}


def test_a_jpeg_without_metadata_is_unchanged() -> None:
    plain = jpeg()
    assert clean_photo(plain) == (plain, "image/jpeg")


@pytest.mark.parametrize(
    "data",
    [
        gif(),
        b"%PDF-1.7 not a photo",
        b"just text pretending to be a photo",
        jpeg()[:200],  # cut short
        png_with_metadata()[:60],
        b"\xff\xd8\xff\xe0\xff\xff",  # a segment longer than the file
    ],
    ids=["gif", "pdf", "text", "jpeg-truncated", "png-truncated", "jpeg-bad-length"],
)
def test_anything_else_is_refused(data: bytes) -> None:
    with pytest.raises(BadPhoto):
        clean_photo(data)


# --- Allow-lists: crafted files hide metadata where a scrubber that drops only what it knows keeps it.


def _decodes(data: bytes) -> Image.Image:
    picture = Image.open(io.BytesIO(data))
    picture.load()
    return picture


def test_a_jpeg_keeps_only_allowed_segments() -> None:
    original = jpeg_with_hidden_gps()
    assert original.count(GPS) >= 5
    cleaned, kind = clean_photo(original)
    assert kind == "image/jpeg" and GPS not in cleaned
    markers = _jpeg_markers(cleaned)
    assert not {0xE3, 0xF0, 0xFE} & set(markers)
    assert markers.count(0xE1) == 1 and markers.count(0xE0) == 1  # the rebuilt EXIF, JFIF without JFXX
    picture = _decodes(cleaned)
    assert picture.size == (48, 32) and dict(picture.getexif()) == {0x0112: 6}  # no GPS IFD, nothing else
    assert 0x8825 not in picture.getexif()


def _jpeg_markers(data: bytes) -> list[int]:
    """The markers of the segments before the first scan's data, then SOS."""
    markers, i = [], 2
    while data[i + 1] != 0xDA:
        markers.append(data[i + 1])
        i += 2 + int.from_bytes(data[i + 2 : i + 4], "big")
    return markers


def test_a_png_keeps_only_allowed_chunks_and_refuses_unknown_critical_ones() -> None:
    unknown_ancillary = png_with(png_chunk(b"mkBF", GPS), png_chunk(b"bKGD", b"\0\0\0\0\0\0"))
    cleaned, _ = clean_photo(unknown_ancillary)
    assert GPS not in cleaned and b"mkBF" not in cleaned and b"bKGD" not in cleaned
    assert _decodes(cleaned).size == (48, 32)
    profile = png_with(png_chunk(b"iCCP", GPS + b"\0\0" + zlib.compress(b"not really a profile")))
    cleaned, _ = clean_photo(profile)
    assert GPS not in cleaned and b"iCCP" in cleaned  # the profile is kept, its free-text name replaced
    with pytest.raises(BadPhoto):
        clean_photo(png_with(png_chunk(b"GPSi", GPS)))  # critical by its name: cannot be dropped


def test_a_webp_keeps_only_allowed_chunks_even_inside_animation_frames() -> None:
    original = webp_with_hidden_gps()
    assert original.count(GPS) >= 4
    cleaned, kind = clean_photo(original)
    assert kind == "image/webp" and GPS not in cleaned
    kinds = [k for k, _ in webp_chunks(cleaned)]
    assert not {b"EXIF", b"XMP ", b"exif", b"META"} & set(kinds) and b"ANMF" in kinds
    vp8x = dict(webp_chunks(cleaned))[b"VP8X"]
    assert vp8x[0] & 0x0C == 0  # the EXIF and XMP flags cleared
    picture = _decodes(cleaned)
    assert picture.size == (48, 32) and getattr(picture, "n_frames", 1) == 2


@pytest.mark.parametrize(
    "data",
    [
        webp_with_metadata()[:30],  # cut short after its VP8X chunk: the RIFF size says more
        webp_with_metadata()[:-10],
        riff(webp_chunk(b"META", GPS)),  # no image chunk
        plain_jpeg()[:-2],  # no EOI
        plain_png()[:-12],  # no IEND
        b"\x89PNG\r\n\x1a\n" + plain_png()[8:33] + png_chunk(b"IEND", b""),  # no IDAT
        b"\xff\xd8" + jpeg_segment(0xE0, b"JFIF\0" + b"\0" * 9) + b"\xff\xd9",  # no frame, no scan
    ],
    ids=[
        "webp-30-bytes",
        "webp-cut",
        "webp-no-image",
        "jpeg-no-eoi",
        "png-no-iend",
        "png-no-idat",
        "jpeg-bare",
    ],
)
def test_a_truncated_or_empty_container_is_refused(data: bytes) -> None:
    with pytest.raises(BadPhoto):
        clean_photo(data)


def test_the_parsers_work_is_bounded() -> None:
    """8 MiB of 4-byte comment segments took the old parser 2.5 s of CPU; past MAX_PARTS it stops."""
    flood = comment_flood_jpeg(8 * 1024 * 1024 - 4096)
    started = time.process_time()
    with pytest.raises(BadPhoto, match="too many"):
        clean_photo(flood)
    assert time.process_time() - started < 0.5
    many = png_with(*[png_chunk(b"tIME", b"\0" * 7)] * (MAX_PARTS * 10))
    with pytest.raises(BadPhoto, match="too many"):
        clean_photo(many)
    frames = riff(webp_chunk(b"VP8L", b"\x2f" + b"\0" * 10) + webp_chunk(b"META", b"") * (MAX_PARTS + 1))
    with pytest.raises(BadPhoto, match="too many"):
        clean_photo(frames)
