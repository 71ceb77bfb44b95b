"""Durable hits store (SQLite): hits by deterministic id, the notification queue, evidence,
retention purges, the audit log of every view, and the matcher's privacy counters."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from contract.events import Evidence, Hit

_SCHEMA = """
CREATE TABLE IF NOT EXISTS hits (
    hit_id TEXT PRIMARY KEY,
    read_event_id TEXT NOT NULL,
    list TEXT NOT NULL,
    reference TEXT NOT NULL,
    plate TEXT NOT NULL,
    captured_at TEXT NOT NULL,
    matched_at TEXT NOT NULL,
    vehicle_id TEXT NOT NULL,
    camera_id TEXT NOT NULL,
    probability REAL NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS hits_matched_at ON hits (matched_at);
CREATE TABLE IF NOT EXISTS deliveries (
    hit_id TEXT NOT NULL,
    target TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    delivered_at TEXT,
    last_error TEXT,
    PRIMARY KEY (hit_id, target)
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (delivered_at, next_attempt_at);
CREATE TABLE IF NOT EXISTS evidence (
    hit_id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    received_at TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS purges (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ran_at TEXT NOT NULL,
    cutoff TEXT NOT NULL,
    hits_purged INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    hit_id TEXT
);
CREATE TABLE IF NOT EXISTS counters (
    name TEXT PRIMARY KEY,
    value REAL NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class Delivery:
    hit: Hit
    target: str
    attempts: int


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: datetime
    actor: str
    action: str
    hit_id: str | None


class HitStore:
    """One SQLite file; every write is a transaction, synchronous=FULL (survives a power cut)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def add(
        self, hits: Iterable[Hit], targets: Iterable[str] = (), counters: dict[str, float] | None = None
    ) -> list[Hit]:
        """Store hits, queue their notifications and add to counters, all in one transaction.

        Returns the hits that were new; a hit seen before (same id) is neither stored nor
        queued again.
        """
        targets = list(targets)
        new: list[Hit] = []
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            for hit in hits:
                cur = self._db.execute(
                    "INSERT OR IGNORE INTO hits VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        hit.hit_id,
                        hit.read_event_id,
                        hit.list,
                        hit.reference,
                        hit.plate,
                        hit.captured_at.isoformat(),
                        hit.matched_at.isoformat(),
                        hit.vehicle_id,
                        hit.camera_id,
                        hit.probability,
                        hit.model_dump_json(),
                    ),
                )
                if cur.rowcount:
                    new.append(hit)
                    self._db.executemany(
                        "INSERT OR IGNORE INTO deliveries (hit_id, target, next_attempt_at) VALUES (?,?,?)",
                        [(hit.hit_id, t, hit.matched_at.isoformat()) for t in targets],
                    )
            for name, delta in (counters or {}).items():
                self._db.execute(
                    "INSERT INTO counters VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
                    (name, delta),
                )
        return new

    # --- reading hits: every view is audited ---------------------------------------------
    def get(self, hit_id: str, actor: str, now: datetime) -> Hit | None:
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            row = self._db.execute("SELECT body FROM hits WHERE hit_id = ?", (hit_id,)).fetchone()
            self._audit(now, actor, "view-hit", hit_id)
        return Hit.model_validate_json(row[0]) if row else None

    def list_hits(self, actor: str, now: datetime, limit: int = 100) -> list[Hit]:
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            rows = self._db.execute("SELECT body FROM hits ORDER BY matched_at DESC LIMIT ?", (limit,)).fetchall()
            self._audit(now, actor, f"list-hits:{len(rows)}", None)
        return [Hit.model_validate_json(body) for (body,) in rows]

    def _audit(self, now: datetime, actor: str, action: str, hit_id: str | None) -> None:
        self._db.execute(
            "INSERT INTO audit (at, actor, action, hit_id) VALUES (?,?,?,?)", (now.isoformat(), actor, action, hit_id)
        )

    def audit_log(self) -> list[AuditEntry]:
        rows = self._db.execute("SELECT at, actor, action, hit_id FROM audit ORDER BY id").fetchall()
        return [AuditEntry(datetime.fromisoformat(a), b, c, d) for a, b, c, d in rows]

    # --- notification queue ---------------------------------------------------------------
    def due_deliveries(self, now: datetime, limit: int = 50) -> list[Delivery]:
        rows = self._db.execute(
            "SELECT h.body, d.target, d.attempts FROM deliveries d JOIN hits h USING (hit_id) "
            "WHERE d.delivered_at IS NULL AND d.next_attempt_at <= ? ORDER BY d.next_attempt_at LIMIT ?",
            (now.isoformat(), limit),
        ).fetchall()
        return [Delivery(Hit.model_validate_json(body), target, attempts) for body, target, attempts in rows]

    def mark_delivered(self, hit_id: str, target: str, now: datetime) -> None:
        with self._db:
            self._db.execute(
                "UPDATE deliveries SET delivered_at = ?, attempts = attempts + 1, last_error = NULL "
                "WHERE hit_id = ? AND target = ?",
                (now.isoformat(), hit_id, target),
            )

    def mark_failed(self, hit_id: str, target: str, error: str, retry_at: datetime) -> None:
        with self._db:
            self._db.execute(
                "UPDATE deliveries SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? "
                "WHERE hit_id = ? AND target = ?",
                (error[:500], retry_at.isoformat(), hit_id, target),
            )

    def oldest_undelivered(self) -> datetime | None:
        row = self._db.execute(
            "SELECT MIN(h.matched_at) FROM deliveries d JOIN hits h USING (hit_id) WHERE d.delivered_at IS NULL"
        ).fetchone()
        return datetime.fromisoformat(row[0]) if row and row[0] else None

    def delivery_backlog(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM deliveries WHERE delivered_at IS NULL").fetchone()[0])

    # --- evidence ------------------------------------------------------------------------
    def add_evidence(self, evidence: Evidence, now: datetime) -> bool:
        """Keep the vehicle's answer with its hit; False if the hit is unknown or answered."""
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            if not self._db.execute("SELECT 1 FROM hits WHERE hit_id = ?", (evidence.hit_id,)).fetchone():
                return False
            cur = self._db.execute(
                "INSERT OR IGNORE INTO evidence VALUES (?,?,?,?)",
                (evidence.hit_id, evidence.status, now.isoformat(), evidence.model_dump_json()),
            )
            return bool(cur.rowcount)

    def evidence_for(self, hit_id: str, actor: str, now: datetime) -> Evidence | None:
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            row = self._db.execute("SELECT body FROM evidence WHERE hit_id = ?", (hit_id,)).fetchone()
            self._audit(now, actor, "view-evidence", hit_id)
        return Evidence.model_validate_json(row[0]) if row else None

    # --- retention -----------------------------------------------------------------------
    def purge(self, now: datetime, retention: timedelta) -> int:
        """Delete hits (with their evidence and deliveries) older than the retention; recorded."""
        cutoff = (now - retention).isoformat()
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            doomed = "SELECT hit_id FROM hits WHERE matched_at < ?"
            self._db.execute(f"DELETE FROM evidence WHERE hit_id IN ({doomed})", (cutoff,))
            self._db.execute(f"DELETE FROM deliveries WHERE hit_id IN ({doomed})", (cutoff,))
            purged = self._db.execute("DELETE FROM hits WHERE matched_at < ?", (cutoff,)).rowcount
            self._db.execute(
                "INSERT INTO purges (ran_at, cutoff, hits_purged) VALUES (?,?,?)", (now.isoformat(), cutoff, purged)
            )
            self._audit(now, "system:retention", f"purge:{purged}", None)
        return purged

    # --- figures for the privacy officer ----------------------------------------------------
    def count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM hits").fetchone()[0])

    def oldest_matched_at(self) -> datetime | None:
        row = self._db.execute("SELECT MIN(matched_at) FROM hits").fetchone()
        return datetime.fromisoformat(row[0]) if row and row[0] else None

    def purges(self) -> list[tuple[datetime, int]]:
        rows = self._db.execute("SELECT ran_at, hits_purged FROM purges ORDER BY id").fetchall()
        return [(datetime.fromisoformat(a), int(n)) for a, n in rows]

    def evidence_counts(self) -> dict[str, int]:
        rows = self._db.execute("SELECT status, COUNT(*) FROM evidence GROUP BY status").fetchall()
        return {status: int(n) for status, n in rows}

    def counters(self) -> dict[str, float]:
        return {name: float(v) for name, v in self._db.execute("SELECT name, value FROM counters")}

    def add_counters(self, counters: dict[str, float]) -> None:
        self.add([], counters=counters)

    def all(self) -> list[Hit]:
        """Every stored hit, for tests and exports; not audited, so never exposed to users."""
        rows = self._db.execute("SELECT body FROM hits ORDER BY matched_at").fetchall()
        return [Hit.model_validate_json(body) for (body,) in rows]

    def close(self) -> None:
        self._db.close()
