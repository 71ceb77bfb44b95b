"""Publish list rows as hotlist entries under every publishing key: upserts, or a snapshot diff."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from aiokafka import AIOKafkaProducer
from pydantic import ValidationError

from contract.bus import KafkaSettings, read_topic_state, start_client
from contract.digest import KeyRing, digest
from contract.events import HotlistEntry, HotlistKey, key_announcement_key
from contract.topics import HOTLIST
from ingest.lists import ListRow


@dataclass
class PublishPlan:
    """What a publication changes on the hotlist topic."""

    upserts: list[HotlistEntry | HotlistKey] = field(default_factory=list)
    removals: list[str] = field(default_factory=list)  # Kafka keys to tombstone
    unchanged: int = 0

    @property
    def entry_upserts(self) -> int:
        return sum(isinstance(u, HotlistEntry) for u in self.upserts)


def entries_for(rows: Sequence[ListRow], keys: KeyRing, now: datetime) -> list[HotlistEntry]:
    """One hotlist entry per row and publishing key (the current key and the next one)."""
    return [
        HotlistEntry(
            key_id=key.key_id,
            digest=digest(row.plate, key),
            list=row.list_name,  # type: ignore[arg-type]  # validated against LIST_NAMES
            reference=row.reference,
            plate=row.plate,
            valid_until=row.valid_until,
            note=row.note,
            published_at=now,
        )
        for row in rows
        for key in keys.publishing_at(now)
    ]


def key_announcements(keys: KeyRing, now: datetime) -> list[HotlistKey]:
    return [
        HotlistKey(key_id=k.key_id, not_before=k.not_before, not_after=k.not_after, published_at=now)
        for k in keys.publishing_at(now)
    ]


def plan_upsert(rows: Sequence[ListRow], keys: KeyRing, now: datetime) -> PublishPlan:
    """Publish every row (additions and changes); removes nothing."""
    return PublishPlan(upserts=[*key_announcements(keys, now), *entries_for(rows, keys, now)])


def plan_snapshot(
    rows: Sequence[ListRow], list_name: str, keys: KeyRing, now: datetime, published: dict[bytes, bytes]
) -> PublishPlan:
    """The file is the whole list: publish what is new or changed and tombstone what is gone.

    Entries of this list under keys that are no longer in the ring (retired) are removed too.
    """
    current: dict[str, HotlistEntry] = {}
    announced: dict[str, HotlistKey] = {}
    for raw_key, value in published.items():
        key = raw_key.decode()
        try:
            if key.startswith("key:"):
                announced[key] = HotlistKey.model_validate_json(value)
            elif key.startswith(f"{list_name}:"):
                current[key] = HotlistEntry.model_validate_json(value)
        except ValidationError:
            continue  # an invalid record is replaced below if the file still lists the plate
    plan = PublishPlan()
    for ann in key_announcements(keys, now):
        old = announced.get(ann.kafka_key)
        if old is None or (old.not_before, old.not_after) != (ann.not_before, ann.not_after):
            plan.upserts.append(ann)
    desired = {e.kafka_key: e for e in entries_for(rows, keys, now)}
    for kafka_key, entry in desired.items():
        old_entry = current.get(kafka_key)
        if old_entry is not None and old_entry.same_content(entry):
            plan.unchanged += 1
        else:
            plan.upserts.append(entry)
    plan.removals = sorted(k for k in current if k not in desired)
    return plan


def plan_key_retirement(key_id: str, published: dict[bytes, bytes]) -> PublishPlan:
    """Tombstones for a retired key's announcement and for every entry digested under it."""
    removals = [k.decode() for k in published if k.decode().split(":")[1:2] == [key_id] and not k.startswith(b"key:")]
    return PublishPlan(removals=sorted([*removals, key_announcement_key(key_id)]))


async def execute(plan: PublishPlan, kafka: KafkaSettings, topic: str = HOTLIST) -> int:
    """Send the plan with acks=all and wait for every acknowledgement; returns messages acked."""
    producer = AIOKafkaProducer(**kafka.client_kwargs(), acks="all", linger_ms=5)
    await start_client(producer, kafka)
    try:
        futures = [
            await producer.send(topic, value=u.model_dump_json().encode(), key=u.kafka_key.encode())
            for u in plan.upserts
        ]
        futures += [await producer.send(topic, value=None, key=k.encode()) for k in plan.removals]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return len(futures)


async def publish(entries: Sequence[HotlistEntry], kafka: KafkaSettings, topic: str = HOTLIST) -> int:
    """Send entries as upserts (no announcements); returns how many were acked."""
    return await execute(PublishPlan(upserts=list(entries)), kafka, topic)


async def published_state(kafka: KafkaSettings) -> dict[bytes, bytes]:
    return await read_topic_state(kafka, HOTLIST)
