"""A photo from the web form: its type from its own bytes, and its metadata removed.

Phones write where and when a photo was taken, the camera's serial number and sometimes the owner's
name into the file (EXIF, XMP, comments). None of that may reach the store, so the file is rebuilt
from its own structure, without a new dependency, keeping only the parts on an allow-list (anything
unknown is dropped, or the file refused when the picture cannot do without it):

- JPEG: SOI, the JFIF header (APP0, its thumbnail dropped), an ICC colour profile (APP2), Adobe's
  colour-transform marker (APP14, its 12 bytes: CMYK files need it), DQT, DHT, DAC, DRI, SOFn, SOS
  with its scan data, EOI. Every other segment (EXIF, XMP, JFXX thumbnails, comments, unknown
  markers) and anything after EOI is dropped; the EXIF orientation, if any, is written back as a
  minimal EXIF block holding nothing else (a portrait phone photo would otherwise show on its side).
- PNG: IHDR, PLTE, tRNS, gAMA, cHRM, sRGB, iCCP (its free-text name replaced), sBIT, pHYs, IDAT,
  IEND, and APNG's acTL/fcTL/fdAT. Other ancillary chunks are dropped; an unknown critical chunk is
  refused.
- WebP: VP8, VP8L, VP8X (its EXIF and XMP flags cleared), ALPH, ANIM, ANMF (its frame's own chunks
  filtered the same way), ICCP.

A file whose structure does not hold together (cut short: no EOI, no IEND, a RIFF size larger than
the file) is refused, and so is one with more segments or chunks than a photo has: the parser's
work is bounded whatever the file (the form's budget is counted before it runs).
"""

from __future__ import annotations

import re
import struct
import zlib

from storage.media import sniff

ACCEPTED = ("image/jpeg", "image/png", "image/webp")
MAX_PARTS = 2000  # segments (JPEG) or chunks (PNG, WebP) in one file; real photos have tens


class BadPhoto(ValueError):
    """Not a JPEG, PNG or WebP file, or one whose structure is broken."""


def clean_photo(data: bytes) -> tuple[bytes, str]:
    """(the photo without its metadata, its sniffed type); BadPhoto if it is not an accepted image."""
    kind = sniff(data)
    if kind == "image/jpeg":
        return _jpeg(data), kind
    if kind == "image/png":
        return _png(data), kind
    if kind == "image/webp":
        return _webp(data), kind
    raise BadPhoto(f"not an accepted image type: {kind}")


# --- JPEG: segments (marker, length, body) up to SOS, then entropy-coded data up to the next marker.

_SOI, _EOI, _SOS, _COM = 0xD8, 0xD9, 0xDA, 0xFE
_APP0, _APP1, _APP2, _APP14 = 0xE0, 0xE1, 0xE2, 0xEE
_DQT, _DHT, _DAC, _DRI = 0xDB, 0xC4, 0xCC, 0xDD
_SOF = frozenset({*range(0xC0, 0xC4), *range(0xC5, 0xC8), *range(0xC9, 0xCC), *range(0xCD, 0xD0)})
_TABLES = frozenset({_DQT, _DHT, _DAC, _DRI}) | _SOF
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})  # TEM, RST0–7: no length
_NOT_FILL = re.compile(rb"[^\xff]")
_SCAN_END = re.compile(rb"\xff+(?=[^\x00\xd0-\xd7\xff])")  # fill bytes, then a marker that ends a scan


def _kept_app(marker: int, body: bytes) -> bytes | None:
    """The APPn segment's body to keep (cut to what the picture needs), or None to drop it."""
    if marker == _APP0 and body.startswith(b"JFIF\0") and len(body) >= 14:
        return body[:12] + b"\0\0"  # version, units, density; no thumbnail
    if marker == _APP2 and body.startswith(b"ICC_PROFILE\0"):
        return body
    if marker == _APP14 and body.startswith(b"Adobe") and len(body) >= 12:
        return body[:12]  # version, two flag words, the colour transform
    return None


def _segment(marker: int, body: bytes) -> bytes:
    return bytes((0xFF, marker)) + struct.pack(">H", len(body) + 2) + body


