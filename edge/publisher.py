"""The edge's Kafka rim: outbox -> reads topic (acks=all, in order), and evidence requests -> answers."""

from __future__ import annotations

import asyncio
import base64
import collections
import contextlib
import logging
import time
from dataclasses import dataclass, field

import cv2
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import KafkaError
from pydantic import ValidationError

from contract.bus import KafkaSettings, start_client
from contract.events import Evidence, EvidenceRequest, utcnow
from contract.topics import EVIDENCE, EVIDENCE_REQUESTS, READS
from edge.evidence import EvidenceWindow
from edge.outbox import Outbox

log = logging.getLogger("scanauto.edge.publish")


@dataclass
class LinkStats:
    """The broker link as the publisher sees it."""

    up: bool = False
    state: str = "connecting"  # connecting | up | down
    acked: int = 0  # reads acknowledged by the broker (acks=all) and removed from the outbox
    failures: int = 0  # send attempts that failed (the reads stayed in the outbox)
    down_since: float | None = None  # time.monotonic()
    last_error: str | None = None
    publish_s: float = 0.0  # summed time from send to acknowledgement, per batch
    ack_ms: collections.deque[float] = field(default_factory=lambda: collections.deque(maxlen=2000))
    evidence_answered: int = 0
    evidence_expired: int = 0
    evidence_refused: int = 0

    @property
    def alarm(self) -> str | None:
        if self.state == "down" and self.down_since is not None:
            return f"broker unreachable for {time.monotonic() - self.down_since:.0f} s: reads wait in the outbox"
        return None


class OutboxPublisher:
    """Sends the outbox's reads in order; removes them only after the broker acknowledged them."""

    def __init__(self, outbox: Outbox, producer: AIOKafkaProducer, batch: int = 200, retry_max_s: float = 5.0) -> None:
        self.outbox, self.producer = outbox, producer
        self.batch, self.retry_max_s = batch, retry_max_s
        self.stats = LinkStats()
        self.wake = asyncio.Event()

    def connected(self) -> None:
        """The producer reached the broker."""
        st = self.stats
        if st.state != "up":
            if st.state == "down":
                log.info("broker link restored; sending the outbox backlog (%d reads)", len(self.outbox))
            st.up, st.state, st.down_since = True, "up", None

    def down(self, exc: BaseException) -> None:
        st = self.stats
        st.failures += 1
        st.last_error = type(exc).__name__
        if st.state != "down":
            st.down_since = time.monotonic()
            log.warning("broker link down (%s): reads wait in the outbox", type(exc).__name__)
        st.up, st.state = False, "down"

    async def send_pending(self, timeout_s: float) -> int:
        """Send one batch from the outbox; returns how many reads were acknowledged (0: empty)."""
        rows = await asyncio.to_thread(self.outbox.peek, self.batch)
        if not rows:
            return 0
        t0 = time.perf_counter()
        async with asyncio.timeout(timeout_s):
            futures = [await self.producer.send(READS, value=r.body, key=r.event_id.encode()) for r in rows]
            await asyncio.gather(*futures)
        elapsed = time.perf_counter() - t0
        await asyncio.to_thread(self.outbox.remove_through, rows[-1].seq)
        st = self.stats
        st.acked += len(rows)
        st.publish_s += elapsed
        st.ack_ms.append(1000 * elapsed)
        self.connected()
        return len(rows)

    async def run(self, stop: asyncio.Event, timeout_s: float) -> None:
        """Until `stop`: send whatever the outbox holds; back off while the broker is unreachable."""
        backoff = 0.2
        while not stop.is_set():
            try:
                sent = await self.send_pending(timeout_s)
                backoff = 0.2
            except (KafkaError, TimeoutError, OSError) as exc:
                self.down(exc)
                await _sleep_or(stop, backoff)
                backoff = min(self.retry_max_s, backoff * 2)
                continue
            if not sent:
                self.wake.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(0.2):
                        await self.wake.wait()

    async def drain(self, timeout_s: float, deadline_s: float) -> bool:
        """Send everything left (at shutdown); True when the outbox is empty."""
        end = time.monotonic() + deadline_s
        while len(self.outbox) and time.monotonic() < end:
            try:
                await self.send_pending(timeout_s)
            except (KafkaError, TimeoutError, OSError) as exc:
                self.down(exc)
                await asyncio.sleep(0.5)
        return not len(self.outbox)


