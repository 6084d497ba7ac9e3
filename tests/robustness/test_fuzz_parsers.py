"""Hostile input against every pure inbound parser: each either parses or refuses with BadPayload
(PhoneError for phone numbers). Any other exception is a bug that would become a 5xx.

Each parser gets `FUZZ_EXAMPLES` examples (10,000 by default; `SADA_FUZZ_EXAMPLES` changes it).
"""

from __future__ import annotations

import contextlib
import json
import os
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.intake.gateway import MAX_TEXT, clean_text
from bot.intake.intent import detect
from bot.models import InboundMessage
from channels.hotline import parse_record, split_batch
from channels.melipayamak import MelipayamakChannel
from channels.phone import PhoneError, canonical_mobile
from channels.sms import SmsFieldNames, parse_sms
from channels.telegram import TelegramChannel
from channels.webhook import BadPayload, decode_form, decode_json, pick

FUZZ_EXAMPLES = int(os.environ.get("SADA_FUZZ_EXAMPLES", "10000"))
FUZZ = settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    # In CI the examples are the same on every run, so a red build means a regression in our code, not
    # a new random draw; locally each run explores new inputs.
    derandomize=os.environ.get("CI", "").lower() in ("1", "true", "yes"),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
NOW = datetime(2026, 11, 22, 6, 30, tzinfo=UTC)

# Text that hurts: any code point (surrogates excluded: they cannot arrive in UTF-8), with control
# characters, direction marks, Persian/Arabic digits and zero-width joiners made likely.
NASTY = st.sampled_from(
    [
        "\x00",
        "\x1b",
        "\u200c",
        "\u200f",
        "\u202e",
        "\ufeff",
        "۰۹۱۲",
        "٠٩",
        "+98",
        "09121234567",
        "&",
        "=",
        "%",
        "\n",
    ]
)
TEXT = st.lists(st.characters(exclude_categories=["Cs"]) | NASTY, max_size=120).map("".join) | st.text(
    max_size=20
).map(lambda s: s * 500)
FIELD_NAMES = st.sampled_from(
    ["from", "sender", "to", "receptor", "message", "text", "body", "messageid", "id", "FROM", "Message"]
)
FIELDS = st.dictionaries(FIELD_NAMES | st.text(max_size=10), TEXT, max_size=8)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=6),
    max_leaves=20,
)
HOTLINE_KEYS = st.sampled_from(
    ["call_id", "caller", "started_at", "transcript", "operator_id", "asr_confidence", "district"]
)
HOTLINE_VALUES = (
    TEXT
    | st.sampled_from(["09121234567", "2026-11-22T10:02:11+03:30", "2026-11-22T10:02:11", "nan", ""])
    | st.floats(allow_nan=True)
    | st.integers()
    | st.booleans()
    | st.none()
    | JSON
)
HOTLINE_RECORDS = st.dictionaries(HOTLINE_KEYS, HOTLINE_VALUES, max_size=8) | JSON


@FUZZ
@given(fields=FIELDS)
def test_sms_fields_parse_or_are_refused(fields: dict[str, str]) -> None:
    for names in (SmsFieldNames(), MelipayamakChannel.names):
        try:
            message = parse_sms(fields, names, channel="sms", now=NOW)
        except BadPayload:
            continue
        assert message.address.startswith("+989") and len(message.address) == 13
        assert message.text.strip() and len(message.provider_message_id) <= 200


@FUZZ
@given(body=st.binary(max_size=2000) | TEXT.map(lambda s: s.encode("utf-8", "surrogatepass")))
def test_form_bodies_decode_or_are_refused(body: bytes) -> None:
    try:
        fields = decode_form(body)
    except BadPayload:
        return
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in fields.items())
    pick(fields, ("from", "sender"))


@FUZZ
@given(body=st.binary(max_size=2000) | JSON.map(lambda v: json.dumps(v).encode()) | TEXT.map(str.encode))
def test_json_bodies_decode_or_are_refused(body: bytes) -> None:
    try:
        decode_json(body)
    except BadPayload:
        return


