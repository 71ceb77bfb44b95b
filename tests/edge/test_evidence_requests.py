"""Evidence requests over the real broker: answered with JPEGs while held, `expired` once wiped on time,
`refused` when the request's plate is not one of the read's candidates."""

from __future__ import annotations

import asyncio
import base64
import subprocess
import sys
import time

import cv2
import numpy as np
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from contract.bus import KafkaSettings, ensure_topics
from contract.digest import DigestKey, digest
from contract.events import Evidence, EvidenceRequest, new_event_id, utcnow
from contract.topics import EVIDENCE, EVIDENCE_REQUESTS
from edge.evidence import EvidenceWindow
from edge.publisher import LinkStats, answer_evidence_requests, start_evidence_consumer

KEY = DigestKey("k1", bytes(range(32)))
PLATE = "GB123X"


def _request(read_event_id: str, vehicle: str = "scan-01", plate: str = PLATE) -> EvidenceRequest:
    return EvidenceRequest(
        request_id=new_event_id(),
        hit_id=new_event_id(),
        read_event_id=read_event_id,
        vehicle_id=vehicle,
        plate=plate,
        requested_at=utcnow(),
    )


async def _answers(consumer: AIOKafkaConsumer, n: int, timeout: float = 20.0) -> list[Evidence]:
    out: list[Evidence] = []
    end = time.monotonic() + timeout
    while len(out) < n and time.monotonic() < end:
        for records in (await consumer.getmany(timeout_ms=200)).values():
            out += [Evidence.model_validate_json(r.value or b"") for r in records]
    return out


def test_window_wipes_on_time_without_being_asked() -> None:
    window = EvidenceWindow(window_s=0.3)
    window.put("c" * 32, np.full((20, 80, 3), 255, np.uint8), np.full((72, 128, 3), 255, np.uint8), frozenset(), KEY)
    time.sleep(0.35)
    assert window.oldest_age_ever_s >= 0.3  # measured while still held
    window.sweep()  # what the edge's inference loop does every half second
    assert len(window) == 0 and window.wiped == 1 and 0.3 <= window.oldest_age_s < 0.6


async def test_requests_for_this_vehicle_are_answered_while_held_then_expired(kafka: KafkaSettings) -> None:
    await ensure_topics(kafka)
    window = EvidenceWindow(window_s=2.0)
    held, other = new_event_id(), new_event_id()
    crop = np.zeros((30, 120, 3), np.uint8)
    cv2.putText(crop, "X", (50, 25), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (255, 255, 255), 2)

    producer = AIOKafkaProducer(**kafka.client_kwargs(), acks="all", max_request_size=16_000_000)
    requests = AIOKafkaConsumer(
        EVIDENCE_REQUESTS, **kafka.client_kwargs(), group_id="scanauto-edge-scan-01", enable_auto_commit=False,
        auto_offset_reset="earliest", fetch_max_wait_ms=50, session_timeout_ms=6000, heartbeat_interval_ms=500,
    )  # fmt: skip
    answers = AIOKafkaConsumer(EVIDENCE, **kafka.client_kwargs(), auto_offset_reset="earliest", fetch_max_wait_ms=50)
    for client in (producer, requests, answers):
        await client.start()
    stats, stop = LinkStats(), asyncio.Event()
    task = asyncio.create_task(answer_evidence_requests(requests, producer, window, "scan-01", stats, stop))
    try:
        while not requests.assignment():  # joined the group: requests flow from now on
            await asyncio.sleep(0.05)
        window.put(held, crop, np.full((360, 640, 3), 90, np.uint8), frozenset({digest(PLATE, KEY)}), KEY)
        fishing = _request(held, plate="GB123Y")  # a guess: refused, and the crop stays unseen
        await producer.send_and_wait(EVIDENCE_REQUESTS, fishing.model_dump_json().encode(), key=b"scan-01")
        (refused,) = await _answers(answers, 1)
        assert refused.request_id == fishing.request_id and refused.status == "refused"
        assert refused.crop_jpeg_b64 is None and refused.context_jpeg_b64 is None
        first = [_request(held), _request(other), _request(held, vehicle="scan-02")]
        for req in first:
            await producer.send_and_wait(EVIDENCE_REQUESTS, req.model_dump_json().encode(), key=req.vehicle_id.encode())
        got = {e.request_id: e for e in await _answers(answers, 2)}
        ok, missing = got[first[0].request_id], got[first[1].request_id]
        assert ok.status == "ok" and ok.vehicle_id == "scan-01" and ok.hit_id == first[0].hit_id
        assert ok.crop_jpeg_b64 and ok.context_jpeg_b64
        jpeg = cv2.imdecode(np.frombuffer(base64.b64decode(ok.crop_jpeg_b64), np.uint8), cv2.IMREAD_COLOR)
        assert jpeg.shape == (30, 120, 3) and jpeg.max() > 200  # the real crop
        assert missing.status == "expired" and missing.crop_jpeg_b64 is None
        assert first[2].request_id not in got  # another vehicle's request is not ours to answer

        await asyncio.sleep(2.1)  # past the window: wiped on time
        window.sweep()
        late = _request(held)
        await producer.send_and_wait(EVIDENCE_REQUESTS, late.model_dump_json().encode(), key=b"scan-01")
        (answer,) = await _answers(answers, 1)
        assert answer.request_id == late.request_id and answer.status == "expired"
        assert (stats.evidence_answered, stats.evidence_expired, stats.evidence_refused) == (1, 2, 1)
        assert 2.0 <= window.oldest_age_s < 3.0
    finally:
        stop.set()
        await task
        for client in (requests, answers, producer):
            await client.stop()


