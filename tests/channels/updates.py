"""Canned Bot API updates (Telegram and Bale send the same shapes), redacted real-world examples."""

from __future__ import annotations

from typing import Any

DATE = 1795336200  # 2026-11-22 06:30 UTC


def user(uid: int = 42) -> dict[str, Any]:
    return {"id": uid, "is_bot": False, "first_name": "مریم", "last_name": "احمدی", "language_code": "fa"}


def chat(cid: int = 42, kind: str = "private") -> dict[str, Any]:
    return (
        {"id": cid, "type": kind, "first_name": "مریم"}
        if kind == "private"
        else {"id": cid, "type": kind, "title": "گروه"}
    )


def message(update_id: int, message_id: int, **content: Any) -> dict[str, Any]:
    uid = content.pop("uid", 42)
    kind = content.pop("chat_type", "private")
    body = {"message_id": message_id, "from": user(uid), "chat": chat(uid, kind), "date": DATE, **content}
    return {"update_id": update_id, "message": body}


def text(update_id: int, message_id: int, value: str, uid: int = 42) -> dict[str, Any]:
    return message(update_id, message_id, text=value, uid=uid)


def start(update_id: int = 1, uid: int = 42) -> dict[str, Any]:
    return message(
        update_id, 1, text="/start", entities=[{"type": "bot_command", "offset": 0, "length": 6}], uid=uid
    )


def contact(update_id: int, phone: str, uid: int = 42, owner: int | None = 42) -> dict[str, Any]:
    card: dict[str, Any] = {"phone_number": phone, "first_name": "مریم"}
    if owner is not None:
        card["user_id"] = owner
    return message(update_id, 50 + update_id, contact=card, uid=uid)


def location(update_id: int, lat: float = 35.7, lon: float = 51.4) -> dict[str, Any]:
    return message(update_id, 60 + update_id, location={"latitude": lat, "longitude": lon})


def photo(update_id: int, caption: str | None) -> dict[str, Any]:
    sizes = [
        {"file_id": "small-id", "file_unique_id": "s", "width": 90, "height": 90},
        {"file_id": "large-file-id", "file_unique_id": "l", "width": 1280, "height": 960},
    ]
    content: dict[str, Any] = {"photo": sizes}
    if caption is not None:
        content["caption"] = caption
    return message(update_id, 70 + update_id, **content)


def callback(update_id: int, data: str, uid: int = 42) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "callback_query": {
            "id": f"cbq-{update_id}",
            "from": user(uid),
            "chat_instance": "ci-1",
            "data": data,
            "message": {"message_id": 9, "date": DATE, "chat": chat(uid), "text": "؟"},
        },
    }
