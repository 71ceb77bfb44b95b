"""`scanauto bench edge`: the full edge pipeline on a deterministic 1280x720, 30 fps drive-by video.

Renders the video once (cached per spec and generator code), then runs the edge with the embedded broker: paced at the
video's frame rate like a live camera (target: 0 dropped frames) and unpaced (as fast as it
goes). Prints fps, frame latency p50/p99, ms per stage, reads vs expected reads, dropped frames
and CPU use; with --json the last line is one JSON object (the paced run's figures at the top
level, the unpaced run's with an `unpaced_` prefix).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

from contract.bus import KafkaSettings
from contract.digest import DigestKey, KeyRing
from edge.detector import add_large_plate_passes
from edge.frames import VideoFileSource
from edge.outbox import OutboxSettings
from edge.pipeline import FinishedRead
from edge.service import EdgeService, EdgeSettings
from edge.tracker import Fusion
from models import synth
from models.synth.video import DriveBySpec, DriveByTruth, build_driveby, render_driveby
from scanauto.broker import EmbeddedBroker
from scanauto.cli import on_off, probability

KEY = DigestKey("bench-key", bytes(range(11, 43)))
DEFAULT_CACHE = Path(".cache/bench-edge")


def log(msg: str) -> None:
    print(f"[bench edge] {msg}", file=sys.stderr, flush=True)


def spec_for(args: argparse.Namespace) -> DriveBySpec:
    cars = args.cars or round(1.5 * args.seconds)  # about one car every 0.7 s at the default speed
    return DriveBySpec(seed=args.seed, n_cars=cars, fps=30, width=1280, height=720, duration_s=args.seconds)


def video_path(spec: DriveBySpec, cache: Path) -> Path:
    """Where the video of `spec`, drawn by the current generator, is cached: the truth is recomputed by the
    current code, so a video drawn by other generator code is never reused."""
    name = f"driveby-{spec.seed}-{spec.n_cars}cars-{spec.duration_s:g}s-{spec.width}x{spec.height}"
    return cache / f"{name}-{synth.source_fingerprint()}.mp4"


def video_for(spec: DriveBySpec, cache: Path) -> tuple[Path, DriveByTruth]:
    """The rendered video (cached by its spec and generator) and its truth (recomputed in RAM, never written)."""
    path = video_path(spec, cache)
    if path.is_file():
        log(f"reusing {path}")
        return path, build_driveby(spec).truth
    log(f"rendering {path} (once; cached for the next run) ...")
    t0 = time.perf_counter()
    tmp = path.with_name(path.stem + ".tmp.mp4")
    truth = render_driveby(spec, tmp, progress=False)
    tmp.replace(path)
    log(f"  rendered {truth.n_frames} frames in {time.perf_counter() - t0:.0f} s")
    return path, truth


async def run_once(video: Path, truth: DriveByTruth, pace: bool, kafka: KafkaSettings, workdir: Path, threads: int,
                   ocr_model: Path | None = None, large_plate_passes: int = 1,
                   min_alternative_prob: float | None = None,
                   track_fusion: Fusion | None = None,
                   deblur_views: bool | None = None) -> dict[str, object]:  # fmt: skip
    texts = {c.text for c in truth.cars}
    correct = digests = wrong_dutch = 0

    def on_read(read: FinishedRead) -> None:  # plaintext stays in RAM: only counted
        nonlocal correct, digests, wrong_dutch
        correct += read.candidates[0].text in texts
        digests += len(read.candidates)
        # A digest that is no car's plate but a valid Dutch one: a possible hit on an innocent driver if listed.
        wrong_dutch += sum(c.text not in texts and c.sidecode is not None for c in read.candidates)

    settings = EdgeSettings(
        source=VideoFileSource(path=video, pace=pace),
        kafka=kafka,
        outbox=OutboxSettings(path=workdir / f"outbox-{'paced' if pace else 'unpaced'}.sqlite"),
        status_port=None,
        threads=threads,
        detector_large_plate_passes=large_plate_passes,
        **({"ocr_model": ocr_model} if ocr_model is not None else {}),
        **({"min_alternative_prob": min_alternative_prob} if min_alternative_prob is not None else {}),
        **({"track_fusion": track_fusion} if track_fusion is not None else {}),
        **({"deblur_views": deblur_views} if deblur_views is not None else {}),
    )
    service = EdgeService(settings, KeyRing((KEY,)), on_read)
    try:
        await service.start()
        stats = await service.run()
    finally:
        await service.stop()
    result: dict[str, object] = {
        "fps": round(stats.fps, 1),
        "p50_ms": stats.p50_ms,
        "p99_ms": stats.p99_ms,
        "reads": stats.reads,
        "expected_reads": len(truth.cars),
        "correct_reads": correct,
        "candidates_per_read": round(digests / max(1, stats.reads), 3),
        "wrong_dutch_candidates_per_read": round(wrong_dutch / max(1, stats.reads), 3),
        "acked": stats.acked,
        "frames": stats.frames,
        "processed": stats.processed,
        "dropped_frames": stats.dropped_frames,
        "corrupt_frames": stats.corrupt_frames,
        "seconds": round(stats.seconds, 1),
        "cpu_percent": round(100 * stats.cpu_s / max(1e-6, stats.seconds), 1),
        "ms_per_stage": stats.stage_ms,
    }
    mode = "paced" if pace else "unpaced"
    log(
        f"  {mode}: {result['fps']} fps, p50 {stats.p50_ms:.1f} ms, p99 {stats.p99_ms:.1f} ms, "
        f"reads {stats.reads}/{len(truth.cars)} ({correct} exact), dropped {stats.dropped_frames}, "
        f"CPU {result['cpu_percent']}% of one core"
    )
    return result


async def run(args: argparse.Namespace) -> dict[str, object]:
    spec = spec_for(args)
    video, truth = video_for(spec, args.cache_dir)
    out: dict[str, object] = {"machine_cpus": os.cpu_count(), "video": f"{spec.width}x{spec.height}@{spec.fps}",
                              "video_s": args.seconds, "cars": len(truth.cars),
                              "ocr_model": str(args.ocr_model or "models/ocr/plate_ocr.onnx"),
                              "detector_large_plate_passes": args.large_plate_passes}  # fmt: skip
    defaults = EdgeSettings.model_fields
    out["min_alternative_prob"] = (
        defaults["min_alternative_prob"].default if args.min_alternative_prob is None else args.min_alternative_prob
    )
    out["track_fusion"] = args.track_fusion or defaults["track_fusion"].default
    out["deblur_views"] = defaults["deblur_views"].default if args.deblur is None else args.deblur
    modes = {"both": (True, False), "paced": (True,), "unpaced": (False,)}[args.mode]
    with tempfile.TemporaryDirectory(prefix="bench-edge-") as tmp, EmbeddedBroker() as broker:
        kafka = KafkaSettings(bootstrap_servers=broker.bootstrap)
        for pace in modes:
            log(f"running the edge {'paced at 30 fps' if pace else 'unpaced'} ...")
            result = await run_once(
                video, truth, pace, kafka, Path(tmp), args.threads, args.ocr_model, args.large_plate_passes,
                args.min_alternative_prob, args.track_fusion, args.deblur,
            )  # fmt: skip
            prefix = "" if pace or args.mode == "unpaced" else "unpaced_"
            out.update({prefix + k: v for k, v in result.items()})
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="scanauto bench edge", description=__doc__)
    p.add_argument("--seconds", type=float, default=60.0, help="video length")
    p.add_argument("--cars", type=int, default=0, help="parked cars (default: 1.5 per second of video)")
    p.add_argument("--seed", type=int, default=4)
    p.add_argument("--mode", choices=["both", "paced", "unpaced"], default="both")
    p.add_argument("--threads", type=int, default=1, help="onnxruntime threads per model")
    p.add_argument("--ocr-model", type=Path, help="another OCR model (same config) instead of the shipped one")
    p.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE, help="where the rendered video is kept")
    add_large_plate_passes(p)
    p.add_argument(
        "--min-alternative-prob",
        type=probability,
        default=None,
        help="the edge's floor on the alternative candidates it digests (default: the edge's; 0: all)",
    )
    p.add_argument(
        "--track-fusion",
        choices=["mean", "log-mean"],
        default=None,
        help="how a track's frames vote (default: the edge's; mean with --min-alternative-prob 0: the edge before "
        "2026-12-07)",
    )
    p.add_argument(
        "--deblur",
        type=on_off,
        default=None,
        help="on/off: read unsure smeared boxes also from a deconvolved copy (default: the edge's, off)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    args = p.parse_args(argv)
    args.cache_dir.mkdir(parents=True, exist_ok=True)
    for name in ("scanauto", "fast_plate_ocr"):
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    result = asyncio.run(run(args))
    for k, v in result.items():
        print(f"{k:22s} {v}")
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