@FUZZ
@given(record=HOTLINE_RECORDS)
def test_hotline_records_parse_or_are_refused(record: Any) -> None:
    try:
        message = parse_record(record, "hotline", review_below=0.6)
    except BadPayload:
        return
    assert message.received_at.tzinfo is not None
    assert message.address.startswith("+989")


@FUZZ
@given(
    body=st.binary(max_size=3000)
    | st.lists(HOTLINE_RECORDS, max_size=5).map(lambda rs: "\n".join(json.dumps(r) for r in rs).encode())
    | st.lists(HOTLINE_RECORDS, max_size=5).map(lambda rs: json.dumps(rs).encode())
)
def test_hotline_batches_split_or_are_refused(body: bytes) -> None:
    try:
        items = split_batch(body)
    except BadPayload:
        return
    for item in items:
        if isinstance(item, BadPayload):
            continue
        with contextlib.suppress(BadPayload):
            parse_record(item, "hotline", review_below=0.6)


_TELEGRAM = TelegramChannel("tg", token="123456789:AAfuzz-token-abcdefghijklmnop", secret=None)  # noqa: S106

USER = st.fixed_dictionaries(
    {"id": st.integers(), "is_bot": st.booleans(), "first_name": TEXT},
    optional={"last_name": TEXT | JSON, "username": TEXT},
)
CHAT = st.fixed_dictionaries(
    {"id": st.integers(), "type": st.sampled_from(["private", "group", "supergroup", "channel"]) | TEXT}
)
MESSAGE = st.fixed_dictionaries(
    {"message_id": st.integers() | TEXT, "date": st.integers() | TEXT, "chat": CHAT | JSON},
    optional={
        "from": USER | JSON,
        "text": TEXT | JSON,
        "caption": TEXT,
        "contact": st.fixed_dictionaries(
            {"phone_number": TEXT | st.just("+989121234567"), "first_name": TEXT},
            optional={"user_id": st.integers()},
        )
        | JSON,
        "location": st.fixed_dictionaries({"latitude": st.floats(), "longitude": st.floats()}) | JSON,
        "photo": st.lists(
            st.fixed_dictionaries(
                {"file_id": TEXT, "file_unique_id": TEXT, "width": st.integers(), "height": st.integers()}
            ),
            max_size=3,
        )
        | JSON,
    },
)
UPDATE = (
    st.fixed_dictionaries(
        {"update_id": st.integers()},
        optional={
            "message": MESSAGE | JSON,
            "callback_query": st.fixed_dictionaries(
                {"id": TEXT, "from": USER, "chat_instance": TEXT}, optional={"data": TEXT, "message": MESSAGE}
            )
            | JSON,
        },
    )
    | JSON
)


@FUZZ
@given(update=UPDATE)
def test_telegram_updates_parse_or_are_refused(update: Any) -> None:
    try:
        message = _TELEGRAM.parse(update)
    except BadPayload:
        return
    assert message is None or isinstance(message, InboundMessage)


@FUZZ
@given(raw=TEXT)
def test_phone_numbers_normalise_or_are_refused(raw: str) -> None:
    try:
        e164 = canonical_mobile(raw)
    except PhoneError:
        return
    assert e164.startswith("+989") and len(e164) == 13 and e164[1:].isdigit()


@FUZZ
@given(text=TEXT, button=st.none() | TEXT, survey_open=st.booleans())
def test_gateway_text_handling_never_raises(text: str, button: str | None, survey_open: bool) -> None:
    cleaned = clean_text(text)
    assert len(cleaned) <= MAX_TEXT
    assert not any(ch in cleaned for ch in "\x00\x07\x1b\x7f")
    intent = detect(cleaned, button=button, survey_open=survey_open, min_request_letters=6)
    assert intent.kind is not None
