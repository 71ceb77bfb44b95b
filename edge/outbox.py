"""The on-disk outbox: every read waits here (fsynced) until the broker acknowledged it (acks=all).

It holds serialised `PlateRead` events only - digests, never plate text or pixels. Reads leave
it in the order they entered. It is bounded: past `alarm_fraction` of `max_reads` the status
raises an alarm; when full, the oldest reads are dropped (and counted) to make room, because a
fresh read of a passing car is worth more than a stale one.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from contract.errors import ConfigError
from contract.events import PlateRead


class OutboxSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    path: Path = Field(Path("var/edge-outbox.sqlite"), description="SQLite file of reads not yet acknowledged")
    max_reads: int = Field(200_000, ge=10, le=10_000_000, description="bound; the oldest reads go when full")
    alarm_fraction: float = Field(0.8, gt=0, le=1, description="alarm when the outbox is this full")


@dataclass(frozen=True, slots=True)
class Pending:
    seq: int
    event_id: str
    body: bytes
    queued_at: float  # time.time() when it entered the outbox


class Outbox:
    """An append-only queue in SQLite (WAL, synchronous=FULL: each commit is fsynced)."""

    def __init__(self, settings: OutboxSettings) -> None:
        self.settings = settings
        settings.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db: sqlite3.Connection | None = sqlite3.connect(
                settings.path, isolation_level=None, check_same_thread=False
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
                "event_id TEXT NOT NULL, body BLOB NOT NULL, queued_at REAL NOT NULL)"
            )
        except sqlite3.Error as exc:
            raise ConfigError(
                f"outbox {settings.path} cannot be opened ({exc}); check the path and free space"
            ) from None
        self._lock = threading.Lock()
        self.dropped = 0  # reads thrown away because the outbox was full
        self.appended = 0
        self.removed = 0
        self._count = self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]

    def __len__(self) -> int:
        return self._count

    @property
    def alarm(self) -> str | None:
        s = self.settings
        if self.dropped:
            return f"outbox full: {self.dropped} oldest read(s) dropped; restore the broker link"
        if self._count >= s.alarm_fraction * s.max_reads:
            return f"outbox {100 * self._count / s.max_reads:.0f}% full ({self._count} reads waiting for the broker)"
        return None

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError("outbox is closed")
        return self._db

    def append(self, reads: list[PlateRead]) -> None:
        """Store reads durably (one fsynced transaction); drops the oldest when full."""
        if not reads:
            return
        now = time.time()
        rows = [(r.event_id, r.model_dump_json().encode(), now) for r in reads]
        with self._lock:
            db = self._conn()
            db.execute("BEGIN IMMEDIATE")
            db.executemany("INSERT INTO outbox (event_id, body, queued_at) VALUES (?, ?, ?)", rows)
            excess = self._count + len(rows) - self.settings.max_reads
            if excess > 0:
                db.execute("DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox ORDER BY seq LIMIT ?)", (excess,))
            db.execute("COMMIT")
            self._count += len(rows) - max(0, excess)
            self.dropped += max(0, excess)
            self.appended += len(rows)

    def peek(self, limit: int) -> list[Pending]:
        """The oldest reads, in order, without removing them."""
        with self._lock:
            rows = (
                self._conn()
                .execute("SELECT seq, event_id, body, queued_at FROM outbox ORDER BY seq LIMIT ?", (limit,))
                .fetchall()
            )
        return [Pending(int(s), str(e), bytes(b), float(q)) for s, e, b, q in rows]

    def remove_through(self, seq: int) -> int:
        """Remove every read up to and including `seq` (acknowledged by the broker)."""
        with self._lock:
            db = self._conn()
            n = db.execute("DELETE FROM outbox WHERE seq <= ?", (seq,)).rowcount
            self._count -= n
            self.removed += n
        return n

    def oldest_age_s(self) -> float:
        with self._lock:
            row = self._conn().execute("SELECT MIN(queued_at) FROM outbox").fetchone()
        return max(0.0, time.time() - row[0]) if row and row[0] is not None else 0.0

    def close(self) -> None:
        """Safe to call twice."""
        with self._lock:
            db, self._db = self._db, None
            if db is not None:
                db.close()
