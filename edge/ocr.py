"""The OCR stage: plate crops in, per-character probability distributions out (fast-plate-ocr)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import onnxruntime as ort
from fast_plate_ocr import LicensePlateRecognizer
from fast_plate_ocr.core.process import resize_image

from contract.errors import ConfigError
from edge.ctc import COLUMNS_OUTPUT, Columns

BgrImage = npt.NDArray[np.uint8]  # (H, W, 3)
CharProbs = npt.NDArray[np.float32]  # (slots, alphabet)


@dataclass(frozen=True, slots=True)
class OcrResult:
    """The OCR's full distribution over characters for each slot of one crop (or of a box's views, fused), and
    the CTC columns they come from, per view, when the model gives them."""

    probs: CharProbs
    columns: Columns | None = None  # (views, columns, alphabet)

    @property
    def confidence(self) -> float:
        """Mean of the best probability per slot."""
        return float(self.probs.max(axis=1).mean())


def fuse_views(views: list[OcrResult], alphabet: str, pad: str) -> OcrResult:
    """One reading of a plate from several crops of it (wider and tighter margins around one box).

    The views that agree on the number of characters vote: their distributions are averaged slot by slot,
    so a character that one crop reads badly is outvoted by the others. The length most views read wins;
    a tie goes to the length whose views are surest. Views of another length are left out: their slots
    hold other characters, so averaging them in would blur the plate.
    """
    if len(views) == 1:
        return views[0]
    pad_index = alphabet.index(pad)
    lengths = [int((v.probs.argmax(axis=1) != pad_index).sum()) for v in views]
    votes: dict[int, tuple[int, float]] = {}
    for n, v in zip(lengths, views, strict=True):
        count, sure = votes.get(n, (0, 0.0))
        votes[n] = (count + 1, sure + v.confidence)
    length = max(votes, key=lambda n: votes[n])
    agreeing = [v.probs for n, v in zip(lengths, views, strict=True) if n == length]
    have = [v.columns for v in views if v.columns is not None]
    columns = np.concatenate(have) if len(have) == len(views) else None
    return OcrResult(np.mean(agreeing, axis=0, dtype=np.float32), columns)


class PlateReader:
    """Loads a fast-plate-ocr compatible ONNX model and reads batches of crops."""

    def __init__(self, model_path: Path, config_path: Path, threads: int = 2) -> None:
        for p in (model_path, config_path):
            if not p.is_file():
                raise ConfigError(f"OCR model file {p} not found (run: scanauto train ocr, or check --ocr-model)")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        self._rec = LicensePlateRecognizer(
            onnx_model_path=model_path,
            plate_config_path=config_path,
            providers=["CPUExecutionProvider"],
            sess_options=opts,
        )
        self.config = self._rec.config
        self.alphabet: str = self.config.alphabet
        self.pad_char: str = self.config.pad_char
        self._outputs = [self._rec.plate_output_name]
        if COLUMNS_OUTPUT in self._rec.output_names:
            self._outputs.append(COLUMNS_OUTPUT)
        digest = hashlib.sha256(model_path.read_bytes()).hexdigest()[:8]
        self.model_version = f"{model_path.stem}-{digest}"

    def _prepare(self, crop: BgrImage) -> npt.NDArray[np.uint8]:
        cfg = self.config
        if cfg.image_color_mode == "rgb":
            img = cv2.cvtColor(crop, cv2.COLOR_BGR2RGB)
        else:
            img = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
        return resize_image(
            img,
            cfg.img_height,
            cfg.img_width,
            image_color_mode=cfg.image_color_mode,
            keep_aspect_ratio=cfg.keep_aspect_ratio,
            interpolation_method=cfg.interpolation,
            padding_color=cfg.padding_color,
        )

    def read(self, crops: list[BgrImage]) -> list[OcrResult]:
        """Read a batch of BGR crops; one result per crop, in order."""
        if not crops:
            return []
        batch = np.stack([self._prepare(c) for c in crops]).astype(np.uint8)
        out = self._rec.model.run(self._outputs, {"input": batch})
        probs = np.asarray(out[0], dtype=np.float32).reshape(
            len(crops), self.config.max_plate_slots, len(self.alphabet)
        )
        if len(out) == 1:
            return [OcrResult(p) for p in probs]
        columns = np.asarray(out[1], dtype=np.float32)
        return [OcrResult(p, columns[i : i + 1]) for i, p in enumerate(probs)]

    def decode(self, probs: CharProbs) -> str:
        """Best text of a distribution: argmax per slot, pads dropped."""
        return "".join(self.alphabet[i] for i in probs.argmax(axis=1) if self.alphabet[i] != self.pad_char)
