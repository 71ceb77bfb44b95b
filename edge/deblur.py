"""Horizontal motion smear on a plate box: how long it is, and the box with it undone, for extra OCR views.

A scan car passing parked cars smears them along the road, so along the image rows. Over the exposure, a smear of L
pixels averages each pixel with its L - 1 neighbours along the row: a box filter of length L. Its horizontal
gradient is then the sharp image's, minus the same shifted by L. So the gradient's autocorrelation along the rows
has its deepest trough at lag L (`smear_px`; on a sharp plate the trough is at its strokes' width instead, 2-6 px,
so a sharp plate gets "undone" too). A Wiener filter for that box (`deconvolve`) sharpens the plate
again. With `DeblurSettings.enabled` (off by default, see there), the edge reads the deconvolved crops as more views
of the box beside the plain ones (`edge.pipeline.read_boxes`). It does not replace them: where no smear was there to
undo, the deconvolution only adds ringing, which the plain views are meant to outvote.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

BgrImage = npt.NDArray[np.uint8]
Box = tuple[int, int, int, int]


@dataclass(frozen=True, slots=True)
class DeblurSettings:
    """When a box gets deconvolved views, and how hard the filter sharpens (`wiener_k`: the noise-to-signal floor;
    smaller sharpens more and rings more).

    Off by default. Measured in session 41 (models/README.md): it read 15 more synthetic development plates and
    lost 6, but lost 9 real openalpr plates for 3 (130 -> 124), so it was not adopted. Real photographs are not
    smeared by a box of whole pixels along the rows the way the synthetic camera smears them."""

    enabled: bool = False
    below_confidence: float = 0.97  # only boxes whose plain views' fused confidence is below this (1: every box)
    min_px: int = 2  # a smear shorter than this is no smear worth undoing (one pixel is the resampling's own)
    max_px: int = 12  # the longest smear looked for (frame-pixel test sets draw 1-9 px)
    wiener_k: float = 0.05


def smear_px(frame: BgrImage, box: Box, settings: DeblurSettings) -> int:
    """The horizontal smear of the plate in `box`, in pixels: the lag between `min_px` and `max_px` at which the
    autocorrelation of the rows' gradient (over the box and a quarter of its width each side) is lowest; 0 when it
    is nowhere negative (nothing repeats shifted: no smear)."""
    x1, y1, x2, y2 = box
    quarter = (x2 - x1) // 4
    patch = frame[max(0, y1) : y2, max(0, x1 - quarter) : x2 + quarter]
    if patch.size == 0:
        return 0
    grad = np.diff(cv2.cvtColor(patch, cv2.COLOR_BGR2GRAY).astype(np.float32), axis=1)
    if grad.shape[1] <= settings.max_px:
        return 0  # too narrow to tell
    grad -= grad.mean()
    lags = range(settings.min_px, settings.max_px + 1)
    corr = [float((grad[:, :-lag] * grad[:, lag:]).sum()) for lag in lags]
    best = int(np.argmin(corr))
    return lags[best] if corr[best] < 0 else 0


def deconvolve(region: BgrImage, length: int, k: float) -> BgrImage:
    """`region` with a horizontal box smear of `length` pixels undone by a Wiener filter (rows mirrored at the ends,
    so the edges do not wrap around)."""
    pad = 2 * length
    rows = cv2.copyMakeBorder(region, 0, 0, pad, pad, cv2.BORDER_REFLECT).astype(np.float32)
    n = rows.shape[1]
    kernel = np.zeros(n, np.float32)
    kernel[:length] = 1.0 / length
    kernel = np.roll(kernel, -(length // 2))  # centred, so the filter does not shift the plate
    spectrum = np.fft.rfft(kernel)
    wiener = np.conj(spectrum) / (np.abs(spectrum) ** 2 + k)
    out = np.fft.irfft(np.fft.rfft(rows, axis=1) * wiener[None, :, None], n=n, axis=1)
    return np.clip(out[:, pad : pad + region.shape[1]], 0, 255).astype(np.uint8)


def deblurred(frame: BgrImage, box: Box, settings: DeblurSettings) -> tuple[BgrImage, Box] | None:
    """The surroundings of `box` with its smear undone, and the box in that image's pixels; None when the box shows
    no smear to undo. The surroundings (half the box each side, and twice the smear) hold every OCR view's margin."""
    length = smear_px(frame, box, settings)
    if length < settings.min_px:
        return None
    x1, y1, x2, y2 = box
    h, w = frame.shape[:2]
    mx, my = (x2 - x1) // 2 + 2 * length, (y2 - y1) // 2
    rx1, ry1, rx2, ry2 = max(0, x1 - mx), max(0, y1 - my), min(w, x2 + mx), min(h, y2 + my)
    region = deconvolve(frame[ry1:ry2, rx1:rx2], length, settings.wiener_k)
    return region, (x1 - rx1, y1 - ry1, x2 - rx1, y2 - ry1)
