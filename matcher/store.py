"""Durable hits store (SQLite): a hit is written once, by its deterministic hit id."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from contract.events import Hit

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
"""


class HitStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # a stored hit survives a power cut
        self._db.executescript(_SCHEMA)

    def add(self, hits: list[Hit]) -> list[Hit]:
        """Store hits in one transaction; returns those that were new (duplicates are ignored)."""
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
        return new

    def all(self) -> list[Hit]:
        rows = self._db.execute("SELECT body FROM hits ORDER BY matched_at").fetchall()
        return [Hit.model_validate_json(body) for (body,) in rows]

    def count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM hits").fetchone()[0])

    def close(self) -> None:
        self._db.close()
