"""Photos as phones write them: metadata (EXIF with a camera name and GPS, XMP, a comment, PNG text
chunks, WebP EXIF) holding a marker string that must never reach the store."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image, PngImagePlugin

MARKER = b"MARKER-Camera-Owner-Reza-35.6892N"


def _exif() -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to show
    exif[0x010F] = MARKER.decode()  # Make
    exif[0x013B] = MARKER.decode()  # Artist
    return exif


def _picture() -> Image.Image:
    image = Image.new("RGB", (48, 32), (30, 140, 90))
    for x in range(48):
        image.putpixel((x, x * 32 // 48), (255, 255, 255))
    return image


def jpeg_with_metadata() -> bytes:
    """A JPEG with an APP1 EXIF segment (orientation 6 and the marker), an APP1 XMP segment and a
    comment, each holding the marker, and the marker once more after the end of the image."""
    buffer = io.BytesIO()
    _picture().save(buffer, "JPEG", quality=85, exif=_exif().tobytes(), comment=MARKER)
    data = buffer.getvalue()
    xmp = b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta>" + MARKER + b"</x:xmpmeta>"
    segment = b"\xff\xe1" + struct.pack(">H", len(xmp) + 2) + xmp
    return data[:2] + segment + data[2:] + MARKER


def png_with_metadata() -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", MARKER.decode())
    info.add_itxt("Description", MARKER.decode())
    buffer = io.BytesIO()
    _picture().save(buffer, "PNG", pnginfo=info, exif=_exif().tobytes())
    return buffer.getvalue()


def webp_with_metadata() -> bytes:
    buffer = io.BytesIO()
    _picture().save(buffer, "WEBP", exif=_exif().tobytes(), xmp=b"<x:xmpmeta>" + MARKER + b"</x:xmpmeta>")
    return buffer.getvalue()


def gif() -> bytes:
    buffer = io.BytesIO()
    _picture().save(buffer, "GIF")
    return buffer.getvalue()


# --- Crafted files: metadata hidden where a scrubber that drops only what it knows would keep it.

GPS = b"GPSMARK-35.6892N-51.3890E"


def _gps_exif() -> bytes:
    exif = _exif()
    exif[0x8825] = {1: "N", 2: (35.0, 41.0, 21.0), 3: "E", 4: (51.0, 23.0, 20.0)}  # GPS IFD
    exif[0x010E] = GPS.decode()  # ImageDescription
    return exif.tobytes()


def plain_jpeg() -> bytes:
    buffer = io.BytesIO()
    _picture().save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def jpeg_segment(marker: int, body: bytes) -> bytes:
    return bytes((0xFF, marker)) + struct.pack(">H", len(body) + 2) + body


def jpeg_with_hidden_gps() -> bytes:
    """GPS in a JFXX thumbnail (a JPEG carrying EXIF GPS), in a JFIF thumbnail, in a JPG0 (0xF0)
    segment, in an APP3 segment, after the 12 bytes of an Adobe segment, and an EXIF with GPS."""
    buffer = io.BytesIO()
    _picture().save(buffer, "JPEG", exif=_gps_exif())
    thumbnail = buffer.getvalue()
    data = plain_jpeg()
    assert data[2:4] == b"\xff\xe0" and data[6:11] == b"JFIF\0"
    jfif_end = 4 + int.from_bytes(data[4:6], "big")
    jfif = data[11:jfif_end]  # version, units, densities, thumbnail size
    rgb = (GPS * 3)[: 3 * 3 * 3]  # a 3×3 RGB thumbnail made of the marker
    jfif_with_thumbnail = b"JFIF\0" + jfif[:7] + b"\x03\x03" + rgb
    return (
        b"\xff\xd8"
        + jpeg_segment(0xE0, jfif_with_thumbnail)
        + jpeg_segment(0xE0, b"JFXX\0\x10" + thumbnail)
        + jpeg_segment(0xE1, _gps_exif())  # tobytes() starts with "Exif\0\0"
        + jpeg_segment(0xF0, b"JPG0 " + GPS)
        + jpeg_segment(0xE3, b"APP3 " + GPS)
        + jpeg_segment(0xEE, b"Adobe\x00\x64\x00\x00\x00\x00\x01" + GPS)
        + data[jfif_end:]
    )


def comment_flood_jpeg(size: int) -> bytes:
    """A JPEG of nothing but `size` bytes of empty comment segments (4 bytes each)."""
    return b"\xff\xd8" + jpeg_segment(0xFE, b"") * (size // 4) + plain_jpeg()[2:]


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def plain_png() -> bytes:
    buffer = io.BytesIO()
    _picture().save(buffer, "PNG")
    return buffer.getvalue()


def png_with(*chunks: bytes) -> bytes:
    """A PNG with `chunks` put just before IEND."""
    data = plain_png()
    iend = data.rindex(b"IEND") - 4
    return data[:iend] + b"".join(chunks) + data[iend:]


def webp_chunk(kind: bytes, body: bytes) -> bytes:
    return kind + struct.pack("<I", len(body)) + body + b"\0" * (len(body) & 1)


def riff(chunks: bytes) -> bytes:
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WEBP" + chunks


def webp_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """The top-level chunks of a WebP file: (kind, body)."""
    out, i = [], 12
    while i + 8 <= len(data):
        kind = data[i : i + 4]
        (size,) = struct.unpack_from("<I", data, i + 4)
        out.append((kind, data[i + 8 : i + 8 + size]))
        i += 8 + size + (size & 1)
    return out


def webp_with_hidden_gps() -> bytes:
    """A WebP with EXIF and XMP, plus a lower-case `exif`, a `META` chunk and, inside an animation
    frame, an unknown sub-chunk, each holding the marker."""
    frames = [_picture(), Image.new("RGB", (48, 32), (200, 40, 40))]
    buffer = io.BytesIO()
    frames[0].save(buffer, "WEBP", save_all=True, append_images=frames[1:], exif=_gps_exif(), lossless=True)
    chunks = webp_chunks(buffer.getvalue())
    assert any(kind == b"ANMF" for kind, _ in chunks), [k for k, _ in chunks]
    rebuilt = b""
    for kind, body in chunks:
        if kind == b"ANMF":
            body = body + webp_chunk(b"GPSx", GPS)
        rebuilt += webp_chunk(kind, body)
    rebuilt += webp_chunk(b"XMP ", b"<x:xmpmeta>" + GPS + b"</x:xmpmeta>")
    rebuilt += webp_chunk(b"exif", GPS) + webp_chunk(b"META", GPS)
    return riff(rebuilt)
