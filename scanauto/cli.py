"""The `scanauto` command: one entry point with a subcommand per service and tool."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from contract.errors import ScanautoError

log = logging.getLogger("scanauto")


def _kafka_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--bootstrap-servers", default="127.0.0.1:9092", help="Kafka bootstrap servers")
    p.add_argument("--key-file", type=Path, help="fleet key file (else $SCANAUTO_FLEET_KEY)")


def run_async(main: Callable[[asyncio.Event], Coroutine[Any, Any, int]]) -> int:
    """Run a service coroutine; SIGINT/SIGTERM set its stop event for a clean shutdown."""

    async def runner() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        return await main(stop)

    return asyncio.run(runner())


def cmd_keygen(args: argparse.Namespace) -> int:
    from contract.digest import new_key_file

    key = new_key_file(args.path, args.key_id)
    print(f"wrote key {key.key_id} to {args.path} (mode 600); keep it secret")
    return 0


def cmd_keys(args: argparse.Namespace) -> int:
    from scanauto import keys

    if args.action == "retire":
        return run_async(lambda stop: keys.keys_retire(args))
    return int(getattr(keys, f"keys_{args.action}")(args))


def cmd_schemas(args: argparse.Namespace) -> int:
    from contract.schemas import write_schemas

    for path in write_schemas(args.out):
        print(path)
    return 0


def cmd_ingest(args: argparse.Namespace) -> int:
    from scanauto.services import ingest_main

    return run_async(lambda stop: ingest_main(args))


def cmd_matcher(args: argparse.Namespace) -> int:
    from scanauto.services import matcher_main

    return run_async(lambda stop: matcher_main(args, stop))


def cmd_edge(args: argparse.Namespace) -> int:
    from scanauto.services import edge_main

    return run_async(lambda stop: edge_main(args, stop))


def cmd_privacy_report(args: argparse.Namespace) -> int:
    from scanauto.services import privacy_report_main

    return run_async(lambda stop: privacy_report_main(args))


def cmd_demo(args: argparse.Namespace) -> int:
    from scanauto.demo import DemoSettings, run_demo

    settings = DemoSettings(seed=args.seed, cars=args.cars, workdir=args.workdir)
    return run_async(lambda stop: run_demo(settings, stop))


def cmd_bench(args: argparse.Namespace) -> int:
    import importlib

    module = importlib.import_module(f"bench.{args.target.replace('-', '_')}")
    return int(module.main(args.rest))


def cmd_eval(args: argparse.Namespace) -> int:
    from models import evaluate

    keys = ("detector_model", "ocr_model", "ocr_config")
    paths = {k: getattr(args, k) for k in keys if getattr(args, k)}
    against = {k: getattr(args, f"against_{k}") for k in keys if getattr(args, f"against_{k}")}
    return evaluate.run(
        args.manifest,
        args.split,
        threads=args.threads,
        limit=args.limit,
        as_json=args.json,
        against=against or None,
        show=args.show,
        ocr_margins=args.ocr_margins,
        against_ocr_margins=args.against_ocr_margins,
        min_alternative_prob=args.min_alternative_prob,
        texts=args.texts,
        deblur=args.deblur,
        against_deblur=args.against_deblur,
        **paths,
    )


def probability(text: str) -> float:
    """`--min-alternative-prob 0.01`: a probability in [0, 1]."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a number between 0 and 1, e.g. 0.01") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text!r}: a probability is between 0 and 1")
    return value


def on_off(text: str) -> bool:
    """`--deblur off`: a switch."""
    if text not in ("on", "off"):
        raise argparse.ArgumentTypeError(f"{text!r}: expected on or off")
    return text == "on"


