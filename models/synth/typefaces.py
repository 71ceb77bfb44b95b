"""Outline typefaces for plate text, beside the project's stroke font (`models.synth.glyphs`).

Real plates are not all drawn in one typeface: German plates use the FE-Schrift, Belgian ones a red
DIN-like face, US states their own, and even a Dutch plate's characters differ from press to press.
An OCR that has only ever seen our stroke font reads the shapes of *that* font (measured: on real
openalpr crops it read a round-topped 3 as 8, a footed 1 as T, a square 0 as D). So OCR training
crops draw some plates in outline fonts installed from PyPI (`font-roboto`, Apache-2.0;
`font-source-sans-pro`, SIL OFL 1.1), in several weights and condensed by a factor: different
shapes of the same characters. The scene generator (detector data, test sets, the demo) keeps the
stroke font only, so none of its outputs depend on these packages.
"""

from __future__ import annotations

import importlib.resources
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from contract.errors import ConfigError

_FACES = (
    ("font_roboto", "Roboto-Medium.ttf"),
    ("font_roboto", "Roboto-Bold.ttf"),
    ("font_roboto", "Roboto-Black.ttf"),
    ("font_source_sans_pro", "SourceSansPro-Semibold.ttf"),
    ("font_source_sans_pro", "SourceSansPro-Bold.ttf"),
    ("font_source_sans_pro", "SourceSansPro-Black.ttf"),
)
_RENDER_CAP = 160  # px: cap height glyphs are rasterised at before they are scaled down
_OVERSHOOT = 0.06  # of the cap height kept above and below: round glyphs overshoot the cap line and baseline
_SPACE = 0.35  # a space between groups, in cap heights


@dataclass(frozen=True, slots=True)
class Typeface:
    """An outline font file and how much narrower (< 1) or wider than drawn its glyphs are set."""

    path: Path
    width: float = 1.0

    @property
    def name(self) -> str:
        return self.path.stem


@cache
def font_files() -> tuple[Path, ...]:
    """The installed outline fonts, in a fixed order; a clear error if their packages are missing."""
    files: list[Path] = []
    for package, name in _FACES:
        try:
            root = importlib.resources.files(package)
        except ModuleNotFoundError:
            raise ConfigError(
                f"font package {package!r} is missing; it draws OCR training plates: pip install -e '.[train]'"
            ) from None
        path = Path(str(root.joinpath("files", name)))
        if not path.is_file():
            raise ConfigError(f"font file {path} not found; reinstall {package!r} (pip install -e '.[train]')")
        files.append(path)
    return tuple(files)


def random_typeface(rng: np.random.Generator) -> Typeface:
    """One of the installed faces, set between 0.6 and 0.9 of its drawn width: plate typefaces are narrower
    than text faces (an H about half as wide as tall, against 0.7 in Roboto Bold)."""
    files = font_files()
    return Typeface(files[int(rng.integers(len(files)))], float(rng.uniform(0.6, 0.9)))


@cache
def _glyph(path: Path, ch: str) -> npt.NDArray[np.float32]:
    """Coverage (0..1) of `ch` rasterised with its cap height _RENDER_CAP px: rows from the cap line to the
    baseline plus _OVERSHOOT above and below, columns cropped to the ink."""
    from PIL import Image, ImageDraw, ImageFont  # the 'train' extra, like the font packages

    font = ImageFont.truetype(str(path), size=_RENDER_CAP * 2)
    cap = -font.getbbox("H", anchor="ls")[1]
    font = ImageFont.truetype(str(path), size=round(_RENDER_CAP * 2 * _RENDER_CAP / cap))
    cap = -font.getbbox("H", anchor="ls")[1]
    left, _top, right, _bottom = font.getbbox(ch, anchor="ls")
    over = round(_OVERSHOOT * cap)
    canvas = Image.new("L", (right - left + 4, cap + 2 * over), 0)
    ImageDraw.Draw(canvas).text((2 - left, cap + over), ch, font=font, fill=255, anchor="ls")
    mask = np.asarray(canvas, np.float32) / 255.0
    cols = np.flatnonzero(mask.max(axis=0) > 0.05)
    if cols.size == 0:
        raise ValueError(f"typeface {path.name} has no ink for {ch!r}")
    return mask[:, cols[0] : cols[-1] + 1]


