"""Give an exported OCR model its CTC column probabilities as a second output, `columns` (`edge.ctc`).

Models exported since 2026-12-07 have it (`models.ocr.train.export`); this adds it to one exported before, in
place: an Identity of the softmax that feeds the slot collapse, nothing else changed (the `plate` output, the
weights and the quantization stay byte for byte). OCR version 9.1 is version 9 so exposed.

    python -m models.ocr.expose models/ocr/plate_ocr.onnx
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from contract.errors import InputError
from edge.ctc import COLUMNS_OUTPUT


def expose_columns(path: Path) -> bool:
    """Add the `columns` output to the model at `path`; False if it already has one."""
    import onnx

    model = onnx.load(str(path))
    graph = model.graph
    if any(o.name == COLUMNS_OUTPUT for o in graph.output):
        return False
    softmax = [n for n in graph.node if n.op_type == "Softmax"]
    if len(softmax) != 1:
        raise InputError(f"{path}: expected one Softmax (the CTC columns) in the graph, found {len(softmax)}")
    graph.node.append(onnx.helper.make_node("Identity", [softmax[0].output[0]], [COLUMNS_OUTPUT], name="columns"))
    graph.output.append(
        onnx.helper.make_tensor_value_info(COLUMNS_OUTPUT, onnx.TensorProto.FLOAT, ["batch", None, None])
    )
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return True


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m models.ocr.expose", description=__doc__.splitlines()[0])
    p.add_argument("model", type=Path, nargs="+", help="exported OCR ONNX files, changed in place")
    args = p.parse_args(argv)
    for path in args.model:
        if not path.is_file():
            raise SystemExit(f"{path} not found")
        print(f"{path}: {'columns output added' if expose_columns(path) else 'already has a columns output'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
