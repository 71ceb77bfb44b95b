"""The edge service: frames from a source through the pipeline to the reads topic."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from aiokafka import AIOKafkaProducer
from pydantic import BaseModel, ConfigDict, Field

from contract.bus import KafkaSettings, ensure_topics, start_client
from contract.digest import KeyRing
from contract.topics import READS
from edge.candidates import CandidateSettings
from edge.detector import PlateDetector
from edge.evidence import EvidenceWindow
from edge.frames import SourceStats, VideoFileSource, open_video, read_frames
from edge.ocr import PlateReader
from edge.pipeline import EdgePipeline, FinishedRead, PipelineSettings

log = logging.getLogger("scanauto.edge")
MODELS_DIR = Path(__file__).resolve().parent.parent / "models"


class EdgeSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    vehicle_id: str = Field("scan-01", pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
    camera_id: str = Field("cam-front", pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
    source: VideoFileSource
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    detector_model: Path = Field(MODELS_DIR / "detector" / "plate_detector.onnx")
    ocr_model: Path = Field(MODELS_DIR / "ocr" / "plate_ocr.onnx")
    ocr_config: Path = Field(MODELS_DIR / "ocr" / "plate_config.yaml")
    threads: int = Field(2, ge=1, le=64, description="onnxruntime threads per model")
    max_candidates: int = Field(8, ge=1, le=32, description="digests per read")
    min_ocr_confidence: float = Field(0.5, ge=0, le=1)
    evidence_window_s: float = Field(120.0, gt=0, le=3600, description="how long crops stay in RAM")


@dataclass
class EdgeStats:
    frames: int = 0
    corrupt_frames: int = 0
    reads: int = 0
    seconds: float = 0.0
    stage_ms: dict[str, float] = field(default_factory=dict)  # mean ms per frame of each stage

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds else 0.0


def build_pipeline(settings: EdgeSettings, keys: KeyRing, evidence: EvidenceWindow) -> EdgePipeline:
    detector = PlateDetector(settings.detector_model, threads=settings.threads)
    reader = PlateReader(settings.ocr_model, settings.ocr_config, threads=settings.threads)
    ps = PipelineSettings(
        vehicle_id=settings.vehicle_id,
        camera_id=settings.camera_id,
        min_ocr_confidence=settings.min_ocr_confidence,
        candidates=CandidateSettings(max_candidates=settings.max_candidates),
    )
    return EdgePipeline(detector, reader, keys, ps, evidence)


async def run_edge(
    settings: EdgeSettings,
    keys: KeyRing,
    stop: asyncio.Event | None = None,
    on_read: Callable[[FinishedRead], None] | None = None,
) -> EdgeStats:
    """Process the whole source (or until `stop`), publishing one PlateRead per vehicle pass.

    `on_read` sees the in-process read (with plaintext candidates) and is for tests and
    benchmarks that measure accuracy; it must not write the plaintext anywhere.
    """
    open_video(settings.source.path).release()  # a missing or broken video fails before the models load
    evidence = EvidenceWindow(settings.evidence_window_s)
    pipeline = build_pipeline(settings, keys, evidence)
    await ensure_topics(settings.kafka)
    producer = AIOKafkaProducer(**settings.kafka.client_kwargs(), acks="all", linger_ms=5)
    await start_client(producer, settings.kafka)
    stats = EdgeStats()
    source_stats = SourceStats()
    pending: list[asyncio.Future[object]] = []

    async def publish(reads: list[FinishedRead]) -> None:
        for read in reads:
            if on_read is not None:
                on_read(read)
            value = read.event.model_dump_json().encode()
            pending.append(await producer.send(READS, value=value, key=read.event.event_id.encode()))
            stats.reads += 1

    t0 = time.perf_counter()
    try:
        frames = read_frames(settings.source, source_stats)
        while stop is None or not stop.is_set():
            frame = await asyncio.to_thread(next, frames, None)
            if frame is None:
                break
            reads = await asyncio.to_thread(pipeline.process, frame.image, frame.captured_at)
            await publish(reads)
        await publish(pipeline.flush())
        await asyncio.gather(*pending)  # every read acknowledged by the broker (acks=all)
    finally:
        await producer.stop()
        evidence.clear()
        stats.seconds = time.perf_counter() - t0
        stats.frames, stats.corrupt_frames = source_stats.frames, source_stats.corrupt
        stats.stage_ms = {k: 1000 * v / max(1, stats.frames) for k, v in pipeline.stage_s.items()}
    log.info("edge done: %d frames, %d reads, %.1f fps", stats.frames, stats.reads, stats.fps)
    return stats
