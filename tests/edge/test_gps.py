"""GPS: NMEA fixes with quality and age, from a replay file and from gpsd over TCP; no fix -> no position."""

from __future__ import annotations

import os
import socket
import threading
import time
from functools import reduce
from pathlib import Path

import pytest

from edge.gps import GpsdGps, GpsReceiver, NoGps, ReplayGps, SerialGps, parse_nmea


def nmea(body: str) -> str:
    return f"${body}*{reduce(lambda a, c: a ^ ord(c), body, 0):02X}"


GGA = nmea("GPGGA,101500.00,5205.1234,N,00507.5678,E,2,09,0.9,4.0,M,46.9,M,,")
GGA_NOFIX = nmea("GPGGA,101501.00,,,,,0,00,99.9,,M,,M,,")
RMC = nmea("GNRMC,101502.00,A,5205.2000,N,00507.6000,E,12.5,84.0,231126,,,A")


def _wait(cond: object, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while not cond():  # type: ignore[operator]
        assert time.monotonic() < end, "condition not met in time"
        time.sleep(0.02)


def test_gga_and_rmc_are_parsed_with_quality() -> None:
    fix = parse_nmea(GGA)
    assert fix is not None and fix.quality == 2 and fix.satellites == 9
    assert fix.lat == pytest.approx(52 + 5.1234 / 60) and fix.lon == pytest.approx(5 + 7.5678 / 60)
    nofix = parse_nmea(GGA_NOFIX)
    assert nofix is not None and nofix.quality == 0
    rmc = parse_nmea(RMC)
    assert rmc is not None and rmc.quality == 1
    assert parse_nmea(nmea("GPGSV,3,1,11,03,03,111,00")) is None  # not a position sentence
    with pytest.raises(ValueError, match="checksum"):
        parse_nmea(GGA[:-2] + "00")


def test_fix_carries_its_age_and_ages_out() -> None:
    gps = GpsReceiver(ReplayGps(path=Path("unused"), max_fix_age_s=2.0))
    gps.feed(GGA, now=100.0)
    fix = gps.fix(now=100.5)
    assert fix is not None and fix.fix_quality == 2 and fix.age_s == pytest.approx(0.5)
    gps._connected = True
    assert gps.fix(now=103.0) is None and gps.stats.state == "stale"
    gps.feed(GGA_NOFIX, now=104.0)
    assert gps.fix(now=104.0) is None and gps.stats.state == "no-fix"
    gps.feed("garbage", now=104.0)
    gps.feed(GGA[:-2] + "00", now=104.0)
    assert gps.stats.bad_sentences == 1  # the bad checksum; non-NMEA noise is ignored


def test_no_gps_configured_means_no_position_and_state_off() -> None:
    gps = GpsReceiver(NoGps())
    gps.start()
    assert gps.fix() is None and gps.stats.state == "off"
    gps.stop()


def test_replay_file_gives_a_fix_then_none_when_the_recording_ends(tmp_path: Path) -> None:
    path = tmp_path / "drive.nmea"
    path.write_text("\n".join([GGA, RMC, nmea("GPGGA,101503.00,5205.3,N,00507.7,E,1,07,1.1,4.0,M,46.9,M,,")]) + "\n")
    gps = GpsReceiver(ReplayGps(path=path, interval_s=0.05, loop=False, max_fix_age_s=0.5))
    gps.start()
    try:
        _wait(lambda: gps.fix() is not None)
        _wait(lambda: gps.stats.sentences == 3)
        fix = gps.fix()
        assert fix is not None and fix.fix_quality == 1 and fix.age_s < 0.5
        _wait(lambda: gps.fix() is None)  # the recording ended: the fix ages out
        assert gps.stats.state == "stale"
    finally:
        gps.stop()
        gps.stop()


def test_gpsd_over_tcp_is_followed_and_reconnected() -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    watches: list[bytes] = []

    def serve_one(lines: list[str]) -> None:
        conn, _ = server.accept()
        with conn:
            watches.append(conn.recv(200))
            conn.sendall(b'{"class":"VERSION","release":"3.22"}\n')
            for line in lines:
                conn.sendall(line.encode() + b"\r\n")
            time.sleep(0.3)

    t = threading.Thread(target=serve_one, args=([GGA],), daemon=True)
    t.start()
    gps = GpsReceiver(GpsdGps(host="127.0.0.1", port=port, backoff_max_s=0.2, max_fix_age_s=30))
    gps.start()
    try:
        _wait(lambda: gps.fix() is not None)
        assert b"WATCH" in watches[0] and b'"nmea":true' in watches[0]
        t.join()
        _wait(lambda: gps.stats.state == "disconnected" or gps.stats.reconnects > 0)
        t2 = threading.Thread(target=serve_one, args=([GGA_NOFIX],), daemon=True)
        t2.start()
        _wait(lambda: gps.stats.quality == 0 and len(watches) == 2)
        assert gps.fix() is None
        t2.join()
    finally:
        gps.stop()
        server.close()


def test_serial_receiver_reads_nmea_from_a_tty() -> None:
    master, slave = os.openpty()  # a pseudo-terminal stands in for the USB GPS's serial port
    try:
        gps = GpsReceiver(SerialGps(device=Path(os.ttyname(slave)), baud=4800, max_fix_age_s=30))
        gps.start()
        try:
            os.write(master, (GGA_NOFIX + "\r\n").encode())
            _wait(lambda: gps.stats.sentences == 1)
            assert gps.fix() is None
            os.write(master, (GGA + "\r\n").encode())
            _wait(lambda: gps.fix() is not None)
            assert gps.fix().fix_quality == 2  # type: ignore[union-attr]
        finally:
            gps.stop()
    finally:
        os.close(master)
        os.close(slave)
