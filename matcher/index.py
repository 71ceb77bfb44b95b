"""In-memory hotlist index: latest entry per Kafka key, looked up by (key id, digest)."""

from __future__ import annotations

from datetime import datetime

from contract.events import HotlistEntry, HotlistKey


class HotlistIndex:
    """Holds the full hotlist; every matcher instance has its own copy.

    The hotlist topic is compacted in production, and the embedded broker does not compact at
    all, so the index applies "latest value per key" itself; a null value (tombstone) removes.
    """

    def __init__(self) -> None:
        self._by_kafka_key: dict[str, HotlistEntry] = {}
        # (key_id, digest) -> entries for that plate on each list
        self._by_digest: dict[tuple[str, str], dict[str, HotlistEntry]] = {}
        self._keys: dict[str, HotlistKey] = {}

    def __len__(self) -> int:
        return len(self._by_kafka_key)

    @property
    def key_ids(self) -> frozenset[str]:
        """Ids of the fleet keys announced on the hotlist and not retired."""
        return frozenset(self._keys)

    def key_problem(self, key_id: str, captured_at: datetime) -> str | None:
        """Why a read under this key cannot be matched, or None when the key is fine."""
        key = self._keys.get(key_id)
        if key is None:
            return f"key id {key_id!r} is not an announced fleet key (retired, or the vehicle is misconfigured)"
        if not key.active_at(captured_at):
            return f"key id {key_id!r} was not valid at the capture time"
        return None

    def apply_key(self, kafka_key: str, key: HotlistKey | None) -> None:
        key_id = kafka_key.removeprefix("key:")
        if key is None:
            self._keys.pop(key_id, None)
        else:
            self._keys[key_id] = key

    def apply(self, kafka_key: str, entry: HotlistEntry | None) -> None:
        old = self._by_kafka_key.pop(kafka_key, None)
        if old is not None:
            self._remove(old)
        if entry is not None:
            self._by_kafka_key[kafka_key] = entry
            self._by_digest.setdefault((entry.key_id, entry.digest), {})[entry.list] = entry

    def _remove(self, entry: HotlistEntry) -> None:
        slot = self._by_digest.get((entry.key_id, entry.digest))
        if slot is not None:
            slot.pop(entry.list, None)
            if not slot:
                del self._by_digest[(entry.key_id, entry.digest)]

    def lookup(self, key_id: str, digest_hex: str) -> tuple[HotlistEntry, ...]:
        slot = self._by_digest.get((key_id, digest_hex))
        return tuple(slot.values()) if slot else ()
