"""Publish accepted list rows as hotlist entries, digested under every key of the ring."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime

from aiokafka import AIOKafkaProducer

from contract.bus import KafkaSettings, start_client
from contract.digest import KeyRing, digest
from contract.events import HotlistEntry
from contract.topics import HOTLIST
from ingest.lists import ListRow


def entries_for(rows: Sequence[ListRow], keys: KeyRing, now: datetime) -> list[HotlistEntry]:
    """One hotlist entry per row and key: the matcher must match reads made under any active key."""
    return [
        HotlistEntry(
            key_id=key.key_id,
            digest=digest(row.plate, key),
            list=row.list_name,  # type: ignore[arg-type]  # validated against LIST_NAMES
            reference=row.reference,
            plate=row.plate,
            valid_until=row.valid_until,
            published_at=now,
        )
        for row in rows
        for key in keys.keys
    ]


async def publish(entries: Sequence[HotlistEntry], kafka: KafkaSettings, topic: str = HOTLIST) -> int:
    """Send entries with acks=all and wait for every acknowledgement; returns how many were acked."""
    producer = AIOKafkaProducer(**kafka.client_kwargs(), acks="all", linger_ms=5)
    await start_client(producer, kafka)
    try:
        futures = [
            await producer.send(topic, value=e.model_dump_json().encode(), key=e.kafka_key.encode()) for e in entries
        ]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return len(futures)
