"""Scheduled jobs' shared state: one row per job, which every runner on every host reads.

A runner claims a job by a conditional UPDATE of its row (a lease), so one host runs it at a
time; when the job is next due is kept here too, not in a process's memory, so runners on
several hosts keep one schedule between them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from grants.core.db import Base, UTCDateTime


class JobRun(Base):
    __tablename__ = "job_runs"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    next_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The lease: who runs the job now and until when. A runner that dies loses nothing:
    # once the lease has run out, another claims the job.
    claim_token: Mapped[str | None] = mapped_column(String(32))
    holder: Mapped[str | None] = mapped_column(String(120))  # host and process id
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_outcome: Mapped[str | None] = mapped_column(String(10))  # "ok" or "failed"
    # What the run did, in counts ("3 expired"), for the operator; never names or amounts.
    last_result: Mapped[str | None] = mapped_column(String(200))
    runs: Mapped[int] = mapped_column(default=0)

    def __repr__(self) -> str:
        return f"<JobRun {self.name} due {self.next_due_at:%Y-%m-%d %H:%M:%S}>"
