"""Password hashing with scrypt from the standard library (memory-hard, salted, self-describing).

Stored form: `scrypt$<n>$<r>$<p>$<salt b64>$<key b64>`, so the cost can rise later without
invalidating existing hashes. Hashing takes tens of milliseconds, so the async helpers run it in
a worker thread instead of blocking the event loop.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets

N, R, P, KEY_BYTES = 2**14, 8, 1, 32
_MAXMEM = 64 * 1024 * 1024
# Verified against when the username is unknown, so a miss costs as long as a hit.
_DUMMY = "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$" + base64.b64encode(bytes(KEY_BYTES)).decode()


def _derive(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=KEY_BYTES, maxmem=_MAXMEM)


def hash_password(password: str) -> str:
    """A new salted scrypt hash of `password`."""
    salt = secrets.token_bytes(16)
    key = _derive(password, salt, N, R, P)
    return f"scrypt${N}${R}${P}${base64.b64encode(salt).decode()}${base64.b64encode(key).decode()}"


def verify_password(password: str, stored: str | None) -> bool:
    """Whether `password` matches `stored` (constant time; a malformed or missing hash never matches)."""
    parts = (stored or _DUMMY).split("$")
    try:
        scheme, n, r, p, salt, key = parts
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(key)
        actual = _derive(password, base64.b64decode(salt), int(n), int(r), int(p))
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected) and stored is not None


async def hash_password_async(password: str) -> str:
    """`hash_password` off the event loop."""
    return await asyncio.to_thread(hash_password, password)


async def verify_password_async(password: str, stored: str | None) -> bool:
    """`verify_password` off the event loop."""
    return await asyncio.to_thread(verify_password, password, stored)
