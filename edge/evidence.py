"""Evidence window: the best crop and a context frame of each read, in RAM only, wiped on time."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from contract.digest import DigestKey, digest

BgrImage = npt.NDArray[np.uint8]


@dataclass
class _Held:
    crop: BgrImage
    context: BgrImage
    stored_at: float
    digests: frozenset[str]  # the read's candidate digests: what a request must prove
    key: DigestKey


class EvidenceWindow:
    """Holds evidence per read event id for `window_s` seconds; `sweep()` wipes what is older.

    Wiping overwrites the pixel buffers before dropping them, so the plate does not linger in
    freed memory. `oldest_age_s` is the longest any item lived, measured, for the privacy report.
    """

    def __init__(self, window_s: float = 120.0) -> None:
        self.window_s = window_s
        self._clock = time.monotonic
        self._items: OrderedDict[str, _Held] = OrderedDict()
        self._lock = threading.Lock()
        self.oldest_age_s = 0.0
        self.wiped = 0

    def __len__(self) -> int:
        return len(self._items)

    @property
    def oldest_age_ever_s(self) -> float:
        """The longest any item lived: wiped items' ages and the age of the oldest held now."""
        with self._lock:
            held = next(iter(self._items.values()), None)
            live = self._clock() - held.stored_at if held is not None else 0.0
        return max(self.oldest_age_s, live)

    def put(self, event_id: str, crop: BgrImage, context: BgrImage, digests: frozenset[str], key: DigestKey) -> None:
        """Hold a read's evidence, with its candidate digests and the key they were made with."""
        with self._lock:
            # Copies: the frame buffer is reused by capture, and we must be able to wipe ours.
            self._items[event_id] = _Held(crop.copy(), context.copy(), self._clock(), digests, key)
        self.sweep()

    def proves(self, event_id: str, plate: str) -> bool | None:
        """Whether `plate` is one of the held read's candidates (None: nothing held any more)."""
        self.sweep()
        with self._lock:
            held = self._items.get(event_id)
        if held is None:
            return None
        try:
            return digest(plate, held.key) in held.digests
        except ValueError:  # not a normalised plate
            return False

    def get(self, event_id: str) -> tuple[BgrImage, BgrImage] | None:
        self.sweep()
        with self._lock:
            held = self._items.get(event_id)
            return (held.crop.copy(), held.context.copy()) if held else None

    def sweep(self) -> int:
        """Wipe every item older than the window; returns how many were wiped."""
        now = self._clock()
        wiped = 0
        with self._lock:
            while self._items:
                event_id, held = next(iter(self._items.items()))
                age = now - held.stored_at
                if age < self.window_s:
                    break
                self._wipe(held, age)
                del self._items[event_id]
                wiped += 1
        self.wiped += wiped
        return wiped

    def clear(self) -> None:
        """Wipe everything (shutdown)."""
        now = self._clock()
        with self._lock:
            for held in self._items.values():
                self._wipe(held, now - held.stored_at)
            self._items.clear()

    def _wipe(self, held: _Held, age: float) -> None:
        held.crop.fill(0)
        held.context.fill(0)
        self.oldest_age_s = max(self.oldest_age_s, age)
