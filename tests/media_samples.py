"""Real files for the media tests, made here: a JPEG photo (Pillow) and an Ogg/Opus voice note
(built page by page: Opus silence frames, as Telegram's voice notes are Ogg/Opus)."""

from __future__ import annotations

import io
import struct

from PIL import Image

OPUS_SILENCE = b"\xf8\xff\xfe"  # one 20 ms CELT frame of silence (mono, 48 kHz)
PRE_SKIP = 312


def jpeg(width: int = 64, height: int = 48, colour: tuple[int, int, int] = (200, 60, 40)) -> bytes:
    """A small JPEG photo."""
    buffer = io.BytesIO()
    image = Image.new("RGB", (width, height), colour)
    for x in range(width):  # a diagonal stripe, so it is not one flat colour
        image.putpixel((x, min(height - 1, x * height // width)), (255, 255, 255))
    image.save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


def png(width: int = 8, height: int = 8) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (0, 120, 200)).save(buffer, "PNG")
    return buffer.getvalue()


def _crc(data: bytes) -> int:
    """Ogg's CRC-32 (polynomial 0x04C11DB7, not reflected, initial 0)."""
    crc = 0
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
            crc &= 0xFFFFFFFF
    return crc


def _page(packets: list[bytes], *, granule: int, sequence: int, flags: int) -> bytes:
    lacing = bytearray()
    for packet in packets:
        lacing += b"\xff" * (len(packet) // 255) + bytes([len(packet) % 255])
    header = struct.pack("<4sBBqIIIB", b"OggS", 0, flags, granule, 0x5ADA, sequence, 0, len(lacing))
    page = bytearray(header + bytes(lacing) + b"".join(packets))
    page[22:26] = struct.pack("<I", _crc(bytes(page)))
    return bytes(page)


def ogg_opus(seconds: float = 1.0) -> bytes:
    """A mono Ogg/Opus file of silence lasting `seconds`."""
    head = b"OpusHead" + struct.pack("<BBHIhB", 1, 1, PRE_SKIP, 48000, 0, 0)
    vendor = b"sada-tests"
    tags = b"OpusTags" + struct.pack("<I", len(vendor)) + vendor + struct.pack("<I", 0)
    frames = max(1, round(seconds * 50))
    out = [_page([head], granule=0, sequence=0, flags=0x02), _page([tags], granule=0, sequence=1, flags=0)]
    sequence, done = 2, 0
    while done < frames:
        count = min(50, frames - done)
        done += count
        flags = 0x04 if done == frames else 0
        out.append(
            _page([OPUS_SILENCE] * count, granule=PRE_SKIP + done * 960, sequence=sequence, flags=flags)
        )
        sequence += 1
    return b"".join(out)
