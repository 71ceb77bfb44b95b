"""In-memory hotlist index: latest entry per Kafka key, looked up by (key id, digest)."""

from __future__ import annotations

from contract.events import HotlistEntry


class HotlistIndex:
    """Holds the full hotlist; every matcher instance has its own copy.

    The hotlist topic is compacted in production, and the embedded broker does not compact at
    all, so the index applies "latest value per key" itself; a null value (tombstone) removes.
    """

    def __init__(self) -> None:
        self._by_kafka_key: dict[str, HotlistEntry] = {}
        # (key_id, digest) -> entries for that plate on each list
        self._by_digest: dict[tuple[str, str], dict[str, HotlistEntry]] = {}
        self._key_ids: set[str] = set()

    def __len__(self) -> int:
        return len(self._by_kafka_key)

    @property
    def key_ids(self) -> frozenset[str]:
        """Key ids the hotlist was ever published under (removals included).

        A read under any other key cannot match anything: the vehicle is misconfigured.
        """
        return frozenset(self._key_ids)

    def apply(self, kafka_key: str, entry: HotlistEntry | None) -> None:
        parts = kafka_key.split(":")
        if len(parts) == 3:  # list:key_id:digest, see contract.events.hotlist_key
            self._key_ids.add(parts[1])
        old = self._by_kafka_key.pop(kafka_key, None)
        if old is not None:
            self._remove(old)
        if entry is not None:
            self._by_kafka_key[kafka_key] = entry
            self._by_digest.setdefault((entry.key_id, entry.digest), {})[entry.list] = entry
            self._key_ids.add(entry.key_id)

    def _remove(self, entry: HotlistEntry) -> None:
        slot = self._by_digest.get((entry.key_id, entry.digest))
        if slot is not None:
            slot.pop(entry.list, None)
            if not slot:
                del self._by_digest[(entry.key_id, entry.digest)]

    def lookup(self, key_id: str, digest_hex: str) -> tuple[HotlistEntry, ...]:
        slot = self._by_digest.get((key_id, digest_hex))
        return tuple(slot.values()) if slot else ()
