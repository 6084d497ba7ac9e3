"""Places: address phrases, explicit districts and gazetteer matching (Tehran sample)."""

from __future__ import annotations

from pathlib import Path

import pytest

from nlp.places import Gazetteer, explicit_district, extract_phrases


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return Gazetteer.load()


@pytest.mark.parametrize(
    ("text", "place", "district"),
    [
        ("زباله ها جمع نشده خ ولیعصر نبش کوچه ۱۲", "ولیعصر", "6"),
        ("سلام میدان ونك چراغ ها خاموشه", "ونک", "3"),  # Arabic kaf
        ("چاله بزرگ در بزرگراه رسالت روبروی پمپ بنزین", "رسالت", "4"),
        ("تو سعادت‌آباد سگ ولگرد زیاده", "سعادت آباد", "2"),  # no marker, distinctive name
        ("خیابان ستار خان کوچه ۵ آب گرفته", "ستارخان", "2"),  # split name, fuzzy
        ("khiaban valiasr koche 5 ashghal", "ولیعصر", "6"),  # Finglish
        ("میدان امام خمینی شلوغه", "میدان امام خمینی", "12"),  # longer name beats «امام»
        ("خيابان فاطمي پلاك ٢٣", "فاطمی", "6"),  # Arabic letters and digits
        ("جلوی بیمارستان امام خمینی سد معبر", "بیمارستان امام خمینی", "6"),
        ("منطقه ۱۵ خیابان ولیعصر", "ولیعصر", "15"),  # the citizen's district wins
    ],
)
def test_locate(gazetteer: Gazetteer, text: str, place: str, district: str) -> None:
    location = gazetteer.locate(text)
    assert location is not None
    assert (location.place, location.district) == (place, district)
    assert location.score >= 85


def test_unknown_alley_keeps_address_text(gazetteer: Gazetteer) -> None:
    location = gazetteer.locate("منطقه ۶ ناحیه ۲ کوچه شهید احمدی آشغال زیاده")
    assert location is not None
    assert location.place is None
    assert (location.district, location.subdistrict) == ("6", "2")
    assert "کوچه شهید احمدی" in location.text


@pytest.mark.parametrize(
    "text",
    [
        "آشغالا رو نبردن",
        "لطفا رسیدگی کنید",
        "",
        # a street word followed by a verb or a pronoun names no street
        "آب از کوچه میاد بیرون",
        "صدای موتور تا نصف شب از کوچه میاد",
        "کوچه ما آب گرفته",
        "کوچه می‌آید پایین",
    ],
)
def test_no_location(gazetteer: Gazetteer, text: str) -> None:
    assert gazetteer.locate(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("منطقه ۶", ("6", None)),
        ("منطقه شیش ناحیه دو", ("6", "2")),
        ("ناحیه 3 منطقه 12", ("12", "3")),
        ("منطقه آزاد", (None, None)),
    ],
)
def test_explicit_district(text: str, expected: tuple[str | None, str | None]) -> None:
    assert explicit_district(text) == expected


def test_phrases_stop_at_numbers_and_markers() -> None:
    phrases = [p.text for p in extract_phrases("خ ولیعصر نبش کوچه ۱۲ زباله ها")]
    assert phrases == ["خ ولیعصر", "کوچه 12"]


def test_gazetteer_from_file(tmp_path: Path) -> None:
    path = tmp_path / "g.toml"
    place = '{ name = "زند", kind = "boulevard", district = 1, aliases = ["zand"] }'
    path.write_text(f'city = "Shiraz"\nplaces = [{place}]\n', encoding="utf-8")
    gazetteer = Gazetteer.load(path)
    location = gazetteer.locate("بلوار زند چراغ راهنما خرابه")
    assert gazetteer.city == "Shiraz"
    assert location is not None and (location.place, location.district) == ("زند", "1")


@pytest.mark.parametrize("text", ["تو قلهک؛ همه جا چاله هست", "محله قلهک، همه جا چاله", "(قلهک) پر از چاله"])
def test_a_bare_neighbourhood_is_found_with_punctuation_stuck_to_it(gazetteer: Gazetteer, text: str) -> None:
    found = gazetteer.locate(text)
    assert found is not None and found.place == "قلهک" and found.district == "3"
