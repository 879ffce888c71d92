"""Track schedules as APScheduler triggers, with crontab's meaning kept.

Crontab counts Sunday as 0 (or 7); APScheduler 3 counts Monday as 0, so a plain
`CronTrigger.from_crontab("0 9 * * 1-5")` would fire Tuesday to Saturday. The day-of-week
field is rewritten as day names, which both read the same way.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

# Intervals count from a fixed instant, so fire times do not depend on when the server
# started: `every: 6h` fires at 00:00, 06:00, 12:00 and 18:00 UTC.
_INTERVAL_ANCHOR = datetime(2000, 1, 1, tzinfo=UTC)
_CRONTAB_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def schedule_trigger(schedule: str | timedelta) -> BaseTrigger:
    """The APScheduler trigger of a track's schedule: a crontab expression or an interval."""
    if isinstance(schedule, timedelta):
        return IntervalTrigger(
            seconds=schedule.total_seconds(), start_date=_INTERVAL_ANCHOR, timezone=UTC
        )
    minute, hour, day, month, day_of_week = schedule.split()
    return CronTrigger(
        minute=minute,
        hour=hour,
        day=day,
        month=month,
        day_of_week=_weekday_names(day_of_week),
        timezone=UTC,
    )


def _weekday_names(field: str) -> str:
    """A crontab day-of-week field (`1-5`, `0,6`, `*/2`, `mon-fri`) as APScheduler day names."""
    if field == "*":
        return field
    days: set[int] = set()
    for part in field.lower().split(","):
        span, _, step = part.partition("/")
        first, _, last = span.partition("-")
        if span == "*":
            start, end = 0, 6
        else:
            start = _crontab_day(first)
            end = _crontab_day(last, sunday=7) if last else (7 if step else start)
        days.update(day % 7 for day in range(start, end + 1, int(step or 1)))
    if not days:
        raise ValueError(f"day of week {field!r} matches no day")
    return ",".join(_CRONTAB_DAYS[day] for day in sorted(days))


def _crontab_day(text: str, sunday: int = 0) -> int:
    # Sunday ends a range as 7: `fri-sun` is Friday to Sunday.
    if text in _CRONTAB_DAYS:
        return _CRONTAB_DAYS.index(text) or sunday
    day = int(text)
    if not 0 <= day <= 7:
        raise ValueError(f"day of week {text!r} is not 0-7 or a day name")
    return day