def draw_outline_line(
    img: npt.NDArray[np.uint8],
    text: str,
    span: tuple[float, float, float, float],
    spacing: tuple[float, float],
    color: tuple[int, int, int],
    face: Typeface,
) -> None:
    """`models.synth.glyphs.draw_line` in an outline typeface: `text` centred in `span` (left, top, right, bottom
    px; capitals as tall as the span), glyphs `spacing[0]` x their drawn width with `spacing[1]` px between the
    ink of neighbours; a text too long narrows its glyphs (to 60 %), then its gaps (to half), then its glyphs."""
    if not text:
        return
    left, top, right, bottom = span
    width, gap = spacing
    char_h = bottom - top
    scale = char_h / _RENDER_CAP
    inked = [ch for ch in text if ch != " "]
    masks = [_glyph(face.path, ch) for ch in inked]
    ref = _glyph(face.path, "H").shape[1]
    natural = [_plate_width(m.shape[1], ref) * scale * face.width * width for m in masks]
    spaces = text.count(" ") * _SPACE * char_h
    between = len(inked) - 1
    avail = right - left
    squeeze, pitch, space = 1.0, gap, _SPACE * char_h
    total = sum(natural)
    if total + between * pitch + spaces > avail:
        squeeze = max(0.6, (avail - between * pitch - spaces) / total)
    if total * squeeze + between * pitch + spaces > avail and between:
        pitch = max(gap / 2, (avail - total * squeeze - spaces) / between)
    if total * squeeze + between * pitch + spaces > avail:
        spaces, space = spaces / 2, space / 2
        squeeze = max(0.05, (avail - between * pitch - spaces) / total)
    used = total * squeeze + between * pitch + spaces
    x = left + (avail - used) / 2
    over = _OVERSHOOT * char_h
    h_px = max(1, round(char_h + 2 * over))
    y0 = round(top - over)
    ink = np.zeros(img.shape[:2], np.float32)
    glyphs = iter(zip(masks, natural, strict=True))
    for ch in text:
        if ch == " ":
            x += space
            continue
        mask, w = next(glyphs)
        w_px = max(1, round(w * squeeze))
        small = cv2.resize(mask, (w_px, h_px), interpolation=cv2.INTER_AREA)
        x0 = round(x)
        _blend_max(ink, small, x0, y0)
        x += w * squeeze + pitch
    alpha = ink[:, :, None]
    out = img.astype(np.float32) * (1 - alpha) + np.array(color, np.float32) * alpha
    img[:] = np.clip(out + 0.5, 0, 255).astype(np.uint8)


def _plate_width(drawn: int, ref: int) -> float:
    """A glyph's width on a plate: plate typefaces are near monospaced, so a glyph wider than H (W, M) is set
    narrower than a text face draws it (W at 1.4 H becomes 1.14 H); narrower ones (I, 1) keep their width."""
    return float(drawn) if drawn <= ref else ref * (drawn / ref) ** 0.4


def _blend_max(canvas: npt.NDArray[np.float32], patch: npt.NDArray[np.float32], x0: int, y0: int) -> None:
    """Union `patch` into `canvas` at (x0, y0), clipped to the canvas."""
    h, w = canvas.shape
    ph, pw = patch.shape
    cx0, cy0, cx1, cy1 = max(0, x0), max(0, y0), min(w, x0 + pw), min(h, y0 + ph)
    if cx0 >= cx1 or cy0 >= cy1:
        return
    region = canvas[cy0:cy1, cx0:cx1]
    np.maximum(region, patch[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0], out=region)
