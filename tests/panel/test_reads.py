"""Panel pages, reports and the public figures read through Store.read(): they answer while intake
holds the write transaction open (on SQLite they used to queue behind it, and hold it up)."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.panel.conftest import Site

PAGES = (
    "/panel/tickets",
    "/panel/triage",
    "/panel/reports",
    "/panel/reports.csv",
    "/panel/needs",
    "/panel/digest",
)


async def test_pages_answer_while_intake_holds_the_write_lock(site: Site, clients: Any) -> None:
    code = await site.say("100", "سلام، چراغ های کوچه ما سه شبه خاموشه و کوچه تاریکه")
    mina = await clients("mina")
    holding, release = asyncio.Event(), asyncio.Event()

    async def intake() -> None:
        async with site.sada.store.transaction():
            holding.set()
            await release.wait()

    task = asyncio.create_task(intake())
    await asyncio.wait_for(holding.wait(), 5)
    try:
        for path in (*PAGES, f"/panel/tickets/{code}"):
            response = await asyncio.wait_for(mina.get(path), 5)
            assert response.status == 200, path
            if path == "/panel/tickets":
                assert code in await response.text()
        public = await clients()
        response = await asyncio.wait_for(public.get("/public/stats.json"), 5)
        assert response.status == 200
    finally:
        release.set()
        await task
