"""The operator's status page, its JSON and Prometheus metrics, served on loopback from a thread.

`/` is a small page whose script polls `/status.json`; `/metrics` is the Prometheus text format.
Everything shown comes from `EdgeMonitor.status()`: states, counts and timings, never plate text.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from edge.monitor import EdgeStatus

log = logging.getLogger("scanauto.edge.status")

_STATES = {
    "camera": ("starting", "ok", "stalled", "reconnecting", "ended", "failed", "stopped"),
    "gps": ("off", "starting", "no-fix", "fix", "stale", "disconnected"),
    "link": ("connecting", "up", "down"),
}


class EdgeCollector(Collector):
    """Metric families from a fresh status on every scrape."""

    def __init__(self, status: Callable[[], EdgeStatus]) -> None:
        self._status = status

    def collect(self) -> Iterator[Metric]:
        s = self._status()
        counters = [
            ("frames", "frames captured", s.camera.frames),
            ("frames_processed", "frames through the pipeline", s.camera.processed),
            ("frames_dropped", "frames dropped by the newest-wins capture queue", s.camera.dropped),
            ("frames_corrupt", "corrupt frames skipped", s.camera.corrupt),
            ("camera_reconnects", "camera reconnect attempts", s.camera.reconnects),
            ("camera_stalls", "times the camera stalled", s.camera.stalls),
            ("reads", "reads produced (one per vehicle pass)", s.reads),
            ("reads_acked", "reads acknowledged by the broker (acks=all)", s.link.acked),
            ("publish_failures", "failed send attempts (reads stayed in the outbox)", s.link.failures),
            ("outbox_dropped", "oldest reads dropped because the outbox was full", s.outbox.dropped),
            ("evidence_wiped", "evidence items wiped at the end of their window", s.evidence.wiped),
            ("evidence_answered", "evidence requests answered with crop and context", s.evidence.answered),
            ("evidence_expired", "evidence requests answered 'expired'", s.evidence.expired),
            (
                "evidence_refused",
                "evidence requests refused: no proof of a hit",
                s.evidence.refused,
            ),
        ]
        for name, help_text, value in counters:
            yield CounterMetricFamily(f"scanauto_edge_{name}", help_text, value=float(value))
        gauges = [
            ("fps", "frames captured per second", s.camera.fps),
            ("frame_latency_p50_ms", "median time from capture to read queued", s.frame_latency_p50_ms),
            ("frame_latency_p99_ms", "99th percentile time from capture to read queued", s.frame_latency_p99_ms),
            ("reads_per_minute", "reads in the last minute", s.reads_per_minute),
            ("outbox_backlog", "reads waiting in the outbox", s.outbox.backlog),
            ("outbox_oldest_seconds", "age of the oldest read in the outbox", s.outbox.oldest_s),
            ("broker_down_seconds", "how long the broker has been unreachable", s.link.down_for_s),
            ("gps_fix_quality", "NMEA fix quality (0 = none)", s.gps.fix_quality),
            (
                "gps_fix_age_seconds",
                "age of the GPS fix (-1 = none)",
                -1 if s.gps.fix_age_s is None else s.gps.fix_age_s,
            ),
            ("evidence_held", "reads whose crop is in RAM now", s.evidence.held),
            ("evidence_window_seconds", "configured evidence window", s.evidence.window_s),
            ("evidence_oldest_age_seconds", "longest any crop lived in RAM, measured", s.evidence.oldest_age_ever_s),
            ("alarms", "active alarms", len(s.alarms)),
        ]
        for name, help_text, value in gauges:
            yield GaugeMetricFamily(f"scanauto_edge_{name}", help_text, value=float(value))
        stage = GaugeMetricFamily("scanauto_edge_stage_ms", "mean ms per frame of each stage", labels=["stage"])
        for name, ms in s.latency_ms.items():
            stage.add_metric([name], ms)
        yield stage
        for part, current in (("camera", s.camera.state), ("gps", s.gps.state), ("link", s.link.state)):
            fam = GaugeMetricFamily(
                f"scanauto_edge_{part}_state", f"1 for the {part}'s current state", labels=["state"]
            )
            for state in _STATES[part]:
                fam.add_metric([state], 1.0 if state == current else 0.0)
            yield fam


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>scanauto edge</title>
<style>
body{font:15px system-ui,sans-serif;margin:1.5em;background:#111;color:#eee}
h1{font-size:1.2em} table{border-collapse:collapse;margin:.5em 0} td{padding:.2em .8em;border-bottom:1px solid #333}
td:first-child{color:#aaa} .ok{color:#5d5} .bad{color:#f55;font-weight:bold} #alarms li{color:#f55}
</style></head><body>
<h1>scanauto edge <span id="vehicle"></span></h1>
<ul id="alarms"></ul>
<table>
<tr><td>camera</td><td id="camera-state">...</td></tr>
<tr><td>frames/s</td><td id="fps"></td></tr>
<tr><td>frames dropped / corrupt</td><td id="dropped"></td></tr>
<tr><td>frame latency p50 / p99</td><td id="latency"></td></tr>
<tr><td>ms per frame by stage</td><td id="stages"></td></tr>
<tr><td>GPS</td><td id="gps"></td></tr>
<tr><td>broker link</td><td id="link"></td></tr>
<tr><td>outbox backlog</td><td id="outbox"></td></tr>
<tr><td>reads per minute</td><td id="rpm"></td></tr>
<tr><td>evidence in RAM (oldest ever)</td><td id="evidence"></td></tr>
</table>
<p id="updated">waiting for the first status ...</p>
<script>
function set(id, text, good) {
  const el = document.getElementById(id); el.textContent = text;
  if (good !== undefined) el.className = good ? "ok" : "bad";
}
async function refresh() {
  try {
    const s = await (await fetch("/status.json", {cache: "no-store"})).json();
    set("vehicle", s.vehicle_id + " / " + s.camera_id);
    set("camera-state", s.camera.state, s.camera.state === "ok" || s.camera.state === "ended");
    set("fps", s.camera.fps.toFixed(1));
    set("dropped", s.camera.dropped + " / " + s.camera.corrupt);
    set("latency", s.frame_latency_p50_ms.toFixed(1) + " ms / " + s.frame_latency_p99_ms.toFixed(1) + " ms");
    set("stages", Object.entries(s.latency_ms).map(([k, v]) => k + " " + v.toFixed(1)).join(", "));
    const g = s.gps;
    set("gps", g.state === "fix" ? "fix q" + g.fix_quality + ", " + g.fix_age_s.toFixed(1) + " s old" : g.state,
        g.state === "fix" || g.state === "off");
    set("link", s.link.state + " (" + s.link.acked + " acked)", s.link.state === "up");
    set("outbox", s.outbox.backlog + " of " + s.outbox.max_reads, s.outbox.backlog < 0.8 * s.outbox.max_reads);
    set("rpm", String(s.reads_per_minute));
    const e = s.evidence;
    set("evidence", e.held + " (" + e.oldest_age_ever_s.toFixed(1) + " s of " + e.window_s + " s)");
    const list = document.getElementById("alarms"); list.replaceChildren();
    for (const a of s.alarms) { const li = document.createElement("li"); li.textContent = a; list.appendChild(li); }
    set("updated", "updated " + new Date().toLocaleTimeString() + ", " + s.alarms.length + " alarm(s)");
  } catch (e) { set("updated", "status unavailable: " + e, false); }
}
refresh(); setInterval(refresh, 1000);
</script></body></html>
"""


