"""`scanauto keys`: add, expire, retire (destroy) and show fleet keys in a key file."""

from __future__ import annotations

import argparse
import os
from datetime import datetime

from contract.bus import KafkaSettings, ensure_topics
from contract.digest import MIN_KEY_BYTES, DigestKey, FleetKeyError, KeyRing, load_key_file, write_key_file
from contract.events import utcnow


def _when(text: str | None) -> datetime | None:
    if text is None:
        return None
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise FleetKeyError(f"{text!r} needs a timezone (Z or +01:00)")
    return value


def keys_add(args: argparse.Namespace) -> int:
    ring = load_key_file(args.key_file) if args.key_file.exists() else None
    new = DigestKey(args.key_id, os.urandom(MIN_KEY_BYTES), _when(args.not_before), None)
    keys = (*ring.keys, new) if ring else (new,)
    write_key_file(args.key_file, KeyRing(keys))
    print(f"added key {new.key_id} (valid from {new.not_before or 'now'}) to {args.key_file}")
    return 0


def keys_expire(args: argparse.Namespace) -> int:
    ring = load_key_file(args.key_file)
    old = ring.get(args.key_id)
    if old is None:
        raise FleetKeyError(f"no key {args.key_id!r} in {args.key_file}")
    until = _when(args.not_after)
    updated = DigestKey(old.key_id, old.secret, old.not_before, until)
    write_key_file(args.key_file, KeyRing(tuple(updated if k is old else k for k in ring.keys)))
    print(f"key {old.key_id} now valid until {until}")
    return 0


async def keys_retire(args: argparse.Namespace) -> int:
    """Tombstone everything published under the key, then destroy the key on disk."""
    from ingest.publisher import execute, plan_key_retirement, published_state

    ring = load_key_file(args.key_file)
    if ring.get(args.key_id) is None:
        raise FleetKeyError(f"no key {args.key_id!r} in {args.key_file}")
    now = utcnow()
    remaining = tuple(k for k in ring.keys if k.key_id != args.key_id)
    if not any(k.active_at(now) for k in remaining):
        raise FleetKeyError(f"retiring {args.key_id!r} would leave no valid key: add and roll out the next key first")
    kafka = KafkaSettings(bootstrap_servers=args.bootstrap_servers)
    await ensure_topics(kafka)
    plan = plan_key_retirement(args.key_id, await published_state(kafka))
    acked = await execute(plan, kafka)
    # Only after the broker acknowledged the removals: the secret is gone for good from here on.
    write_key_file(args.key_file, KeyRing(remaining))
    print(f"retired key {args.key_id}: {acked} hotlist records removed, secret deleted from {args.key_file}")
    return 0


def keys_show(args: argparse.Namespace) -> int:
    ring = load_key_file(args.key_file)
    now = utcnow()
    current = ring.current_at(now).key_id if any(k.active_at(now) for k in ring.keys) else None
    for k in ring.keys:
        state = "current" if k.key_id == current else ("active" if k.active_at(now) else "inactive")
        print(f"{k.key_id}\t{state}\tnot_before={k.not_before or '-'}\tnot_after={k.not_after or '-'}")
    return 0
