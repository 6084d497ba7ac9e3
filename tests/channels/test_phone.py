"""Iranian mobile numbers in every spelling become E.164."""

from __future__ import annotations

import pytest

from channels.phone import PhoneError, canonical_mobile, local_form, masked, maybe_mobile

E164 = "+989121234567"


@pytest.mark.parametrize(
    "raw",
    [
        "09121234567",
        "9121234567",
        "989121234567",
        "+989121234567",
        "00989121234567",
        "۰۹۱۲۱۲۳۴۵۶۷",
        "٠٩١٢١٢٣٤٥٦٧",
        "+۹۸ ۹۱۲ ۱۲۳ ۴۵۶۷",
        "0912-123-4567",
        "(0912) 123 4567",
        "\u200e09121234567",
        "09۱۲1٢34567",
    ],
)
def test_every_spelling_becomes_e164(raw: str) -> None:
    assert canonical_mobile(raw) == E164


@pytest.mark.parametrize(
    "raw", ["", "02188776655", "0912123456", "091212345678", "+449121234567", "abc", "137"]
)
def test_non_mobiles_are_refused(raw: str) -> None:
    with pytest.raises(PhoneError):
        canonical_mobile(raw)
    assert maybe_mobile(raw) is None


def test_local_form_and_mask() -> None:
    assert local_form(E164) == "09121234567"
    assert masked(E164) == "+98912***4567" and "1234567" not in masked(E164)
