"""One clock for the whole application, which tests can set and move."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta


class Clock:
    """Wall-clock time in UTC, unless a test has fixed it or moved it."""

    def __init__(self) -> None:
        self._fixed: datetime | None = None
        self._offset = timedelta(0)

    def now(self) -> datetime:
        base = self._fixed if self._fixed is not None else datetime.now(UTC)
        return base + self._offset

    def today(self) -> date:
        """Today's date in UTC, the programme's day for dates such as "checked on"."""
        return self.now().date()

    def set(self, when: datetime) -> None:
        """Freeze the clock at `when` (an aware datetime)."""
        if when.tzinfo is None:
            raise ValueError("the clock needs an aware datetime")
        self._fixed = when.astimezone(UTC)
        self._offset = timedelta(0)

    def advance(self, delta: timedelta) -> None:
        """Move the clock forward (or back) by `delta`, frozen or not."""
        self._offset += delta

    def reset(self) -> None:
        self._fixed = None
        self._offset = timedelta(0)


clock = Clock()
