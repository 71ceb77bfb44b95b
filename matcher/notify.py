"""Police notification: each hit delivered to every target from the durable queue in the store,
signed, retried with exponential backoff and jitter until a 2xx; idempotency key = hit id."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import http.client
import logging
import os
import random
import time
import urllib.parse
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from contract.errors import ConfigError
from contract.events import Hit, utcnow
from matcher.store import Delivery, HitStore

log = logging.getLogger("scanauto.matcher.notify")
SIGNATURE_HEADER = "X-Scanauto-Signature"
MIN_SECRET_BYTES = 32


class WebhookTarget(BaseModel):
    """POST each hit as JSON to a police endpoint."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["webhook"] = "webhook"
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$", description="stable id of the target in the queue")
    url: str = Field(pattern=r"^https?://", description="http(s) endpoint")
    secret_env: str | None = Field(None, description="environment variable holding the signing secret")
    secret_file: Path | None = Field(None, description="file holding the signing secret")
    timeout_s: float = Field(10.0, gt=0, le=120)

    def secret(self) -> bytes:
        if self.secret_file is not None:
            value = self.secret_file.read_bytes().strip()
        elif self.secret_env is not None:
            value = os.environ.get(self.secret_env, "").encode()
        else:
            raise ConfigError(f"webhook {self.name}: set secret_env or secret_file")
        if len(value) < MIN_SECRET_BYTES:
            raise ConfigError(f"webhook {self.name}: signing secret must be at least {MIN_SECRET_BYTES} bytes")
        return value


class ConsoleTarget(BaseModel):
    """Print each hit on standard output (an operator's terminal)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["console"] = "console"
    name: str = "console"


Target = Annotated[WebhookTarget | ConsoleTarget, Field(discriminator="kind")]


class NotifySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    targets: list[Target] = Field(default_factory=list)
    base_backoff_s: float = Field(1.0, gt=0, le=600, description="first retry delay")
    max_backoff_s: float = Field(300.0, gt=0, le=86_400, description="longest retry delay")
    poll_s: float = Field(0.2, gt=0, le=60, description="how often the queue is checked")
    alarm_after_s: float = Field(300.0, gt=0, description="raise the alarm when a hit waits longer than this")


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """Signature header value: HMAC-SHA256 over 'timestamp.body'."""
    mac = hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: bytes, header: str, body: bytes, now: float, tolerance_s: float = 300) -> bool:
    """What a receiver does: check the signature and that it is recent (replay protection)."""
    try:
        parts = dict(p.split("=", 1) for p in header.split(","))
        timestamp = int(parts["t"])
    except (ValueError, KeyError):
        return False
    if abs(now - timestamp) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), header)


def backoff(attempts: int, base_s: float, max_s: float, rng: random.Random) -> float:
    """Exponential backoff with 'equal jitter': half fixed, half random, capped."""
    delay = min(max_s, base_s * 2 ** max(0, attempts))
    return delay / 2 + rng.uniform(0, delay / 2)


def _post(url: str, body: bytes, headers: dict[str, str], timeout_s: float) -> int:
    parsed = urllib.parse.urlsplit(url)
    conn_cls = http.client.HTTPSConnection if parsed.scheme == "https" else http.client.HTTPConnection
    conn = conn_cls(parsed.hostname or "", parsed.port, timeout=timeout_s)
    try:
        path = (parsed.path or "/") + (f"?{parsed.query}" if parsed.query else "")
        conn.request("POST", path, body, headers)
        response = conn.getresponse()
        response.read()
        return int(response.status)
    finally:
        conn.close()


@dataclass
class NotifyStats:
    delivered: int = 0
    failed_attempts: int = 0
    oldest_waiting_s: float = 0.0
    alarm: bool = False


class Notifier:
    """Drains the store's delivery queue; safe across restarts (the queue is in SQLite)."""

    def __init__(self, settings: NotifySettings, store: HitStore, rng: random.Random | None = None) -> None:
        self.settings = settings
        self.store = store
        self.stats = NotifyStats()
        self._targets = {t.name: t for t in settings.targets}
        self._secrets = {t.name: t.secret() for t in settings.targets if isinstance(t, WebhookTarget)}
        self._rng = rng or random.Random()

    @property
    def target_names(self) -> list[str]:
        return list(self._targets)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.drain_once()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.settings.poll_s)

    async def drain_once(self) -> int:
        """Attempt every due delivery once; returns how many were delivered."""
        now = utcnow()
        due = self.store.due_deliveries(now)
        delivered = 0
        results = await asyncio.gather(*(self._attempt(d) for d in due))
        for d, error in zip(due, results, strict=True):
            if error is None:
                self.store.mark_delivered(d.hit.hit_id, d.target, utcnow())
                self.stats.delivered += 1
                delivered += 1
            else:
                self.stats.failed_attempts += 1
                delay = backoff(d.attempts, self.settings.base_backoff_s, self.settings.max_backoff_s, self._rng)
                self.store.mark_failed(d.hit.hit_id, d.target, error, utcnow() + timedelta(seconds=delay))
                log.warning(
                    "delivery of hit %s to %s failed (attempt %d, retry in %.1f s): %s",
                    d.hit.hit_id,
                    d.target,
                    d.attempts + 1,
                    delay,
                    error,
                )
        self._update_alarm(now)
        return delivered

    def _update_alarm(self, now: datetime) -> None:
        oldest = self.store.oldest_undelivered()
        self.stats.oldest_waiting_s = (now - oldest).total_seconds() if oldest else 0.0
        alarm = self.stats.oldest_waiting_s > self.settings.alarm_after_s
        if alarm and not self.stats.alarm:
            log.error("ALARM: a hit has waited %.0f s for delivery to the police", self.stats.oldest_waiting_s)
        self.stats.alarm = alarm

    async def _attempt(self, d: Delivery) -> str | None:
        """None on success, else the reason."""
        target = self._targets.get(d.target)
        if target is None:
            return f"target {d.target!r} is no longer configured"
        if isinstance(target, ConsoleTarget):
            print(_console_line(d.hit), flush=True)
            return None
        body = d.hit.model_dump_json().encode()
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": d.hit.hit_id,
            SIGNATURE_HEADER: sign(self._secrets[target.name], int(time.time()), body),
            "User-Agent": "scanauto-matcher",
        }
        try:
            status = await asyncio.to_thread(_post, target.url, body, headers, target.timeout_s)
        except (OSError, http.client.HTTPException) as exc:
            return f"{type(exc).__name__}: {exc}"
        return None if 200 <= status < 300 else f"HTTP {status}"


def _console_line(hit: Hit) -> str:
    from contract.sidecodes import format_display

    return (
        f"HIT list={hit.list} reference={hit.reference} plate={format_display(hit.plate)} "
        f"captured={hit.captured_at.isoformat(timespec='seconds')} vehicle={hit.vehicle_id} "
        f"p={hit.probability:.2f}"
    )
