"""Generated residents: accounts as the phone sign-up leaves them, and who among them
reports how often.

A resident is an ``accounts.User`` with the role ``resident``, a verified Vietnamese mobile
number in E.164 form (unique), an unusable password (they sign in with one-time codes) and,
for most, a name. A quarter joined in the year before the generated span, the rest during
it at a growing pace (the platform's adoption). How often each reports is heavy-tailed
(log-normal): most never or once, a few dozens of times; a report only ever comes from a
resident who had joined by then.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import string
from bisect import bisect_right
from collections.abc import Callable
from itertools import accumulate

from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX, UNUSABLE_PASSWORD_SUFFIX_LENGTH

from ihanoi.accounts.models import Role, User

from . import texts
from .sinks import Table

USER_COLUMNS = (
    "id",
    "password",
    "phone",
    "phone_verified",
    "full_name",
    "role",
    "is_active",
    "date_joined",
)
SHARE_JOINED_BEFORE = 0.25
SHARE_NAMED = 0.7
ACTIVITY_SIGMA = 1.3
_PASSWORD_CHARS = string.ascii_letters + string.digits
RESIDENT = Role.RESIDENT.value


class Residents:
    """The residents of this run, oldest account first, and a draw of who reports."""

    def __init__(self, ids: list[int], joined: list[int], activity: list[float]) -> None:
        self.ids = ids
        self.joined = joined  # POSIX timestamps, ascending
        self.activity_cum = list(accumulate(activity))

    def __len__(self) -> int:
        return len(self.ids)

    def reporter(self, rng: random.Random, at: dt.datetime) -> int:
        """A resident who had joined by ``at``, the active ones more likely."""
        known = max(1, bisect_right(self.joined, at.timestamp()))
        cum = self.activity_cum
        return self.ids[bisect_right(cum, rng.random() * cum[known - 1], 0, known - 1)]


def residents_create(
    *,
    count: int,
    start: dt.datetime,
    end: dt.datetime,
    first_id: int,
    taken_phones: set[str],
    table: Table,
    rng: random.Random,
    tick: Callable[[int], object] = lambda n: None,
) -> Residents:
    """Buffer ``count`` resident rows in ``table`` (the caller flushes) with ids from
    ``first_id``; ``taken_phones`` (the numbers already in the database) grows with the
    numbers given out."""
    before = max(1, round(count * SHARE_JOINED_BEFORE))
    span = (end - start).total_seconds()
    year = 365 * 86400.0
    first = start.timestamp()
    moments = [round(first - rng.random() * year) for _ in range(before)]
    # Density growing linearly over the span: more people join as the platform spreads.
    moments += [round(first + span * math.sqrt(rng.random())) for _ in range(count - before)]
    moments.sort()
    prefixes = [p for p, _w in texts.MOBILE_PREFIXES]
    prefix_cum = list(accumulate(w for _p, w in texts.MOBILE_PREFIXES))
    family_cum = list(accumulate(w for _n, w in texts.FAMILY_NAMES))
    tz = start.tzinfo
    ids = []
    for offset, moment in enumerate(moments):
        while True:
            prefix = prefixes[bisect_right(prefix_cum, rng.random() * prefix_cum[-1])]
            digits = 9 - len(prefix)
            phone = f"+84{prefix}{rng.randrange(10**digits):0{digits}d}"
            if phone not in taken_phones:
                break
        taken_phones.add(phone)
        name = texts.full_name(rng, family_cum) if rng.random() < SHARE_NAMED else ""
        password = UNUSABLE_PASSWORD_PREFIX + "".join(
            rng.choices(_PASSWORD_CHARS, k=UNUSABLE_PASSWORD_SUFFIX_LENGTH)
        )
        pk = first_id + offset
        ids.append(pk)
        joined = dt.datetime.fromtimestamp(moment, tz)
        table.add((pk, password, phone, True, name, RESIDENT, True, joined))
        if table.full():
            table.flush()
        if offset % 1000 == 999:
            tick(1000)
    tick(count % 1000)
    activity = [rng.lognormvariate(0, ACTIVITY_SIGMA) for _ in range(count)]
    return Residents(ids, moments, activity)


def phones_in_use() -> set[str]:
    return {phone for phone in User.objects.values_list("phone", flat=True) if phone}
