"""Every panel route, every role: the server decides, whatever the browser shows or hides."""

from __future__ import annotations

from typing import Any

import pytest

from tests.panel.conftest import POTHOLE, RUBBISH, Site

ROLES = ("olga", "wasim", "cyrus", "mina", "adam")  # operator, waste staff, civil staff, manager, admin

# (method, path, form for an allowed user, expected status per user in ROLES order).
# `{own}` is a waste ticket: Wasim's department, not Cyrus's. Allowed POSTs send deliberately
# invalid input, so they answer 400 (or 404 for a missing id) and change nothing.
MATRIX: list[tuple[str, str, dict[str, str], tuple[int, ...]]] = [
    ("GET", "/panel/", {}, (303, 303, 303, 303, 303)),
    ("GET", "/panel/triage", {}, (200, 403, 403, 200, 403)),
    ("GET", "/panel/tickets", {}, (200, 200, 200, 200, 403)),
    ("GET", "/panel/tickets/{own}", {}, (200, 200, 404, 200, 404)),
    ("GET", "/panel/tickets/{other}", {}, (200, 404, 200, 200, 404)),
    ("POST", "/panel/tickets/{own}/reclassify", {"category": "nope"}, (400, 403, 404, 403, 404)),
    ("POST", "/panel/tickets/{own}/reassign", {"department": "nope"}, (400, 403, 404, 403, 404)),
    ("POST", "/panel/tickets/{own}/status", {"to": "nope"}, (400, 400, 404, 403, 404)),
    ("POST", "/panel/tickets/{own}/merge", {"into": "123"}, (400, 403, 404, 403, 404)),
    ("POST", "/panel/tickets/{own}/note", {"note": " "}, (400, 400, 404, 403, 404)),
    ("POST", "/panel/tickets/{other}/note", {"note": " "}, (400, 404, 400, 403, 404)),
    ("GET", "/panel/canned", {}, (200, 403, 403, 403, 200)),
    ("POST", "/panel/canned", {"text": ""}, (400, 403, 403, 403, 400)),
    ("POST", "/panel/canned/999999/delete", {}, (404, 403, 403, 403, 404)),
    ("GET", "/panel/users", {}, (403, 403, 403, 403, 200)),
    ("GET", "/panel/model", {}, (403, 403, 403, 200, 200)),
    ("POST", "/panel/users", {"username": "X!"}, (403, 403, 403, 403, 400)),
    ("POST", "/panel/users/nobody", {"active": "0"}, (403, 403, 403, 403, 404)),
]


async def _tickets(site: Site) -> dict[str, str]:
    return {"own": await site.say("tg:1", RUBBISH), "other": await site.say("tg:2", POTHOLE)}


async def test_every_route_is_authorised_per_role(site: Site, clients: Any) -> None:
    codes = await _tickets(site)
    assert (await site.ticket(codes["own"])).department == "waste"
    assert (await site.ticket(codes["other"])).department == "civil_works"
    before = {name: await site.event_count(code) for name, code in codes.items()}
    users = {name: await clients(name) for name in ROLES}
    failures = []
    for method, template, form, expected in MATRIX:
        path = template.format(**codes)
        for name, status in zip(ROLES, expected, strict=True):
            client = users[name]
            response = await (client.get(path) if method == "GET" else client.post(path, form))
            if response.status != status:
                failures.append(f"{name} {method} {path}: {response.status} != {status}")
    assert not failures, "\n".join(failures)
    # Nobody changed anything: refused and invalid requests leave the tickets as they were.
    assert {name: await site.event_count(code) for name, code in codes.items()} == before
    assert len(site.chat.sent) == 2


async def test_anonymous_requests_go_to_login_and_change_nothing(site: Site, clients: Any) -> None:
    codes = await _tickets(site)
    anonymous = await clients()
    for method, template, form, _ in MATRIX:
        path = template.format(**codes)
        response = await (anonymous.get(path) if method == "GET" else anonymous.post(path, form))
        assert response.status == 303, path
        assert response.headers["Location"].startswith("/panel/login?next="), path
    response = await anonymous.post(f"/panel/tickets/{codes['own']}/status", {"to": "in_progress"})
    assert response.status == 303
    assert (await site.ticket(codes["own"])).status == "referred"


async def test_login_page_and_static_files_are_public(site: Site, clients: Any) -> None:
    anonymous = await clients()
    assert (await anonymous.get("/panel/login")).status == 200
    css = await anonymous.get("/panel/static/panel.css")
    assert css.status == 200 and css.content_type == "text/css"
    assert ":root" in await css.text()


@pytest.mark.parametrize(
    ("path", "form"),
    [
        ("/panel/tickets/{own}/status", {"to": "in_progress"}),
        ("/panel/tickets/{own}/note", {"note": "یادداشت"}),
        ("/panel/tickets/{own}/reclassify", {"category": "street_cleaning", "reason": "x"}),
        ("/panel/canned", {"status": "resolved", "text": "متن"}),
        ("/panel/logout", {}),
    ],
)
async def test_posts_without_or_with_a_wrong_csrf_token_are_refused(
    site: Site, clients: Any, path: str, form: dict[str, str]
) -> None:
    codes = await _tickets(site)
    operator = await clients("olga")
    before = await site.event_count(codes["own"])
    target = path.format(**codes)
    missing = await operator.post(target, form, csrf=False)
    wrong = await operator.post(target, {**form, "csrf": "not-the-token"}, csrf=False)
    assert missing.status == 403 and wrong.status == 403
    assert "اجازهٔ این کار را ندارید" in await missing.text()
    assert await site.event_count(codes["own"]) == before
    # The session survived (logout without a token did not log out) and the token still works.
    assert (await operator.get("/panel/tickets")).status == 200


async def test_a_staff_token_does_not_open_another_departments_ticket(site: Site, clients: Any) -> None:
    codes = await _tickets(site)
    cyrus = await clients("cyrus")
    response = await cyrus.post(f"/panel/tickets/{codes['own']}/status", {"to": "in_progress"})
    assert response.status == 404
    listing = await (await cyrus.get(f"/panel/tickets?q={codes['own']}")).text()
    assert "درخواستی با این شرایط پیدا نشد" in listing
    assert (await site.ticket(codes["own"])).status == "referred"


async def test_security_headers_and_cookie_flags(site: Site, clients: Any) -> None:
    client = await clients()
    page = await client.get("/panel/login")
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Cache-Control"] == "no-store"
    response = await client.login("olga")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/panel" in cookie
    assert "Secure" not in cookie  # cookie_secure is off by default (plain HTTP on 127.0.0.1)
    # Webhooks and the health check are not the panel's: no panel headers there.
    health = await client.http.get(site.url + "/healthz")
    assert "Content-Security-Policy" not in health.headers
