"""Police webhooks against a real HTTP server on loopback that fails for a while, then recovers."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from contract.events import Hit, hit_id_for, new_event_id
from matcher.notify import SIGNATURE_HEADER, Notifier, NotifySettings, WebhookTarget, backoff, verify
from matcher.store import HitStore
from scanauto.broker import free_port

SECRET = b"s" * 16 + b"e" * 16 + b"c" * 8


class PoliceEndpoint:
    """Answers 503 until `healthy_after` (monotonic), then 200; records what it accepted."""

    def __init__(self, healthy_after_s: float) -> None:
        self.healthy_at = time.monotonic() + healthy_after_s
        self.accepted: list[str] = []  # idempotency keys of 2xx answers
        self.refused = 0
        self.bad_signatures = 0
        self.bodies: dict[str, dict[str, object]] = {}
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if not verify(SECRET, self.headers[SIGNATURE_HEADER], body, time.time()):
                    endpoint.bad_signatures += 1
                    self.send_response(401)
                elif time.monotonic() < endpoint.healthy_at:
                    endpoint.refused += 1
                    self.send_response(503)
                else:
                    key = self.headers["Idempotency-Key"]
                    endpoint.accepted.append(key)
                    endpoint.bodies[key] = json.loads(body)
                    self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hits?source=scanauto"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def endpoint() -> Iterator[PoliceEndpoint]:
    ep = PoliceEndpoint(healthy_after_s=1.0)
    yield ep
    ep.close()


def _hit(i: int, matched_at: datetime) -> Hit:
    read_id = new_event_id()
    return Hit(
        hit_id=hit_id_for(read_id, "stolen", f"SV-{i}"),
        read_event_id=read_id,
        list="stolen",
        reference=f"SV-{i}",
        plate=f"BD{10 + i}FG",
        captured_at=matched_at,
        matched_at=matched_at,
        vehicle_id="scan-01",
        camera_id="cam",
        probability=0.9,
        detection_confidence=0.9,
        key_id="k1",
    )


async def _drain(notifier: Notifier, store: HitStore, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while store.delivery_backlog() and time.monotonic() < deadline:
        await notifier.drain_once()
        await asyncio.sleep(0.02)


async def test_every_hit_delivered_once_after_the_endpoint_recovers(
    endpoint: PoliceEndpoint, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POLICE_SECRET", SECRET.decode())
    settings = NotifySettings(
        targets=[WebhookTarget(name="police", url=endpoint.url, secret_env="POLICE_SECRET", timeout_s=2)],
        base_backoff_s=0.05,
        max_backoff_s=0.3,
    )
    store = HitStore(tmp_path / "hits.sqlite")
    now = datetime.now(UTC)
    hits = [_hit(i, now) for i in range(6)]
    assert store.add(hits, ["police"]) == hits
    assert store.add(hits, ["police"]) == []  # a redelivered read queues nothing twice
    notifier = Notifier(settings, store)
    await _drain(notifier, store, timeout_s=15)

    assert store.delivery_backlog() == 0
    assert sorted(endpoint.accepted) == sorted(h.hit_id for h in hits)  # all delivered, none twice
    assert endpoint.refused > 0 and notifier.stats.failed_attempts == endpoint.refused
    assert endpoint.bad_signatures == 0
    assert endpoint.bodies[hits[0].hit_id]["reference"] == "SV-0"
    store.close()


async def test_queue_survives_a_restart_and_unreachable_endpoint_raises_the_alarm(tmp_path: Path) -> None:
    dead_url = f"http://127.0.0.1:{free_port()}/hits"  # nothing listens there
    secret_file = tmp_path / "secret"
    secret_file.write_bytes(SECRET)
    settings = NotifySettings(
        targets=[WebhookTarget(name="police", url=dead_url, secret_file=secret_file, timeout_s=1)],
        base_backoff_s=0.05,
        max_backoff_s=0.1,
        alarm_after_s=0.3,
    )
    store = HitStore(tmp_path / "hits.sqlite")
    store.add([_hit(1, datetime.now(UTC))], ["police"])
    notifier = Notifier(settings, store)
    await _drain(notifier, store, timeout_s=0.6)
    assert notifier.stats.failed_attempts >= 2 and notifier.stats.alarm
    store.close()

    # The matcher restarts; the queue is still there, and the endpoint is back.
    ep = PoliceEndpoint(healthy_after_s=0)
    try:
        store = HitStore(tmp_path / "hits.sqlite")
        moved = settings.model_copy(
            update={"targets": [WebhookTarget(name="police", url=ep.url, secret_file=secret_file)]}
        )
        notifier = Notifier(moved, store)
        await _drain(notifier, store, timeout_s=5)
        assert len(ep.accepted) == 1 and store.delivery_backlog() == 0 and not notifier.stats.alarm
        store.close()
    finally:
        ep.close()


def test_backoff_grows_exponentially_with_jitter_and_a_cap() -> None:
    import random

    rng = random.Random(1)
    delays = [backoff(a, 1.0, 60.0, rng) for a in range(10)]
    assert 0.5 <= delays[0] <= 1.0 and 4.0 <= delays[3] <= 8.0
    assert all(30.0 <= d <= 60.0 for d in delays[6:])
    assert len({round(d, 6) for d in delays}) == len(delays)  # jittered


def test_signature_rejects_tampering_and_replay() -> None:
    from matcher.notify import sign

    body = b'{"hit_id": "x"}'
    now = int(time.time())
    header = sign(SECRET, now, body)
    assert verify(SECRET, header, body, now)
    assert not verify(SECRET, header, body + b" ", now)
    assert not verify(b"x" * 32, header, body, now)
    assert not verify(SECRET, header, body, now + int(timedelta(minutes=10).total_seconds()))