def _jpeg(data: bytes) -> bytes:
    out = bytearray(b"\xff\xd8")
    orientation: int | None = None
    insert_at = 2  # where a rebuilt EXIF block goes: after SOI, or after a leading JFIF segment
    i, n = 2, len(data)
    frame = scanned = exif_seen = False
    for _part in range(MAX_PARTS):
        if i >= n or data[i] != 0xFF:
            raise BadPhoto("JPEG: expected a marker")
        found = _NOT_FILL.search(data, i)  # skip fill bytes
        if found is None:
            raise BadPhoto("JPEG: truncated")
        i = found.start()
        marker = data[i]
        i += 1
        if marker == _EOI:
            if not (frame and scanned):
                raise BadPhoto("JPEG: no image")
            out += b"\xff\xd9"
            break  # anything after the end marker is dropped
        if marker in _STANDALONE:
            continue
        if marker == _SOI or i + 2 > n:
            raise BadPhoto("JPEG: misplaced start marker or truncated segment")
        length = int.from_bytes(data[i : i + 2], "big")
        if length < 2 or i + length > n:
            raise BadPhoto("JPEG: segment longer than the file")
        body = data[i + 2 : i + length]
        i += length
        if _APP0 <= marker <= 0xEF:
            kept = _kept_app(marker, body)
            if kept is not None:
                out += _segment(marker, kept)
                if marker == _APP0 and len(out) == 2 + 4 + len(kept):
                    insert_at = len(out)
            elif marker == _APP1 and body.startswith(b"Exif\0\0") and not exif_seen:
                exif_seen = True  # only the first EXIF block is read (each read walks its entries)
                orientation = _orientation(body[6:])
            continue
        if marker in _TABLES:
            frame = frame or marker in _SOF
            out += _segment(marker, body)
        elif marker == _SOS:
            if not frame:
                raise BadPhoto("JPEG: scan before its frame")
            scanned = True
            end = _SCAN_END.search(data, i)
            if end is None:
                raise BadPhoto("JPEG: image data without an end marker")
            scan_end = end.end() - 1  # the 0xFF of the marker that follows
            out += _segment(marker, body) + data[i:scan_end]
            i = scan_end
        # anything else (COM, JPGn, DNL, EXP, unknown markers) is dropped
    else:
        raise BadPhoto("JPEG: too many segments")
    if orientation is not None and orientation != 1:
        out[insert_at:insert_at] = _orientation_segment(orientation)
    return bytes(out)


def _orientation(tiff: bytes) -> int | None:
    """The Orientation tag (0x0112) of IFD0 in an EXIF block's TIFF structure, if it is there."""
    if len(tiff) < 8 or tiff[:2] not in (b"II", b"MM"):
        return None
    order = "<" if tiff[:2] == b"II" else ">"
    magic, ifd = struct.unpack_from(order + "HI", tiff, 2)
    if magic != 42 or ifd + 2 > len(tiff):
        return None
    (count,) = struct.unpack_from(order + "H", tiff, ifd)
    for k in range(count):
        entry = ifd + 2 + 12 * k
        if entry + 12 > len(tiff):
            return None
        tag, kind, _count = struct.unpack_from(order + "HHI", tiff, entry)
        if tag == 0x0112 and kind == 3:
            (value,) = struct.unpack_from(order + "H", tiff, entry + 8)
            return value if 1 <= value <= 8 else None
    return None


def _orientation_segment(orientation: int) -> bytes:
    """An APP1 EXIF segment holding the orientation and nothing else."""
    tiff = b"MM\x00\x2a" + struct.pack(">I", 8) + struct.pack(">H", 1)
    tiff += struct.pack(">HHIH2x", 0x0112, 3, 1, orientation) + struct.pack(">I", 0)
    body = b"Exif\0\0" + tiff
    return b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body


