"""Where the read-only shared folder is (data sets and peer models, never copied into the project).

`../shared` next to the repository, or the folder `SCANAUTO_SHARED` names (a clone elsewhere, CI).
"""

from __future__ import annotations

import os
from pathlib import Path

SHARED = Path(os.environ.get("SCANAUTO_SHARED") or Path(__file__).resolve().parents[2] / "shared")
PEER_OCR = SHARED / "peers" / "fast-plate-ocr-cct-xs-v1-global"
"""fast-plate-ocr's pretrained global model: `cct_xs_v1_global.onnx` and `plate_config.yaml`."""