async def _sleep_or(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await stop.wait()


def _jpeg_b64(image: object, quality: int) -> str:
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])  # type: ignore[call-overload]
    if not ok:
        raise ValueError("JPEG encoding failed")
    return base64.b64encode(buf.tobytes()).decode("ascii")


def answer(request: EvidenceRequest, window: EvidenceWindow, jpeg_quality: int = 90) -> Evidence:
    """The answer to an evidence request: the crop and context frame while held, else `expired`.

    `refused` when the request's plate is not one of the read's candidates: a request must prove
    a hit, so no one can fetch a non-hit's crop without knowing its plate already.
    """
    proof = window.proves(request.read_event_id, request.plate)
    if proof is False:
        return Evidence(
            request_id=request.request_id,
            hit_id=request.hit_id,
            read_event_id=request.read_event_id,
            vehicle_id=request.vehicle_id,
            status="refused",
            responded_at=utcnow(),
        )
    held = window.get(request.read_event_id) if proof else None
    crop = context = None
    if held is not None:
        crop, context = _jpeg_b64(held[0], jpeg_quality), _jpeg_b64(held[1], jpeg_quality)
        held[0].fill(0)  # the copies handed out are wiped too
        held[1].fill(0)
    return Evidence(
        request_id=request.request_id,
        hit_id=request.hit_id,
        read_event_id=request.read_event_id,
        vehicle_id=request.vehicle_id,
        status="ok" if held is not None else "expired",
        crop_jpeg_b64=crop,
        context_jpeg_b64=context,
        responded_at=utcnow(),
    )


async def start_evidence_consumer(kafka: KafkaSettings, vehicle_id: str) -> AIOKafkaConsumer:
    """This vehicle's consumer of evidence requests, connected and subscribed.

    It is started without its topic, so `start()` only reaches the broker (bounded by `connect_timeout_s`,
    "cannot reach Kafka" when it fails), and subscribed after: the group join happens in `getmany`, however
    long it takes. After an edge crashes, its successor's join waits for the dead member's session to end
    (11 s measured on the test broker), which used to pass for an unreachable broker.
    """
    # A group join waits about half the session timeout: requests must be allowed longer.
    kwargs = {**kafka.client_kwargs(), "request_timeout_ms": max(kafka.request_timeout_ms, 15_000)}
    consumer = AIOKafkaConsumer(
        **kwargs, group_id=f"scanauto-edge-{vehicle_id}", enable_auto_commit=False, auto_offset_reset="earliest",
        fetch_max_wait_ms=100, session_timeout_ms=6000, heartbeat_interval_ms=1000,
    )  # fmt: skip
    await start_client(consumer, kafka)
    consumer.subscribe([EVIDENCE_REQUESTS])
    return consumer


async def answer_evidence_requests(
    consumer: AIOKafkaConsumer,
    producer: AIOKafkaProducer,
    window: EvidenceWindow,
    vehicle_id: str,
    stats: LinkStats,
    stop: asyncio.Event,
) -> None:
    """Answer this vehicle's evidence requests; offsets are committed after the answers are acked."""
    while not stop.is_set():
        batch = await consumer.getmany(timeout_ms=300)
        sends = []
        for records in batch.values():
            for rec in records:
                try:
                    req = EvidenceRequest.model_validate_json(rec.value or b"")
                except ValidationError:
                    log.warning("invalid evidence request at offset %d skipped", rec.offset)
                    continue
                if req.vehicle_id != vehicle_id:
                    continue  # another vehicle's request
                ev = await asyncio.to_thread(answer, req, window)
                sends.append(
                    await producer.send(EVIDENCE, value=ev.model_dump_json().encode(), key=vehicle_id.encode())
                )
                if ev.status == "ok":
                    stats.evidence_answered += 1
                elif ev.status == "expired":
                    stats.evidence_expired += 1
                else:
                    stats.evidence_refused += 1
                    log.warning("evidence request for hit %s refused: its plate is not one of the read's", req.hit_id)
                log.info("evidence request for hit %s answered: %s", req.hit_id, ev.status)
        if batch:
            await asyncio.gather(*sends)
            await consumer.commit()
