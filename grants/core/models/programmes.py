"""Programmes (EQUAL, GLOW, RADAR, ...) and the consent text each asks ambassadors to accept."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grants.core.clock import clock
from grants.core.db import Base, UTCDateTime


class Programme(Base):
    __tablename__ = "programmes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    consent_texts: Mapped[list[ConsentText]] = relationship(
        back_populates="programme", order_by="ConsentText.version"
    )

    __table_args__ = (CheckConstraint("code = upper(code)", name="code_upper_case"),)

    def __repr__(self) -> str:
        return f"<Programme {self.code}>"


class ConsentText(Base):
    """One published version of a programme's consent text. Never edited: a change is a
    new version, so what each ambassador agreed to stays on record."""

    __tablename__ = "consent_texts"

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"))
    version: Mapped[int] = mapped_column()
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    programme: Mapped[Programme] = relationship(back_populates="consent_texts")

    __table_args__ = (
        UniqueConstraint("programme_id", "version"),
        CheckConstraint("version > 0", name="version_positive"),
    )
