"""Time several models against each other, each in a process of its own, taking turns block by block.

Speeds are compared within one run because this machine's speed moves more from one minute to the next than a
model change does (models/README.md, "The machine changed"). Two onnxruntime sessions taking turns in one process
are not a fair way to do that: after each call a session's threads spin on, waiting for more work, and slow the
session that runs next (detector card, "Detector speed comparisons": 8.4 read 13.0 ms p50 that way against 9.1-9.3
ms alone). Here each model lives in its own process and runs only while the others wait for their next block, and
who goes first alternates from block to block (`turns`).
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import time
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any


def turns(arms: int, block: int) -> list[int]:
    """The order in which `arms` models run their `block`-th block: forwards on even blocks, backwards on odd."""
    order = list(range(arms))
    return order if block % 2 == 0 else order[::-1]


def _serve(conn: Connection, build: Callable[[], Any], call: Callable[[Any, Any], Any]) -> None:
    """One arm: builds its model, then times call(model, item) on every item of each block it is sent, until None."""
    try:
        model = build()
        conn.send(("ready", None))
        while (items := conn.recv()) is not None:
            timed = []
            for item in items:
                t0 = time.perf_counter()
                out = call(model, item)
                timed.append(((time.perf_counter() - t0) * 1000, out))
            conn.send(("done", timed))
    except Exception as e:  # the parent raises it with the arm named
        conn.send(("error", f"{type(e).__name__}: {e}"))
    finally:
        conn.close()


class Apart:
    """Models in processes of their own: `run(k, items)` times model k on each item while the others wait.

    `builds[k]()` makes model k inside its process and `call(model, item)` is what is timed; both must be picklable
    (module-level functions, functools.partial of them or of classes). `names` name the arms in errors."""

    def __init__(self, builds: Sequence[Callable[[], Any]], call: Callable[[Any, Any], Any], names: Sequence[str]):
        ctx = mp.get_context("spawn")  # not fork: the parent may hold onnxruntime threads of its own
        self.names = list(names)
        self._links: list[tuple[Connection, BaseProcess]] = []
        try:
            for build in builds:
                here, there = ctx.Pipe()
                proc = ctx.Process(target=_serve, args=(there, build, call), daemon=True)
                proc.start()
                there.close()
                self._links.append((here, proc))
            for k in range(len(self._links)):
                self._reply(k)
        except BaseException:
            self.close()
            raise

    def _reply(self, k: int) -> Any:
        try:
            kind, payload = self._links[k][0].recv()
        except EOFError:
            raise RuntimeError(
                f"the process timing {self.names[k]} ended without an answer (killed? out of memory?)"
            ) from None
        if kind == "error":
            raise RuntimeError(f"the process timing {self.names[k]} failed: {payload}")
        return payload

    def run(self, k: int, items: Sequence[Any]) -> list[tuple[float, Any]]:
        """Model k's result on every item, each with the milliseconds its call took."""
        self._links[k][0].send(list(items))
        return self._reply(k)  # type: ignore[no-any-return]

    def close(self) -> None:
        for conn, proc in self._links:
            with contextlib.suppress(BrokenPipeError, OSError):  # the arm has already gone
                conn.send(None)
            proc.join(timeout=10)
            if proc.is_alive():
                proc.kill()
            conn.close()
        self._links = []

    def __enter__(self) -> Apart:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