def ocr_margins(text: str) -> tuple[float, ...]:
    """`--ocr-margins 0,0.02,0.04`: the OCR views' crop margins, fractions of the box in [0, 0.5]."""
    try:
        margins = tuple(float(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected comma-separated numbers, e.g. 0.02,0.04,0.06") from None
    if not all(0.0 <= m <= 0.5 for m in margins):
        raise argparse.ArgumentTypeError(f"{text!r}: every margin must be between 0 and 0.5 of the box")
    return margins


def cmd_testset(args: argparse.Namespace) -> int:
    from models.synth.testset import DEV_NAMESPACE, TESTSET_NAMESPACE, write_testset

    namespace = DEV_NAMESPACE if args.dev else TESTSET_NAMESPACE
    print(
        write_testset(
            args.out,
            args.images,
            args.workers,
            namespace=namespace,
            motion=args.motion,
            first=args.first,
            dutch_style=args.dutch_style,
        )
    )
    return 0


# glibc hands large freed blocks back to the kernel at once (mmap threshold, heap trimming); a trainer that has
# taken 90,000 crops from its worker processes then page-faults its batch buffers back in, step after step. OCR
# version 8's one command ran 6,625 steps in 55 minutes without these (2.1 steps/s once its crops were ready, the
# machine idle; 853 M minor page faults, 27 % of its CPU time in the kernel), 3.5 steps/s with them. They act
# only from a process's start, so `scanauto train` starts itself again with them.
KEPT_HEAP_ENV = {
    "MALLOC_MMAP_THRESHOLD_": str(1 << 30),
    "MALLOC_TRIM_THRESHOLD_": str(1 << 32),
    "MALLOC_TOP_PAD_": str(1 << 28),
}


def kept_heap_env(environ: dict[str, str], platform: str = sys.platform) -> dict[str, str] | None:
    """The environment to restart a trainer in so that glibc keeps freed memory, or None: already set (each
    variable the user set wins), or not Linux."""
    if not platform.startswith("linux") or all(k in environ for k in KEPT_HEAP_ENV):
        return None
    return {**KEPT_HEAP_ENV, **environ}


def cmd_train(args: argparse.Namespace) -> int:
    env = kept_heap_env(dict(os.environ))
    if env is not None:
        sys.stdout.flush()
        sys.stderr.flush()
        os.execve(sys.executable, [sys.executable, "-m", "scanauto.cli", *sys.argv[1:]], env)
    try:
        if args.model == "ocr":
            from models.ocr.train import main as train_main
        else:
            from models.detector.train import main as train_main
    except ModuleNotFoundError as exc:
        raise ScanautoError(
            f"training needs the 'train' extra ({exc.name} missing): pip install -e '.[train]'"
        ) from None
    return int(train_main(args.rest))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="scanauto", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("demo", help="run the whole system on a generated drive-by video")
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--cars", type=int, default=45)
    p.add_argument("--workdir", type=Path, default=None, help="keep demo files here (default: temporary)")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("ingest", help="validate a list export and publish it to the hotlist topic")
    p.add_argument("--list", dest="list_name", required=True, choices=["stolen", "false-plate"])
    p.add_argument("file", type=Path, help="list export: .csv, or .jsonl/.ndjson")
    p.add_argument(
        "--mode",
        choices=["snapshot", "upsert"],
        default="snapshot",
        help="snapshot: the file is the whole list (plates no longer in it are removed); upsert: add/change only",
    )
    _kafka_args(p)
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("matcher", help="match reads against the hotlist")
    p.add_argument("--config", type=Path, help="settings file (YAML/JSON): webhooks, retention, metrics ...")
    p.add_argument("--bootstrap-servers", default=None, help="Kafka bootstrap servers (overrides the file)")
    p.add_argument("--store", type=Path, default=None, help="SQLite hits store (default var/hits.sqlite)")
    p.add_argument("--group-id", default=None)
    p.add_argument("--metrics-port", type=int, default=None, help="serve Prometheus /metrics on this port")
    p.add_argument("--validate-config", action="store_true", help="check the settings and exit")
    p.set_defaults(func=cmd_matcher)

    p = sub.add_parser("edge", help="read plates from a camera, stream, folder or video and publish reads")
    p.add_argument("--config", type=Path, help="settings file (YAML/JSON, see edge.service.EdgeSettings)")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--video", type=Path, help="video file")
    src.add_argument("--stream", help="RTSP or HTTP stream URL")
    src.add_argument("--device", help="V4L2 device, e.g. /dev/video0")
    src.add_argument("--image-folder", type=Path, help="folder a camera writes images into")
    p.add_argument("--pace", action="store_true", help="play a video file at its frame rate, like a camera")
    gps = p.add_mutually_exclusive_group()
    gps.add_argument("--gps-serial", type=Path, help="NMEA receiver on this serial device")
    gps.add_argument("--gps-replay", type=Path, help="replay NMEA sentences from this file")
    gps.add_argument("--gpsd", metavar="HOST:PORT", help="gpsd to read NMEA from")
    p.add_argument("--bootstrap-servers", default=None, help="Kafka bootstrap servers (default 127.0.0.1:9092)")
    p.add_argument("--key-file", type=Path, help="fleet key file (else $SCANAUTO_FLEET_KEY)")
    p.add_argument("--outbox", type=Path, default=None, help="outbox file (default var/edge-outbox.sqlite)")
    p.add_argument("--status-port", type=int, default=None, help="operator status page port (default 8080)")
    p.add_argument("--vehicle-id", default=None)
    p.add_argument("--camera-id", default=None)
    p.add_argument("--validate-config", action="store_true", help="check the settings and exit")
    p.set_defaults(func=cmd_edge)

    p = sub.add_parser("privacy-report", help="figures for the privacy officer, measured from the running system")
    p.add_argument("--store", type=Path, default=Path("var/hits.sqlite"))
    p.add_argument("--bootstrap-servers", default=None, help="read the reads topic's retention back from here")
    p.add_argument("--retention-days", type=float, default=28.0, help="the hits store's retention limit")
    p.add_argument("--json", action="store_true", help="also print one JSON object as the last line")
    p.set_defaults(func=cmd_privacy_report)

    p = sub.add_parser("keygen", help="write a new random fleet key file")
    p.add_argument("path", type=Path)
    p.add_argument("--key-id", default="k1")
    p.set_defaults(func=cmd_keygen)

    p = sub.add_parser("keys", help="rotate fleet keys: add the next key, expire the old, retire (destroy) it")
    keys_sub = p.add_subparsers(dest="action", required=True)
    k = keys_sub.add_parser("add", help="add a new random key (created file if missing)")
    k.add_argument("key_file", type=Path)
    k.add_argument("--key-id", required=True)
    k.add_argument("--not-before", help="ISO datetime with zone from which edges digest with it")
    k = keys_sub.add_parser("expire", help="set the end of a key's window")
    k.add_argument("key_file", type=Path)
    k.add_argument("--key-id", required=True)
    k.add_argument("--not-after", required=True, help="ISO datetime with zone")
    k = keys_sub.add_parser("retire", help="remove a key's hotlist records, then delete its secret")
    k.add_argument("key_file", type=Path)
    k.add_argument("--key-id", required=True)
    k.add_argument("--bootstrap-servers", default="127.0.0.1:9092")
    k = keys_sub.add_parser("show", help="key ids and windows (never secrets)")
    k.add_argument("key_file", type=Path)
    p.set_defaults(func=cmd_keys)

    p = sub.add_parser("schemas", help="export the events' JSON Schemas")
    p.add_argument("--out", type=Path, default=Path("deploy/schemas"))
    p.set_defaults(func=cmd_schemas)

    p = sub.add_parser("bench", help="run a benchmark on this machine (JSON with --json)")
    p.add_argument("target", choices=["matcher", "edge", "ocr-peers", "synth-realism", "candidates"])
    p.add_argument("rest", nargs=argparse.REMAINDER, help="arguments for the benchmark")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("eval", help="the edge's detection + OCR on a labelled manifest (DATA.md format), scored")
    p.add_argument("--manifest", type=Path, required=True, help="manifest CSV; images are relative to its folder")
    p.add_argument("--split", default=None, help="only rows whose 'split' column has this value (e.g. valid)")
    p.add_argument(
        "--texts",
        type=Path,
        default=None,
        help="a review giving the manifest's plates their texts, read by eye (e.g. models/ocr/review/"
        "romanian-valid-texts.csv with romanian-dashcam --split valid)",
    )
    p.add_argument("--detector-model", type=Path, default=None, help="default models/detector/plate_detector.onnx")
    p.add_argument("--ocr-model", type=Path, default=None, help="default models/ocr/plate_ocr.onnx")
    p.add_argument("--ocr-config", type=Path, default=None, help="default models/ocr/plate_config.yaml")
    p.add_argument("--threads", type=int, default=1, help="onnxruntime threads per model (the edge's default: 1)")
    p.add_argument("--limit", type=int, default=None, help="only the first N images")
    p.add_argument("--json", action="store_true", help="also print one JSON object as the last line")
    for part in ("detector-model", "ocr-model", "ocr-config"):
        p.add_argument(
            f"--against-{part}",
            type=Path,
            default=None,
            help=f"compare with a second configuration that differs in its {part.replace('-', ' ')}: both run on "
            "the same images, each in a process of its own, taking turns 32 images at a time, and the plates each "
            "reads that the other misses are listed",
        )
    p.add_argument(
        "--ocr-margins",
        type=ocr_margins,
        default=None,
        help="the OCR views' crop margins, comma-separated fractions of the box (default: the edge's)",
    )
    p.add_argument(
        "--against-ocr-margins",
        type=ocr_margins,
        default=None,
        help="compare with a second configuration that differs in its OCR views' margins",
    )
    p.add_argument(
        "--min-alternative-prob",
        type=probability,
        default=None,
        help="digest an alternative reading only if the OCR gives it at least this (default: the edge's; 0 digests "
        "every alternative, the edge before 2026-12-07)",
    )
    p.add_argument(
        "--deblur",
        type=on_off,
        default=None,
        help="on/off: also read a smeared box from a copy with its smear undone (edge.deblur; the edge's default: off)",
    )
    p.add_argument(
        "--against-deblur",
        type=on_off,
        default=None,
        help="on/off: compare with a second configuration that does or does not read the deconvolved copies",
    )
    p.add_argument("--show", type=int, default=20, help="with --against-*: list at most N gained and lost plates")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("testset", help="write the synthetic held-out test set (scenes + manifest.csv)")
    p.add_argument("out", type=Path, help="folder to write images/ and manifest.csv into")
    p.add_argument("--images", type=int, default=2000)
    p.add_argument(
        "--first",
        type=int,
        default=0,
        help="index of the first scene (default 0): --dev --first 1000 makes a second development set that shares "
        "no scene with the 1000-image one",
    )
    p.add_argument("--workers", type=int, default=2, help="rendering processes")
    p.add_argument(
        "--dev", action="store_true", help="the development set instead (seed namespace 707): tune edge settings on it"
    )
    p.add_argument(
        "--motion",
        choices=["frame", "plate"],
        default="frame",
        help="motion blur in frame pixels (1-9 px, the default) or per car, up to 25 mm on its plate (a camera "
        "exposed for plate reading passing parked cars)",
    )
    p.add_argument(
        "--dutch-style",
        choices=["nl_yellow_eu", "nl_yellow_old", "nl_blue_old", "nl_black_classic"],
        help="every Dutch plate in this style (the old blue and black classic plates are about 1 %% of the "
        "street's: measure them on their own)",
    )
    p.set_defaults(func=cmd_testset)

    p = sub.add_parser("train", help="regenerate data and retrain a model (needs the 'train' extra)")
    p.add_argument("model", choices=["ocr", "detector"])
    p.add_argument("rest", nargs=argparse.REMAINDER, help="arguments for the trainer")
    p.set_defaults(func=cmd_train)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # aiokafka logs every failed connection attempt; our own error says it once, with a hint.
    logging.getLogger("aiokafka").setLevel(logging.DEBUG if args.verbose else logging.CRITICAL)
    try:
        return int(args.func(args))
    except ScanautoError as exc:
        print(f"scanauto {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
