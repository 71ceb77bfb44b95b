"""Command-line front ends of the services: arguments -> settings -> run -> exit code."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from contract.bus import KafkaSettings, ensure_topics
from contract.digest import load_key
from contract.errors import ConfigError, InputError
from contract.events import utcnow

T = TypeVar("T", bound=BaseModel)


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


def load_settings_file(path: Path | None) -> dict[str, object]:
    """A YAML or JSON settings file as a dict (empty if no file)."""
    if path is None:
        return {}
    import yaml

    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"settings file {path} does not exist") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"settings file {path} is not valid YAML/JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"settings file {path} must hold a mapping")
    return data


def validated(model: type[T], data: dict[str, object]) -> T:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"invalid setting {where}: {first['msg']} ({len(exc.errors())} problem(s) in all)") from None


async def matcher_main(args: argparse.Namespace, stop: asyncio.Event) -> int:
    from matcher.service import Matcher, MatcherSettings

    data = load_settings_file(args.config)
    kafka = dict(data.get("kafka") or {})  # type: ignore[call-overload]
    if args.bootstrap_servers:
        kafka["bootstrap_servers"] = args.bootstrap_servers
    data["kafka"] = kafka
    for field, value in (("store_path", args.store), ("group_id", args.group_id), ("metrics_port", args.metrics_port)):
        if value is not None:
            data[field] = value
    settings = validated(MatcherSettings, data)
    for target in settings.notify.targets:
        if target.kind == "webhook":
            target.secret()  # a missing or short signing secret fails here, before anything starts
    if args.validate_config:
        print(settings.model_dump_json(indent=2))
        return 0
    matcher = Matcher(settings)
    await matcher.start()
    try:
        await matcher.run(stop)
    finally:
        await matcher.stop()
    return 0


def edge_settings_data(args: argparse.Namespace) -> dict[str, object]:
    """The edge's settings: the file (if any), then the command-line flags on top."""
    data = load_settings_file(args.config)
    if args.video:
        data["source"] = {"kind": "video-file", "path": str(args.video), "pace": args.pace}
    elif args.stream:
        data["source"] = {"kind": "stream", "url": args.stream}
    elif args.device:
        data["source"] = {"kind": "v4l2", "device": args.device}
    elif args.image_folder:
        data["source"] = {"kind": "image-folder", "path": str(args.image_folder)}
    if "source" not in data:
        raise ConfigError("no frame source: pass --video, --stream, --device or --image-folder, or set source")
    if args.gps_serial:
        data["gps"] = {"kind": "serial", "device": str(args.gps_serial)}
    elif args.gps_replay:
        data["gps"] = {"kind": "replay", "path": str(args.gps_replay)}
    elif args.gpsd:
        host, _, port = args.gpsd.rpartition(":")
        if not host or not port.isdigit():
            raise ConfigError(f"--gpsd takes HOST:PORT, got {args.gpsd!r}")
        data["gps"] = {"kind": "gpsd", "host": host, "port": int(port)}
    if args.bootstrap_servers:
        data["kafka"] = {**dict(data.get("kafka") or {}), "bootstrap_servers": args.bootstrap_servers}  # type: ignore[call-overload]
    if args.outbox:
        data["outbox"] = {**dict(data.get("outbox") or {}), "path": str(args.outbox)}  # type: ignore[call-overload]
    for name in ("status_port", "vehicle_id", "camera_id"):
        if getattr(args, name) is not None:
            data[name] = getattr(args, name)
    return data


async def edge_main(args: argparse.Namespace, stop: asyncio.Event) -> int:
    from edge.service import EdgeSettings, run_edge

    settings = validated(EdgeSettings, edge_settings_data(args))
    keys = load_key(args.key_file)
    if args.validate_config:
        print(settings.model_dump_json(indent=2))
        return 0
    stats = await run_edge(settings, keys, stop)
    print(
        f"edge: {stats.processed} frames at {stats.fps:.1f} fps ({stats.dropped_frames} dropped, "
        f"{stats.corrupt_frames} corrupt skipped), {stats.reads} reads, {stats.acked} acknowledged by the broker, "
        f"{stats.outbox_left} left in the outbox"
    )
    return 0


async def privacy_report_main(args: argparse.Namespace) -> int:
    import json
    from datetime import timedelta

    from matcher.report import build_report, render_text
    from matcher.service import reads_topic_retention_s

    retention_s = -1.0
    if args.bootstrap_servers:
        retention_s = await reads_topic_retention_s(
            KafkaSettings(bootstrap_servers=args.bootstrap_servers, connect_timeout_s=5)
        )
    try:
        report = build_report(args.store, utcnow(), timedelta(days=args.retention_days), retention_s)
    except FileNotFoundError as exc:
        raise InputError(str(exc)) from None
    print(render_text(report))
    if args.json:
        print(json.dumps(report))
    return 0
