"""Command-line front ends of the services: arguments -> settings -> run -> exit code."""

from __future__ import annotations

import argparse
import asyncio
import sys

from contract.bus import KafkaSettings, ensure_topics
from contract.digest import load_key
from contract.events import utcnow


async def ingest_main(args: argparse.Namespace) -> int:
    from ingest.lists import parse_list
    from ingest.publisher import execute, plan_snapshot, plan_upsert, published_state

    keys = load_key(args.key_file)
    kafka = KafkaSettings(bootstrap_servers=args.bootstrap_servers)
    now = utcnow()
    parsed = parse_list(args.file, args.list_name, now, progress=True)
    for rej in parsed.rejected:
        print(f"{args.file}:{rej.line}: rejected: {rej.reason}", file=sys.stderr)
    if args.mode == "snapshot":
        await ensure_topics(kafka)
        plan = plan_snapshot(parsed.rows, args.list_name, keys, now, await published_state(kafka))
    else:
        plan = plan_upsert(parsed.rows, keys, now)
    acked = await execute(plan, kafka)
    print(
        f"{args.file}: {len(parsed.rows)} rows accepted, {len(parsed.rejected)} rejected; published "
        f"{plan.entry_upserts} additions/changes and {len(plan.removals)} removals under "
        f"{len(keys.publishing_at(now))} key(s), {plan.unchanged} unchanged ({acked} messages acknowledged)"
    )
    return 5 if parsed.rejected else 0


async def matcher_main(args: argparse.Namespace, stop: asyncio.Event) -> int:
    from matcher.service import Matcher, MatcherSettings

    settings = MatcherSettings(
        kafka=KafkaSettings(bootstrap_servers=args.bootstrap_servers), store_path=args.store, group_id=args.group_id
    )
    if args.validate_config:
        print(settings.model_dump_json(indent=2))
        return 0
    matcher = Matcher(
        settings,
        on_hit=lambda h: print(
            f"HIT {h.list} {h.reference} {h.plate} {h.captured_at.isoformat()} {h.vehicle_id}", flush=True
        ),
    )
    await matcher.start()
    try:
        await matcher.run(stop)
    finally:
        await matcher.stop()
    return 0


async def edge_main(args: argparse.Namespace, stop: asyncio.Event) -> int:
    from edge.frames import VideoFileSource
    from edge.service import EdgeSettings, run_edge

    settings = EdgeSettings(
        vehicle_id=args.vehicle_id,
        camera_id=args.camera_id,
        source=VideoFileSource(path=args.video, pace=args.pace),
        kafka=KafkaSettings(bootstrap_servers=args.bootstrap_servers),
    )
    keys = load_key(args.key_file)
    if args.validate_config:
        print(settings.model_dump_json(indent=2))
        return 0
    stats = await run_edge(settings, keys, stop)
    print(
        f"edge: {stats.frames} frames at {stats.fps:.1f} fps, {stats.reads} reads published, "
        f"{stats.corrupt_frames} corrupt frames skipped"
    )
    return 0
