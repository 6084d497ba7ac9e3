"""Citizens and their identities (one citizen, many channel addresses).

Identities are linked by phone number: a new address that is (or comes with) a phone number a
citizen already gave us joins that citizen, so a hotline caller who answers by SMS, or a Telegram
user who shared their number and later texts in, is recognised as the same person.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Identity
from storage.inserts import insert_returning_ids, insert_rows_ignoring_conflict
from storage.tables import CitizenRow, IdentityRow

AddressKey = tuple[str, str]  # (channel, address)


@dataclass(frozen=True, slots=True)
class Caller:
    """Who sent one message, as identity lookup needs it."""

    channel: str
    address: str
    display_name: str | None = None
    phone: str | None = None

    @property
    def key(self) -> AddressKey:
        return (self.channel, self.address)

    @property
    def known_phone(self) -> str | None:
        return self.phone or (self.address if _is_phone(self.address) else None)


def _is_phone(address: str) -> bool:
    """Whether an address is an E.164 Iranian mobile number (what SMS and hotline channels use)."""
    return len(address) == 13 and address.startswith("+989") and address[1:].isdigit()


# Built once: a statement object reused with new values skips building and cache-keying it again
# (the intake path runs it for every group).
_IDENTITIES = (
    select(
        IdentityRow.id, IdentityRow.citizen_id, IdentityRow.address, CitizenRow.display_name, CitizenRow.phone
    )
    .join(CitizenRow, CitizenRow.id == IdentityRow.citizen_id)
    .where(
        IdentityRow.channel == bindparam("channel"),
        IdentityRow.address.in_(bindparam("addresses", expanding=True)),
    )
)

_BY_PHONE = (
    select(CitizenRow.phone, func.min(CitizenRow.id))
    .where(CitizenRow.phone.in_(bindparam("phones", expanding=True)))
    .group_by(CitizenRow.phone)
)


def _identity(row: IdentityRow) -> Identity:
    return Identity(id=row.id, citizen_id=row.citizen_id, channel=row.channel, address=row.address)


class CitizenRepository:
    """Finds or creates the citizen behind a channel address."""

    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def identity_for(
        self,
        channel: str,
        address: str,
        *,
        at: datetime,
        display_name: str | None = None,
        phone: str | None = None,
    ) -> Identity:
        """The identity for (channel, address), created with a new citizen the first time."""
        caller = Caller(channel, address, display_name=display_name, phone=phone)
        return (await self.identities_for([caller], at=at))[caller.key]

    async def identities_for(self, callers: Sequence[Caller], *, at: datetime) -> dict[AddressKey, Identity]:
        """`identity_for` for many senders at once, in a fixed number of statements.

        New addresses join the citizen who already gave their phone number, or a new citizen
        (one per phone number, so two new addresses with the same number in one batch are one
        person). Keys are handled in sorted order, so concurrent batches on PostgreSQL take row
        locks in the same order and cannot deadlock each other."""
        first: dict[AddressKey, Caller] = {}
        for caller in callers:
            first.setdefault(caller.key, caller)
        keys = sorted(first)
        known: dict[AddressKey, tuple[str | None, str | None]] = {}
        found = await self._identities(keys, known)
        # What changed of known senders (a phone shared, a changed Telegram name): one UPDATE for
        # the whole batch, and none at all when every phone and name is the one we have (an SMS
        # sender's phone is their address: sent again with every message).
        shared: dict[int, str] = {}
        renamed: dict[int, str] = {}
        for key in keys:
            if key not in found:
                continue
            caller, (name, phone) = first[key], known[key]
            citizen_id = found[key].citizen_id
            if caller.phone and (caller.phone != phone or citizen_id in shared):
                shared[citizen_id] = caller.phone
            if caller.display_name and caller.display_name != name:
                renamed[citizen_id] = caller.display_name
        if shared or renamed:
            values: dict[str, Any] = {}
            if shared:
                values["phone"] = case(shared, value=CitizenRow.id, else_=CitizenRow.phone)
            if renamed:
                values["display_name"] = case(renamed, value=CitizenRow.id, else_=CitizenRow.display_name)
            changed = sorted(shared.keys() | renamed.keys())
            await self._s.execute(update(CitizenRow).where(CitizenRow.id.in_(changed)).values(**values))
        missing = [first[k] for k in keys if k not in found]
        if not missing:
            return found
        phones = sorted({p for c in missing if (p := c.known_phone)})
        by_phone: dict[str, int] = {}
        if phones:
            rows = await self._s.execute(_BY_PHONE, {"phones": phones})
            by_phone = {phone: citizen_id for phone, citizen_id in rows if phone}
        creating: list[Caller] = []  # one new citizen each
        created_phones: set[str] = set()
        for caller in missing:
            phone = caller.known_phone
            if phone is None or (phone not in by_phone and phone not in created_phones):
                creating.append(caller)
                if phone is not None:
                    created_phones.add(phone)
        if creating:
            new_ids = await insert_returning_ids(
                self._s,
                CitizenRow,
                [
                    {"display_name": c.display_name, "phone": c.known_phone, "created_at": at}
                    for c in creating
                ],
            )
            for caller, citizen_id in zip(creating, new_ids, strict=True):
                if caller.known_phone:
                    by_phone[caller.known_phone] = citizen_id
            own = {c.key: citizen_id for c, citizen_id in zip(creating, new_ids, strict=True)}
        else:
            own = {}
        inserted = await self._s.execute(
            insert_rows_ignoring_conflict(
                self._s, IdentityRow, ["channel", "address"], ("id", "citizen_id", "channel", "address")
            ),
            [
                {
                    "citizen_id": own.get(c.key) or by_phone[c.known_phone or ""],
                    "channel": c.channel,
                    "address": c.address,
                    "unreachable": False,
                    "created_at": at,
                }
                for c in missing
            ],
        )
        for identity_id, citizen_id, channel, address in inserted:
            found[(channel, address)] = Identity(
                id=identity_id, citizen_id=citizen_id, channel=channel, address=address
            )
        # One inserted meanwhile by another writer (PostgreSQL) was not inserted here: read it.
        if late := [c.key for c in missing if c.key not in found]:
            found.update(await self._identities(late))
        return found

    async def _identities(
        self,
        keys: Sequence[AddressKey],
        known: dict[AddressKey, tuple[str | None, str | None]] | None = None,
    ) -> dict[AddressKey, Identity]:
        """The identities of these addresses that exist; `known` (when given) gets each one's
        citizen's (display name, phone), read in the same query."""
        by_channel: dict[str, list[str]] = {}
        for channel, address in keys:
            by_channel.setdefault(channel, []).append(address)
        found: dict[AddressKey, Identity] = {}
        for channel, addresses in by_channel.items():
            rows = await self._s.execute(_IDENTITIES, {"channel": channel, "addresses": addresses})
            for identity_id, citizen_id, address, name, phone in rows:
                found[(channel, address)] = Identity(
                    id=identity_id, citizen_id=citizen_id, channel=channel, address=address
                )
                if known is not None:
                    known[(channel, address)] = (name, phone)
        return found

    async def identity_ids(self, citizen_id: int) -> list[int]:
        """Every identity of one citizen, oldest first."""
        rows = await self._s.scalars(
            select(IdentityRow.id).where(IdentityRow.citizen_id == citizen_id).order_by(IdentityRow.id)
        )
        return list(rows)

    async def sms_fallbacks(self, channel: str, addresses: Collection[str]) -> dict[str, str]:
        """address → phone, for addresses on `channel` marked unreachable whose citizen gave a phone."""
        if not addresses:
            return {}
        rows = await self._s.execute(
            select(IdentityRow.address, CitizenRow.phone)
            .join(CitizenRow, CitizenRow.id == IdentityRow.citizen_id)
            .where(
                IdentityRow.channel == channel,
                IdentityRow.address.in_(list(addresses)),
                IdentityRow.unreachable.is_(True),
                CitizenRow.phone.is_not(None),
            )
        )
        return {address: phone for address, phone in rows if phone}

    async def phone_at(self, channel: str, address: str) -> str | None:
        """The phone number of the citizen behind (channel, address), if they gave one."""
        return await self._s.scalar(
            select(CitizenRow.phone)
            .join(IdentityRow, IdentityRow.citizen_id == CitizenRow.id)
            .where(IdentityRow.channel == channel, IdentityRow.address == address)
        )

    async def set_phone(self, citizen_id: int, phone: str) -> None:
        """Remember a phone number the citizen shared (for SMS fallback)."""
        await self._s.execute(update(CitizenRow).where(CitizenRow.id == citizen_id).values(phone=phone))

    async def display_names(self, citizen_ids: Collection[int]) -> dict[int, str]:
        """citizen id → the name they go by on their channel (e.g. their Telegram name), for those
        who sent one (one query)."""
        if not citizen_ids:
            return {}
        rows = await self._s.execute(
            select(CitizenRow.id, CitizenRow.display_name).where(
                CitizenRow.id.in_(sorted(set(citizen_ids))), CitizenRow.display_name.is_not(None)
            )
        )
        return {citizen_id: name for citizen_id, name in rows if name}

    async def phone_of(self, citizen_id: int) -> str | None:
        """The citizen's phone number, if known."""
        return await self._s.scalar(select(CitizenRow.phone).where(CitizenRow.id == citizen_id))

    async def get_identity(self, identity_id: int) -> Identity | None:
        """One identity by id."""
        row = await self._s.get(IdentityRow, identity_id)
        return None if row is None else _identity(row)

    async def mark_unreachable(self, channel: str, address: str) -> None:
        """The provider says we cannot write to this address any more."""
        await self._s.execute(
            update(IdentityRow)
            .where(IdentityRow.channel == channel, IdentityRow.address == address)
            .values(unreachable=True)
        )
