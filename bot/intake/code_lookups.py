"""Tracking-code guessing limit: lookups that miss are counted per sender and for the whole city.

A status reply names a ticket's status, department and dates, so whoever guesses a code learns
about a stranger's report; the flood limit (bot/intake/flood.py, 20 messages a minute per sender) does
not stop someone with many chats or SIM cards. `CodeLookups` counts *misses* — a code with a
wrong check digit, or one no ticket has — in two sliding windows: the sender's
(`max_misses_per_sender` in `sender_window_seconds`, 5 in 10 minutes: a citizen makes a typo or
two, not five) and the city's (`max_misses` in `window_seconds`, 30 a minute: every sender's).
While either is full, the gateway refuses lookups of codes that are not the asker's own (one they
or another identity of theirs reported) with the "try later or call 137" reply; the citizen's
own tickets are always answered, so a flood of guesses cannot lock citizens out of their own
reports, only delay relatives asking for someone else's. A code with a wrong check digit is still
answered "not found": that needs no lookup and says nothing the code itself does not (the Damm
check is public), but it counts, since it is a guess.

A sender over its own limit spends no more of the city's budget: its misses count in its window
only, so a few numbers hammering away cannot close lookups for everyone (closing them takes at
least `max_misses / max_misses_per_sender` senders). The first refusal of an episode returns a
`Trip` for the gateway to record in `abuse_events` (kinds "code_guessing" for the city,
"code_guessing_sender" for one sender); an episode ends after a whole window without refusals.

Counting is in memory, per process, like the flood limit: with N `sada serve` processes the
budgets are N times these. Each message counts once however often it is processed (a group
commit that failed is redone message by message; a provider retries what got a 503), and the
message that opened an episode returns its `Trip` again when redone, so the abuse row is not lost
with a rolled-back savepoint. Everything here is synchronous and O(limit) per call: it runs
inside the intake transaction.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.dates.clock import Clock
from bot.toml_reader import Table

CITY_GUESSING = "code_guessing"
SENDER_GUESSING = "code_guessing_sender"

Sender = tuple[str, str]  # (channel, address)
Delivery = tuple[str, str]  # (channel, provider message id): one message, however often processed


@dataclass(frozen=True, slots=True)
class CodeLookupSettings:
    """`[code_lookups]`: how many tracking-code lookups may miss, in the whole city and per sender."""

    max_misses: int = 30
    window_seconds: int = 60
    max_misses_per_sender: int = 5
    sender_window_seconds: int = 600


def code_lookup_settings(t: Table) -> CodeLookupSettings:
    """Read `[code_lookups]` (every key optional)."""
    s = CodeLookupSettings(
        max_misses=t.int("max_misses", 30, minimum=1),
        window_seconds=t.int("window_seconds", 60, minimum=1, maximum=86_400),
        max_misses_per_sender=t.int("max_misses_per_sender", 5, minimum=1),
        sender_window_seconds=t.int("sender_window_seconds", 600, minimum=1, maximum=86_400),
    )
    t.check_unknown()
    return s


@dataclass(frozen=True, slots=True)
class Trip:
    """The refusal that opened an episode: what to record in `abuse_events`."""

    kind: str
    count: int  # the attempt that was refused: one more than the limit
    window_seconds: int


class _Window:
    """The latest misses (at most `limit`) and the refusals they caused, for one sender or the city."""

    def __init__(self, limit: int, seconds: int) -> None:
        self.limit = limit
        self.seconds = seconds
        self.span = timedelta(seconds=seconds)
        self.misses: deque[tuple[datetime, Delivery]] = deque(maxlen=limit)
        self.refused_at: datetime | None = None
        self.tripped_by: Delivery | None = None

    def full(self, now: datetime) -> bool:
        """Whether `limit` misses fall within the last window."""
        return len(self.misses) == self.limit and now - self.misses[0][0] < self.span

    def count(self, now: datetime, delivery: Delivery) -> None:
        if all(d != delivery for _, d in self.misses):
            self.misses.append((now, delivery))

    def refuse(self, now: datetime, delivery: Delivery, kind: str) -> Trip | None:
        opens = self.refused_at is None or now - self.refused_at >= self.span
        self.refused_at = now
        if opens:
            self.tripped_by = delivery
        elif delivery != self.tripped_by:
            return None
        return Trip(kind, self.limit + 1, self.seconds)

    def idle(self, now: datetime) -> bool:
        """Nothing in it that still matters: no miss and no refusal within the last window."""
        times = [self.misses[-1][0]] if self.misses else []
        if self.refused_at is not None:
            times.append(self.refused_at)
        return not times or now - max(times) >= self.span


class CodeLookups:
    """Counts missed code lookups per sender and for the city; says when lookups are closed."""

    def __init__(self, settings: CodeLookupSettings, clock: Clock) -> None:
        self._settings = settings
        self._clock = clock
        self._city = _Window(settings.max_misses, settings.window_seconds)
        # Least recently active first: the front is where idle senders are (see bot/intake/flood.py).
        self._senders: OrderedDict[Sender, _Window] = OrderedDict()

    def closed(self, sender: Sender) -> str | None:
        """The limit (its abuse kind) refusing this sender's lookups of codes not their own, if any."""
        now = self._clock.now()
        self._forget_idle(now)
        mine = self._senders.get(sender)
        if mine is not None and mine.full(now):
            return SENDER_GUESSING
        return CITY_GUESSING if self._city.full(now) else None

    def missed(self, sender: Sender, delivery: Delivery) -> None:
        """Count a lookup that found nothing, or a code whose check digit is wrong."""
        now = self._clock.now()
        mine = self._window_of(sender)
        if not mine.full(now):  # over its own limit, a sender spends no more of the city's budget
            self._city.count(now, delivery)
        mine.count(now, delivery)

    def refused(self, sender: Sender, delivery: Delivery, kind: str) -> Trip | None:
        """Note a refusal by limit `kind`; the `Trip` to record when it opens an episode (or is the
        message that opened it, processed again after a rollback)."""
        window = self._city if kind == CITY_GUESSING else self._window_of(sender)
        return window.refuse(self._clock.now(), delivery, kind)

    @property
    def tracked(self) -> int:
        """How many senders are being counted."""
        return len(self._senders)

    def _window_of(self, sender: Sender) -> _Window:
        window = self._senders.get(sender)
        if window is None:
            s = self._settings
            window = self._senders[sender] = _Window(s.max_misses_per_sender, s.sender_window_seconds)
        self._senders.move_to_end(sender)
        return window

    def _forget_idle(self, now: datetime) -> None:
        while self._senders:
            window = next(iter(self._senders.values()))
            if not window.idle(now):
                return
            self._senders.popitem(last=False)