class StatusServer:
    """Serves `/`, `/status.json` and `/metrics`; `start()`, then `stop()` (safe twice)."""

    def __init__(self, status: Callable[[], EdgeStatus], host: str = "127.0.0.1", port: int = 8080) -> None:
        self._status = status
        self._registry = CollectorRegistry(auto_describe=False)
        self._registry.register(EdgeCollector(status))
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.host, self.port = host, port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    def render(self, path: str) -> tuple[int, str, bytes]:
        """Status code, content type and body for a path (the handler's pure part)."""
        route = path.split("?", 1)[0]
        if route in ("/", "/index.html"):
            return 200, "text/html; charset=utf-8", PAGE.encode()
        if route == "/status.json":
            return 200, "application/json", self._status().model_dump_json().encode()
        if route == "/metrics":
            return 200, "text/plain; version=0.0.4; charset=utf-8", generate_latest(self._registry)
        return 404, "text/plain; charset=utf-8", b"not found: try /, /status.json or /metrics\n"

    def start(self) -> None:
        render = self.render

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                code, ctype, body = render(self.path)
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass  # requests are not worth a log line each

        self._server = ThreadingHTTPServer((self.host, self.port), Handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, name="edge-status", daemon=True)
        self._thread.start()
        log.info("operator status on %s", self.url)

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