# A crashed edge: its evidence consumer joined the group, then the process dies without leaving it.
CRASHED_EDGE = """
import asyncio, sys
from aiokafka import AIOKafkaConsumer
async def main():
    consumer = AIOKafkaConsumer(sys.argv[2], bootstrap_servers=sys.argv[1], group_id=sys.argv[3],
                                session_timeout_ms=6000, heartbeat_interval_ms=1000)
    await consumer.start()
    print("joined", flush=True)
    await asyncio.sleep(600)
asyncio.run(main())
"""


async def test_an_edge_restarted_after_a_crash_answers_requests_without_calling_the_broker_unreachable(
    kafka: KafkaSettings,
) -> None:
    await ensure_topics(kafka)
    vehicle = "scan-crash"
    with subprocess.Popen(
        [sys.executable, "-c", CRASHED_EDGE, kafka.bootstrap_servers, EVIDENCE_REQUESTS, f"scanauto-edge-{vehicle}"],
        stdout=subprocess.PIPE, text=True,
    ) as crashed:  # fmt: skip
        assert crashed.stdout is not None and crashed.stdout.readline().strip() == "joined"
        crashed.kill()
    # The successor's join waits for the dead member's session to end (~11 s here): longer than this.
    quick = kafka.model_copy(update={"connect_timeout_s": 3.0})

    started = time.monotonic()
    requests = await start_evidence_consumer(quick, vehicle)  # raised BrokerUnavailable while the join took longer
    assert time.monotonic() - started < 3.0

    window = EvidenceWindow(window_s=60.0)
    held = new_event_id()
    window.put(held, np.zeros((30, 120, 3), np.uint8), np.zeros((72, 128, 3), np.uint8),
               frozenset({digest(PLATE, KEY)}), KEY)  # fmt: skip
    producer = AIOKafkaProducer(**kafka.client_kwargs(), acks="all", max_request_size=16_000_000)
    answers = AIOKafkaConsumer(EVIDENCE, **kafka.client_kwargs(), auto_offset_reset="earliest", fetch_max_wait_ms=50)
    for client in (producer, answers):
        await client.start()
    stats, stop = LinkStats(), asyncio.Event()
    task = asyncio.create_task(answer_evidence_requests(requests, producer, window, vehicle, stats, stop))
    try:
        request = _request(held, vehicle=vehicle)  # sent before the join completes: answered once it does
        await producer.send_and_wait(EVIDENCE_REQUESTS, request.model_dump_json().encode(), key=vehicle.encode())
        (answer,) = await _answers(answers, 1, timeout=40.0)
        assert answer.request_id == request.request_id and answer.status == "ok"
        assert requests.assignment()  # the join completed inside getmany
    finally:
        stop.set()
        await task
        for client in (requests, answers, producer):
            await client.stop()
