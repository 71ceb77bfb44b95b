"""The committed JSON Schemas in deploy/schemas/ match the event models."""

from pathlib import Path

from contract.schemas import render_schemas

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "deploy" / "schemas"


def test_committed_schemas_match_the_models() -> None:
    rendered = render_schemas()
    committed = {p.name: p.read_text() for p in SCHEMA_DIR.glob("*.schema.json")}
    assert set(committed) == set(rendered), "run: make schemas"
    for name, text in rendered.items():
        assert committed[name] == text, f"{name} drifted from the model; run: make schemas"
