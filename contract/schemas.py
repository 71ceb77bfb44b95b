"""JSON Schemas of the events, exported to deploy/schemas/ for the consumers of our topics."""

from __future__ import annotations

import json
from pathlib import Path

from contract.events import EVENT_MODELS


def render_schemas() -> dict[str, str]:
    """File name -> JSON Schema text, for every event type."""
    return {
        f"{kind}.v1.schema.json": json.dumps(model.model_json_schema(), indent=2, sort_keys=True) + "\n"
        for kind, model in EVENT_MODELS.items()
    }


def write_schemas(out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in render_schemas().items():
        path = out_dir / name
        path.write_text(text)
        written.append(path)
    return written
