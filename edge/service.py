"""The edge service: capture -> detection thread -> reading thread -> outbox -> Kafka, with GPS, evidence, status.

`EdgeService.start()` reads as the list of parts it brings up; `run(stop)` processes the source
until it ends or `stop` is set and the outbox is drained; `stop()` (safe twice) takes it all down.
The broker may be unreachable at any time, also at start: reads then wait in the outbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import resource
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from pydantic import BaseModel, ConfigDict, Field

from contract.bus import KafkaSettings, ensure_topics, start_client
from contract.digest import KeyRing
from contract.errors import BrokerUnavailable, InputError
from contract.events import GpsFix
from edge.candidates import CandidateSettings
from edge.capture import Capture, CaptureSettings
from edge.deblur import DeblurSettings
from edge.detector import MAX_LARGE_PLATE_PASSES, DetectorSettings, PlateDetector
from edge.evidence import EvidenceWindow
from edge.frames import Frame, FrameSource, VideoFileSource, open_video
from edge.gps import GpsReceiver, GpsSettings, NoGps
from edge.monitor import EdgeMonitor
from edge.ocr import PlateReader
from edge.outbox import Outbox, OutboxSettings
from edge.pipeline import DetectionLike, EdgePipeline, FinishedRead, PipelineSettings
from edge.publisher import OutboxPublisher, answer_evidence_requests, start_evidence_consumer
from edge.status import StatusServer
from edge.tracker import Fusion, TrackerSettings

log = logging.getLogger("scanauto.edge")
MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
_ID = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"


class EdgeSettings(BaseModel):
    """Everything one edge process needs; load once at start (YAML/JSON file or arguments)."""

    model_config = ConfigDict(extra="forbid")

    vehicle_id: str = Field("scan-01", pattern=_ID, description="this vehicle; evidence requests are keyed by it")
    camera_id: str = Field("cam-front", pattern=_ID)
    source: FrameSource
    capture: CaptureSettings = Field(default_factory=CaptureSettings)
    gps: GpsSettings = Field(default_factory=NoGps)
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    outbox: OutboxSettings = Field(default_factory=OutboxSettings)
    status_host: str = Field("127.0.0.1", description="address of the status page; keep it on loopback")
    status_port: int | None = Field(8080, ge=0, le=65535, description="status page port; 0: any free; null: off")
    detector_model: Path = Field(MODELS_DIR / "detector" / "plate_detector.onnx")
    detector_large_plate_passes: int = Field(
        1,
        ge=0,
        le=MAX_LARGE_PLATE_PASSES,
        description="run the detector again on the frame at 1/2 and 1/4 of the scale (2), at 1/2 only (1) or not (0), "
        "for plates too large for it at full scale (over about a quarter of the frame's width); needs a detector "
        "of any input size (version 8.4 on); 2 finds plates up to 3/4 of the frame's width for about 1.1 ms more "
        'per frame (detector card, "Version 8.4")',
    )
    ocr_model: Path = Field(MODELS_DIR / "ocr" / "plate_ocr.onnx")
    ocr_config: Path = Field(MODELS_DIR / "ocr" / "plate_config.yaml")
    threads: int = Field(
        1,
        ge=1,
        le=64,
        description="onnxruntime threads per model; detection and reading run in two threads, each on its own "
        "core with 1; 2 per model oversubscribes a 2-core machine (bench edge 2026-12-04: 62 frames dropped at "
        "30 fps against 0, unpaced 29.8 fps against 48.6)",
    )
    max_candidates: int = Field(8, ge=1, le=32, description="digests per read (the read and its alternatives)")
    min_alternative_prob: float = Field(
        CandidateSettings().min_alternative_prob,
        ge=0,
        le=1,
        description="an alternative reading below this OCR probability is not digested (each digest is a possible "
        "hit; the best reading always is)",
    )
    ctc_texts: bool = Field(
        CandidateSettings().ctc_texts,
        description="rank a read's texts on the OCR's CTC columns, readings of any length, when the model gives "
        "them (false: the greedy slots alone, the edge before 2026-12-07; models/README.md, session 40)",
    )
    deblur_views: bool = Field(
        DeblurSettings().enabled,
        description="read a box the OCR is unsure of, when it is smeared along the rows, also from a copy with the "
        "smear undone (measured in session 41, models/README.md: more synthetic plates read, fewer real ones; off)",
    )
    min_ocr_confidence: float = Field(0.5, ge=0, le=1, description="a fused read below this is not reported")
    max_track_age_frames: int = Field(300, ge=10, le=100_000, description="report a read after this many frames")
    min_track_frames: int = Field(
        4, ge=1, le=100, description="a plate seen in fewer frames is a flicker (a sign, a reflection): no read"
    )
    track_fusion: Fusion = Field(
        TrackerSettings().fusion,
        description="how a track's frames vote: log-mean (their log-probabilities) or mean (their distributions, "
        "the edge before 2026-12-07, which keeps more alternatives; with min_alternative_prob 0 the old edge)",
    )
    evidence_window_s: float = Field(120.0, gt=0, le=3600, description="how long crops stay in RAM")
    publish_timeout_s: float = Field(20.0, gt=0, le=600, description="a batch not acknowledged by then is retried")
    drain_timeout_s: float = Field(30.0, ge=0, le=3600, description="at the end, wait this long to empty the outbox")


@dataclass
class EdgeStats:
    """Figures of one run, for the CLI, the demo and the benchmark (no plate text)."""

    frames: int = 0
    processed: int = 0
    corrupt_frames: int = 0
    dropped_frames: int = 0
    reads: int = 0
    acked: int = 0
    outbox_left: int = 0
    seconds: float = 0.0
    cpu_s: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    stage_ms: dict[str, float] = field(default_factory=dict)  # mean ms per frame of each stage
    status_json: str = ""  # the status as last served, for privacy scans
    metrics_text: str = ""

    @property
    def fps(self) -> float:
        return self.processed / self.seconds if self.seconds else 0.0


def build_pipeline(settings: EdgeSettings, keys: KeyRing, evidence: EvidenceWindow) -> EdgePipeline:
    detector = PlateDetector(
        settings.detector_model,
        settings.threads,
        DetectorSettings(large_plate_passes=settings.detector_large_plate_passes),
    )
    reader = PlateReader(settings.ocr_model, settings.ocr_config, threads=settings.threads)
    ps = PipelineSettings(
        vehicle_id=settings.vehicle_id,
        camera_id=settings.camera_id,
        min_ocr_confidence=settings.min_ocr_confidence,
        deblur=DeblurSettings(enabled=settings.deblur_views),
        candidates=CandidateSettings(
            max_candidates=settings.max_candidates,
            min_alternative_prob=settings.min_alternative_prob,
            ctc_texts=settings.ctc_texts,
        ),
        tracker=TrackerSettings(
            max_age_frames=settings.max_track_age_frames,
            min_frames=settings.min_track_frames,
            fusion=settings.track_fusion,
        ),
    )
    return EdgePipeline(detector, reader, keys, ps, evidence)


class EdgeService:
    """One edge process. `on_read` sees reads with plaintext (tests, benchmarks): never write it anywhere."""

    def __init__(
        self, settings: EdgeSettings, keys: KeyRing, on_read: Callable[[FinishedRead], None] | None = None
    ) -> None:
        self.settings, self.keys, self._on_read = settings, keys, on_read
        self.evidence = EvidenceWindow(settings.evidence_window_s)
        self.capture = Capture(settings.source, settings.capture)
        self.gps = GpsReceiver(settings.gps)
        self.outbox: Outbox | None = None
        self.publisher: OutboxPublisher | None = None
        self.monitor: EdgeMonitor | None = None
        self.status: StatusServer | None = None
        self._pipeline: EdgePipeline | None = None
        self._producer: AIOKafkaProducer | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._halt = threading.Event()  # asks the inference threads to stop
        self._side_stop = asyncio.Event()
        self._connected = asyncio.Event()
        self._stopped = False

    async def start(self) -> None:
        s = self.settings
        if isinstance(s.source, VideoFileSource):
            open_video(s.source.path).release()  # a missing or broken video fails before the models load
        self._pipeline = await asyncio.to_thread(build_pipeline, s, self.keys, self.evidence)
        self.outbox = Outbox(s.outbox)
        self._producer = AIOKafkaProducer(
            **s.kafka.client_kwargs(), acks="all", linger_ms=5, max_request_size=16_000_000
        )
        self.publisher = OutboxPublisher(self.outbox, self._producer)
        self.monitor = EdgeMonitor(
            s.vehicle_id, s.camera_id, self.capture, self.gps, self.outbox, self.publisher.stats, self.evidence
        )
        if s.status_port is not None:
            self.status = StatusServer(self.monitor.status, s.status_host, s.status_port)
            self.status.start()
        self.gps.start()
        self._tasks = [
            asyncio.create_task(self._connect_and_publish(), name="edge-publish"),
            asyncio.create_task(self._answer_evidence(), name="edge-evidence"),
        ]
        self.capture.start()
        log.info("edge %s/%s started; outbox holds %d read(s)", s.vehicle_id, s.camera_id, len(self.outbox))

    async def _connect_and_publish(self) -> None:
        """Connect to the broker (retrying: the link may be down at start), then publish the outbox."""
        assert self.publisher is not None and self._producer is not None
        backoff = 0.5
        while not self._side_stop.is_set():
            try:
                await ensure_topics(self.settings.kafka)
                await start_client(self._producer, self.settings.kafka)
                self.publisher.connected()
                self._connected.set()
                break
            except (BrokerUnavailable, KafkaError, OSError) as exc:
                self.publisher.down(exc)
                await asyncio.sleep(backoff)
                backoff = min(10.0, backoff * 2)
        await self.publisher.run(self._side_stop, self.settings.publish_timeout_s)

    async def _answer_evidence(self) -> None:
        assert self.publisher is not None and self._producer is not None
        s = self.settings
        await self._connected.wait()  # topics verified (a subscription must not auto-create them)
        while not self._side_stop.is_set():
            consumer = None
            try:
                consumer = await start_evidence_consumer(s.kafka, s.vehicle_id)
                await answer_evidence_requests(
                    consumer, self._producer, self.evidence, s.vehicle_id, self.publisher.stats, self._side_stop
                )
            except (BrokerUnavailable, KafkaError, OSError) as exc:
                log.warning("evidence requests unavailable (%s); retrying", type(exc).__name__)
                await asyncio.sleep(2.0)
            finally:
                if consumer is not None:
                    with contextlib.suppress(KafkaError, OSError, RuntimeError):
                        await consumer.stop()

    def _infer(self, loop: asyncio.AbstractEventLoop) -> None:
        """The inference, in two threads: one detects the plates of the next frame while this one reads, tracks and
        queues the reads of the frame before. Each holds one model (one onnxruntime thread each), so on the
        2-core vehicle computer both cores work; in one thread the second core idled while the frame rate fell
        behind 30 fps (README, "Measured"). Frames keep their order: each stage is one thread, the hand-off FIFO."""
        handoff: queue.Queue[_Detected | BaseException | None] = queue.Queue(maxsize=1)
        done = threading.Event()
        detector = threading.Thread(target=self._detect, args=(handoff, done), name="edge-detect", daemon=True)
        detector.start()
        try:
            self._read(handoff, loop)
        finally:
            done.set()
            detector.join()

    def _detect(self, handoff: queue.Queue[_Detected | BaseException | None], done: threading.Event) -> None:
        """The detection thread: frames from the capture queue, with their boxes and GPS fix, to the hand-off."""
        assert self._pipeline is not None and self.monitor is not None
        pipeline, times, frames = self._pipeline, self.monitor.times, self.capture.queue
        try:
            while not (self._halt.is_set() or done.is_set()):
                item = frames.get(timeout=0.25)
                if item is False:
                    continue
                if item is None:  # the source ended
                    _hand(handoff, None, done)
                    return
                assert not isinstance(item, bool)
                t0 = time.perf_counter()
                dets = pipeline.detect(item.image)
                times.stage_s["detect"] += time.perf_counter() - t0
                _hand(handoff, _Detected(item, self.gps.fix(), dets), done)
        except BaseException as exc:  # the reading thread raises it, so `run` does
            _hand(handoff, exc, done)

    def _read(self, handoff: queue.Queue[_Detected | BaseException | None], loop: asyncio.AbstractEventLoop) -> None:
        """The reading thread: detected frames to reads in the outbox."""
        assert self._pipeline is not None and self.outbox is not None and self.monitor is not None
        pipeline, times = self._pipeline, self.monitor.times
        wake = self.publisher.wake if self.publisher else None
        last_sweep = time.monotonic()
        while not self._halt.is_set():
            try:
                got = handoff.get(timeout=0.25)
            except queue.Empty:
                got = False
            if time.monotonic() - last_sweep >= 0.5:  # the window wipes on time, frames or not
                self.evidence.sweep()
                last_sweep = time.monotonic()
            if got is False:
                continue
            if isinstance(got, BaseException):
                raise got
            if got is None:  # the source ended
                self._queue_reads(pipeline.flush(self.gps.fix()), loop, wake)
                return
            item = got.frame
            before = dict(pipeline.stage_s)
            reads = pipeline.process(item.image, item.captured_at, got.gps, index=item.index, detections=got.boxes)
            t0 = time.perf_counter()
            self._queue_reads(reads, loop, wake)
            done = time.perf_counter()
            for k, v in pipeline.stage_s.items():
                times.stage_s[k] += v - before[k]
            times.stage_s["outbox"] += done - t0
            times.processed += 1
            times.latency_ms.append(1000 * (done - item.grabbed))
        self._queue_reads(pipeline.flush(self.gps.fix()), loop, wake)

    def _queue_reads(
        self, reads: list[FinishedRead], loop: asyncio.AbstractEventLoop, wake: asyncio.Event | None
    ) -> None:
        if not reads:
            return
        assert self.outbox is not None and self.monitor is not None
        self.outbox.append([r.event for r in reads])  # durable before anything else happens
        self.monitor.times.add_reads(len(reads))
        if wake is not None:
            loop.call_soon_threadsafe(wake.set)
        if self._on_read is not None:
            for read in reads:
                self._on_read(read)

    async def run(self, stop: asyncio.Event | None = None) -> EdgeStats:
        """Process until the source ends or `stop` is set, then send what the outbox holds."""
        assert self.publisher is not None and self.outbox is not None
        loop = asyncio.get_running_loop()
        cpu0, t0 = _cpu_s(), time.perf_counter()
        infer = asyncio.create_task(asyncio.to_thread(self._infer, loop))
        waiter = asyncio.create_task((stop or asyncio.Event()).wait())
        await asyncio.wait({infer, waiter, *self._tasks}, return_when=asyncio.FIRST_COMPLETED)
        self._halt.set()
        self.capture.stop()
        waiter.cancel()
        await infer  # raises what an inference thread raised
        for task in self._tasks:
            if task.done() and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
        seconds = time.perf_counter() - t0
        self.publisher.wake.set()
        if self.settings.drain_timeout_s and len(self.outbox):
            deadline = time.monotonic() + self.settings.drain_timeout_s
            while len(self.outbox) and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
        if self.capture.stats.error:  # a broken file: reconnecting could not help
            raise InputError(self.capture.stats.error)
        return self._stats(seconds, _cpu_s() - cpu0)

    def _stats(self, seconds: float, cpu_s: float) -> EdgeStats:
        assert self.monitor is not None and self.outbox is not None and self.publisher is not None
        m, cap = self.monitor, self.capture
        status = m.status()
        metrics = self.status.render("/metrics")[2].decode() if self.status else ""
        return EdgeStats(
            frames=cap.stats.frames, processed=m.times.processed, corrupt_frames=cap.stats.corrupt,
            dropped_frames=cap.dropped, reads=m.times.reads, acked=self.publisher.stats.acked,
            outbox_left=len(self.outbox), seconds=seconds, cpu_s=cpu_s, p50_ms=status.frame_latency_p50_ms,
            p99_ms=status.frame_latency_p99_ms, stage_ms=m.stage_ms(), status_json=status.model_dump_json(),
            metrics_text=metrics,
        )  # fmt: skip

    async def stop(self) -> None:
        """Stop every part and wipe the evidence; safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        self._halt.set()
        self._side_stop.set()
        self.capture.stop()
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._producer is not None:
            with contextlib.suppress(KafkaError, OSError, RuntimeError):
                await self._producer.stop()
        self.gps.stop()
        if self.status is not None:
            self.status.stop()
        if self.outbox is not None:
            self.outbox.close()
        self.evidence.clear()


@dataclass(frozen=True, slots=True)
class _Detected:
    """A frame handed from the detection thread to the reading thread."""

    frame: Frame
    gps: GpsFix | None
    boxes: list[DetectionLike]


def _hand(
    handoff: queue.Queue[_Detected | BaseException | None],
    item: _Detected | BaseException | None,
    done: threading.Event,
) -> None:
    """Put `item` into the hand-off, waiting for room until the reading thread has ended."""
    while not done.is_set():
        try:
            handoff.put(item, timeout=0.25)
            return
        except queue.Full:
            continue


def _cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


async def run_edge(
    settings: EdgeSettings,
    keys: KeyRing,
    stop: asyncio.Event | None = None,
    on_read: Callable[[FinishedRead], None] | None = None,
) -> EdgeStats:
    """Start, process the whole source (or until `stop`), drain the outbox, stop."""
    service = EdgeService(settings, keys, on_read)
    try:
        await service.start()
        stats = await service.run(stop)
    finally:
        await service.stop()
    log.info(
        "edge done: %d frames, %d reads (%d acknowledged, %d left in the outbox), %.1f fps",
        stats.frames, stats.reads, stats.acked, stats.outbox_left, stats.fps,
    )  # fmt: skip
    return stats