# --- PNG: chunks (length, type, data, CRC) after the signature, up to IEND.

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_KEPT = frozenset({b"IHDR", b"PLTE", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"iCCP", b"sBIT", b"pHYs"})
_PNG_KEPT |= {b"IDAT", b"IEND", b"acTL", b"fcTL", b"fdAT"}  # the image, and APNG animation


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png(data: bytes) -> bytes:
    out = bytearray(_PNG_SIGNATURE)
    i, n = len(_PNG_SIGNATURE), len(data)
    seen: set[bytes] = set()
    for _part in range(MAX_PARTS * 10):  # an encoder may cut the image into many IDAT chunks
        if i + 12 > n:
            raise BadPhoto("PNG: no IEND chunk")
        (length,) = struct.unpack_from(">I", data, i)
        kind = data[i + 4 : i + 8]
        end = i + 12 + length
        if end > n or not kind.isalpha() or not kind.isascii():
            raise BadPhoto("PNG: broken chunk")
        if not seen and kind != b"IHDR":
            raise BadPhoto("PNG: IHDR is not first")
        seen.add(kind)
        if kind == b"iCCP":  # "name\0method profile": the name is free text, so it is replaced
            _name, sep, rest = data[i + 8 : i + 8 + length].partition(b"\0")
            if sep:
                out += _png_chunk(kind, b"ICC profile\0" + rest)
        elif kind in _PNG_KEPT:
            out += data[i:end]
        elif kind[0] & 0x20 == 0:
            raise BadPhoto("PNG: an unknown critical chunk")
        i = end
        if kind == b"IEND":
            if b"IDAT" not in seen:
                raise BadPhoto("PNG: no image data")
            return bytes(out)
    raise BadPhoto("PNG: too many chunks")


# --- WebP: a RIFF container of chunks (fourcc, little-endian size, data, pad to even).

_VP8X_EXIF, _VP8X_XMP = 0x08, 0x04
_WEBP_KEPT = frozenset({b"VP8 ", b"VP8L", b"VP8X", b"ALPH", b"ANIM", b"ANMF", b"ICCP"})
_FRAME_KEPT = frozenset({b"ALPH", b"VP8 ", b"VP8L"})  # inside an ANMF frame, after its 16 bytes
_IMAGE = frozenset({b"VP8 ", b"VP8L", b"ANMF"})


def _webp(data: bytes) -> bytes:
    (riff_size,) = struct.unpack_from("<I", data, 4)
    if 8 + riff_size > len(data):
        raise BadPhoto("WebP: cut short (the RIFF size is larger than the file)")
    body, kinds = _webp_chunks(data, 12, 8 + riff_size, _WEBP_KEPT, [0])
    if not kinds or kinds[0] not in (b"VP8 ", b"VP8L", b"VP8X") or not _IMAGE & set(kinds):
        raise BadPhoto("WebP: no image chunk")
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WEBP" + body


def _webp_chunks(
    data: bytes, start: int, end: int, allowed: frozenset[bytes], walked: list[int]
) -> tuple[bytes, list[bytes]]:
    """The chunks between `start` and `end` that are on `allowed` (rebuilt), and the kinds seen;
    `walked` counts the chunks of the whole file, frames' included."""
    out = bytearray()
    kinds: list[bytes] = []
    i = start
    while i < end:
        walked[0] += 1
        if walked[0] > MAX_PARTS:
            raise BadPhoto("WebP: too many chunks")
        if i + 8 > end:
            raise BadPhoto("WebP: truncated chunk header")
        kind = data[i : i + 4]
        (size,) = struct.unpack_from("<I", data, i + 4)
        if i + 8 + size > end:
            raise BadPhoto("WebP: chunk longer than the file")
        payload = data[i + 8 : i + 8 + size]
        i += 8 + size + (size & 1)
        kinds.append(kind)
        if kind not in allowed:
            continue
        if kind == b"VP8X":
            if size < 10:
                raise BadPhoto("WebP: short VP8X chunk")
            payload = bytes((payload[0] & ~(_VP8X_EXIF | _VP8X_XMP) & 0xFF,)) + payload[1:]
        elif kind == b"ANMF":
            if size < 16:
                raise BadPhoto("WebP: short ANMF chunk")
            payload_end = i - (size & 1)
            frame, frame_kinds = _webp_chunks(data, payload_end - size + 16, payload_end, _FRAME_KEPT, walked)
            if not {b"VP8 ", b"VP8L"} & set(frame_kinds):
                raise BadPhoto("WebP: a frame without an image")
            payload = payload[:16] + frame
        out += kind + struct.pack("<I", len(payload)) + payload + b"\0" * (len(payload) & 1)
    return bytes(out), kinds
