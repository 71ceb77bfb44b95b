"""Things edge tests control: an MJPEG-over-HTTP camera and a Kafka link proxy (imported by tests)."""

from __future__ import annotations

import asyncio
import contextlib
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cv2
import numpy as np

from scanauto.broker import free_port


class MjpegCamera:
    """A loopback MJPEG camera: `pause()` stops sending frames (a stall), `resume()` goes on,
    `down()` closes every connection and refuses new ones, `up()` accepts again."""

    def __init__(self, fps: float = 30.0) -> None:
        self.fps = fps
        self.sent = 0
        self._serving = threading.Event()
        self._paused = threading.Event()
        self._serving.set()
        self.port = free_port()
        self._server: ThreadingHTTPServer | None = None
        self._start_server()

    def _start_server(self) -> None:
        camera = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if not camera._serving.is_set():
                    self.send_error(503)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
                self.end_headers()
                while camera._serving.is_set():
                    if camera._paused.is_set():
                        time.sleep(0.02)
                        continue
                    shade = (camera.sent * 7) % 200 + 20
                    _ok, buf = cv2.imencode(".jpg", np.full((120, 160, 3), shade, np.uint8))
                    part = b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % len(buf)
                    try:
                        self.wfile.write(part + buf.tobytes() + b"\r\n")
                        self.wfile.flush()
                    except OSError:
                        return
                    camera.sent += 1
                    time.sleep(1 / camera.fps)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/stream.mjpg"

    def pause(self) -> None:
        self._paused.set()

    def resume(self) -> None:
        self._paused.clear()

    def down(self) -> None:
        self._serving.clear()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def up(self) -> None:
        self._serving.set()
        self._start_server()

    def close(self) -> None:
        self.down()


def kafka_client_id(first_request: bytes) -> str | None:
    """The client id in a Kafka request header: size, api key, version, correlation id, client id."""
    if len(first_request) < 14:
        return None
    (n,) = struct.unpack(">h", first_request[12:14])
    return first_request[14 : 14 + n].decode("utf-8", "replace") if n >= 0 else None


class LinkProxy:
    """A TCP proxy in front of the broker that can cut the link of one Kafka client (by client id).

    The broker advertises the proxy's port, so every client connects through it; `cut()` closes
    the target client's connections and refuses its new ones until `restore()`. Other clients
    (the matcher) keep their link: only the vehicle's mobile link drops.
    """

    def __init__(self, target_port: int, client_id: str) -> None:
        self.port = free_port()
        self.target_port, self.client_id = target_port, client_id
        self._cut = threading.Event()
        self.refused = 0
        self._loop = asyncio.new_event_loop()
        self._writers: list[tuple[str | None, asyncio.StreamWriter, asyncio.StreamWriter]] = []
        ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(ready,), daemon=True)
        self._thread.start()
        ready.wait(5)

    def _serve(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self._loop)

        async def main() -> None:
            self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
            ready.set()
            async with self._server:
                await self._server.serve_forever()

        with contextlib.suppress(asyncio.CancelledError, RuntimeError):
            self._loop.run_until_complete(main())

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readexactly(4)
            (size,) = struct.unpack(">i", head)
            body = await reader.readexactly(size)
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()
            return
        client = kafka_client_id(head + body)
        if self._cut.is_set() and client == self.client_id:
            self.refused += 1
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        entry = (client, writer, up_writer)
        self._writers.append(entry)
        up_writer.write(head + body)

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while chunk := await src.read(65536):
                    dst.write(chunk)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        if entry in self._writers:
            self._writers.remove(entry)

    def cut(self) -> None:
        self._cut.set()

        def close_target() -> None:
            for client, w1, w2 in list(self._writers):
                if client == self.client_id:
                    w1.close()
                    w2.close()

        self._loop.call_soon_threadsafe(close_target)

    def restore(self) -> None:
        self._cut.clear()

    def close(self) -> None:
        def shutdown() -> None:
            for _, w1, w2 in self._writers:
                w1.close()
                w2.close()
            self._server.close()
            for task in asyncio.all_tasks(self._loop):
                task.cancel()

        if self._loop.is_running():
            self._loop.call_soon_threadsafe(shutdown)
        self._thread.join(5)
        if not self._loop.is_running():
            self._loop.close()
