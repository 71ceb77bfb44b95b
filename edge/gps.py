"""GPS from NMEA sentences (serial device, replay file, or gpsd over TCP) with fix quality and age.

A receiver thread parses GGA/RMC sentences into the latest fix; `fix()` gives it as a contract
`GpsFix` with its age, or None when there is no fix (or it is too old): the read's field stays
empty and the status says why.
"""

from __future__ import annotations

import logging
import os
import socket
import termios
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import reduce
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from contract.events import GpsFix

log = logging.getLogger("scanauto.edge.gps")


class _Gps(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    max_fix_age_s: float = Field(5.0, gt=0, le=600, description="an older fix is no fix")
    backoff_max_s: float = Field(10.0, gt=0, le=600, description="longest wait between reconnect attempts")


class NoGps(_Gps):
    kind: Literal["none"] = "none"


class SerialGps(_Gps):
    """An NMEA receiver on a serial port (USB GPS mice show up as /dev/ttyUSB* or /dev/ttyACM*)."""

    kind: Literal["serial"] = "serial"
    device: Path = Field(Path("/dev/ttyUSB0"), description="serial device node")
    baud: Literal[4800, 9600, 19200, 38400, 57600, 115200] = Field(9600, description="line speed")


class ReplayGps(_Gps):
    """NMEA sentences replayed from a file (a recorded drive), one fix epoch per `interval_s`."""

    kind: Literal["replay"] = "replay"
    path: Path = Field(description="text file of NMEA sentences")
    interval_s: float = Field(1.0, ge=0, le=60, description="wait between fix epochs (0: as fast as possible)")
    loop: bool = Field(True, description="start over at the end of the file")


class GpsdGps(_Gps):
    """gpsd over TCP, asked to stream raw NMEA (`?WATCH={"nmea":true}`)."""

    kind: Literal["gpsd"] = "gpsd"
    host: str = Field("127.0.0.1", max_length=253)
    port: int = Field(2947, ge=1, le=65535)


GpsSettings = Annotated[NoGps | SerialGps | ReplayGps | GpsdGps, Field(discriminator="kind")]


@dataclass(frozen=True, slots=True)
class NmeaFix:
    lat: float
    lon: float
    quality: int  # GGA fix quality; 0 = no fix
    satellites: int | None


def _checksum_ok(sentence: str) -> bool:
    body, star, given = sentence[1:].partition("*")
    if not star:
        return False
    try:
        return reduce(lambda a, c: a ^ ord(c), body, 0) == int(given[:2], 16)
    except ValueError:
        return False


def _degrees(value: str, hemi: str) -> float:
    raw = float(value)
    deg = int(raw // 100)
    out = deg + (raw - deg * 100) / 60
    return -out if hemi in ("S", "W") else out


def parse_nmea(line: str) -> NmeaFix | None:
    """The fix in a GGA or RMC sentence (quality 0 when it says there is none); None if not one.

    Raises ValueError for a sentence with a bad checksum or malformed fields.
    """
    line = line.strip()
    if not line.startswith("$") or len(line) < 7 or line[3:6] not in ("GGA", "RMC"):
        return None
    if not _checksum_ok(line):
        raise ValueError("NMEA checksum mismatch")
    f = line.partition("*")[0].split(",")
    if line[3:6] == "GGA":
        quality = int(f[6] or 0)
        if quality == 0 or not f[2] or not f[4]:
            return NmeaFix(0.0, 0.0, 0, None)
        return NmeaFix(_degrees(f[2], f[3]), _degrees(f[4], f[5]), min(quality, 8), int(f[7] or 0))
    if f[2] != "A" or not f[3] or not f[5]:
        return NmeaFix(0.0, 0.0, 0, None)
    return NmeaFix(_degrees(f[3], f[4]), _degrees(f[5], f[6]), 1, None)


@dataclass
class GpsStats:
    state: str = "starting"  # off | starting | no-fix | fix | stale | disconnected
    sentences: int = 0
    bad_sentences: int = 0
    reconnects: int = 0
    quality: int = 0
    satellites: int | None = None
    fix_age_s: float | None = None


class GpsReceiver:
    """Reads NMEA in a thread; `fix()` is the latest fix with its age, or None."""

    def __init__(self, settings: NoGps | SerialGps | ReplayGps | GpsdGps) -> None:
        self.settings = settings
        self.stats = GpsStats(state="off" if isinstance(settings, NoGps) else "starting")
        self._fix: NmeaFix | None = None
        self._fix_at = 0.0  # time.monotonic() of the last valid fix
        self._connected = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if not isinstance(self.settings, NoGps):
            self._thread = threading.Thread(target=self._run, name="edge-gps", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Safe to call twice."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=5)

    def fix(self, now: float | None = None) -> GpsFix | None:
        """The latest fix if it is fresh, with its age; None when there is none."""
        self.refresh(now)
        fix = self._fix
        if fix is None or fix.quality == 0 or self.stats.state != "fix":
            return None
        age = max(0.0, (now or time.monotonic()) - self._fix_at)
        return GpsFix(lat=fix.lat, lon=fix.lon, fix_quality=fix.quality, age_s=round(age, 3))

    def refresh(self, now: float | None = None) -> None:
        """Update the state from the clock (a fix ages even when no sentence arrives)."""
        if isinstance(self.settings, NoGps):
            return
        now = now or time.monotonic()
        fix = self._fix
        if fix is None or fix.quality == 0:
            self.stats.fix_age_s = None
            state = "no-fix"
        else:
            self.stats.fix_age_s = round(now - self._fix_at, 3)
            state = "fix" if self.stats.fix_age_s <= self.settings.max_fix_age_s else "stale"
        self.stats.state = state if self._connected or state == "fix" else "disconnected"

    def feed(self, line: str, now: float | None = None) -> None:
        """Take one sentence (the receiver thread calls this; tests may too)."""
        try:
            fix = parse_nmea(line)
        except (ValueError, IndexError):
            self.stats.bad_sentences += 1
            return
        if fix is None:
            return
        self.stats.sentences += 1
        self._fix = fix
        self.stats.quality, self.stats.satellites = fix.quality, fix.satellites
        if fix.quality > 0:
            self._fix_at = now or time.monotonic()

    def _run(self) -> None:
        backoff = 0.5
        while not self._stop.is_set():
            try:
                for line in self._lines():
                    self._connected = True
                    backoff = 0.5
                    self.feed(line)
                    self.refresh()
                    if self._stop.is_set():
                        return
            except (OSError, termios.error) as exc:
                log.warning("GPS receiver unavailable (%s); retrying in %.1f s", type(exc).__name__, backoff)
            self._connected = False
            self.stats.reconnects += 1
            self.refresh()
            self._stop.wait(backoff)
            backoff = min(self.settings.backoff_max_s, backoff * 2)

    def _lines(self) -> Iterator[str]:
        s = self.settings
        if isinstance(s, ReplayGps):
            yield from self._replay(s)
        elif isinstance(s, GpsdGps):
            with socket.create_connection((s.host, s.port), timeout=2.0) as sock:
                sock.sendall(b'?WATCH={"enable":true,"nmea":true};\n')
                yield from self._socket_lines(sock)
        elif isinstance(s, SerialGps):
            yield from self._serial_lines(s)

    def _replay(self, s: ReplayGps) -> Iterator[str]:
        while not self._stop.is_set():
            epoch = None
            with open(s.path, encoding="ascii", errors="replace") as fh:
                for line in fh:
                    fields = line.split(",")
                    stamp = fields[1] if len(fields) > 1 and line[3:6] in ("GGA", "RMC") else None
                    if stamp is not None and stamp != epoch:
                        if epoch is not None and self._stop.wait(s.interval_s):
                            return
                        epoch = stamp
                    yield line
            if not s.loop:
                while not self._stop.wait(0.5):  # the recording ended: the fix ages out
                    yield ""
                return

    def _socket_lines(self, sock: socket.socket) -> Iterator[str]:
        buf = b""
        while not self._stop.is_set():
            try:
                chunk = sock.recv(4096)
            except TimeoutError:
                yield ""  # silence: let the state age
                continue
            if not chunk:
                raise ConnectionResetError("gpsd closed the connection")
            buf += chunk
            *lines, buf = buf.split(b"\n")
            for raw in lines:
                if raw.startswith(b"$"):  # gpsd's own JSON reports start with '{'
                    yield raw.decode("ascii", "replace")

    def _serial_lines(self, s: SerialGps) -> Iterator[str]:
        fd = os.open(s.device, os.O_RDONLY | os.O_NOCTTY)
        try:
            attrs = termios.tcgetattr(fd)
            speed = getattr(termios, f"B{s.baud}")
            attrs[0] = attrs[1] = attrs[3] = 0  # raw: no input, output or line processing
            attrs[2] = termios.CS8 | termios.CREAD | termios.CLOCAL
            attrs[4] = attrs[5] = speed
            attrs[6][termios.VMIN], attrs[6][termios.VTIME] = 0, 10  # a read returns after 1 s of silence
            termios.tcsetattr(fd, termios.TCSANOW, attrs)
            buf = b""
            while not self._stop.is_set():
                chunk = os.read(fd, 1024)
                if not chunk:
                    yield ""
                    continue
                buf += chunk
                *lines, buf = buf.split(b"\n")
                for raw in lines:
                    yield raw.decode("ascii", "replace")
        finally:
            os.close(fd)
