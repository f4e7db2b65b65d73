"""The public directory of crisis lines and mental-health support, and each country's
emergency number.

An entry's lists (languages, topics, channels, hours) are JSON: the directory is a few
hundred rows, always read whole for one page and filtered in Python, and JSON keeps an
entry one row to edit, import and export. Entries are retired, never deleted, so a
shared export still says what was withdrawn and when.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from grants.core.clock import clock
from grants.core.db import Base, UTCDateTime


class Resource(Base):
    __tablename__ = "resources"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(String(2), index=True)  # ISO 3166-1 alpha-2
    languages: Mapped[list] = mapped_column(JSON)  # ["en", "es"]: ISO 639-1
    topics: Mapped[list] = mapped_column(JSON)  # ["crisis", "music_industry"]
    # [{"kind": "phone", "value": "116 123"}, {"kind": "text", "value": "85258",
    #   "keyword": "SHOUT"}], in the order a person should try them.
    channels: Mapped[list] = mapped_column(JSON)
    # {"always": true} | {"always": false, "time_zone": "Europe/London",
    #  "slots": [{"days": [0, 1, 2, 3, 4], "opens": "09:00", "closes": "17:00"}]} | null
    hours: Mapped[dict | None] = mapped_column(JSON)
    free: Mapped[bool | None] = mapped_column()
    source: Mapped[str] = mapped_column(String(500))
    checked_on: Mapped[date] = mapped_column(Date)
    # When the scheduled check (grants.core.stale_resources) found the entry due a check
    # and told staff; the next run clears it once the entry has been checked again, so a
    # later lapse is told again.
    flagged_stale_on: Mapped[date | None] = mapped_column(Date)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    __table_args__ = (CheckConstraint("country = upper(country)", name="country_upper_case"),)

    @property
    def active(self) -> bool:
        return self.retired_at is None

    def __repr__(self) -> str:
        return f"<Resource {self.country} {self.name!r}>"


class EmergencyNumber(Base):
    """What to dial in an emergency, shown above every country's list."""

    __tablename__ = "emergency_numbers"

    country: Mapped[str] = mapped_column(String(2), primary_key=True)
    number: Mapped[str] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(String(500))
    checked_on: Mapped[date] = mapped_column(Date)
    flagged_stale_on: Mapped[date | None] = mapped_column(Date)  # as for Resource

    __table_args__ = (CheckConstraint("country = upper(country)", name="country_upper_case"),)
