# The two commands: `make demo` and `make test`. Each sets up .venv on its own.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint schemas models clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# The tests also train small models (determinism by step count, quantization-aware training), so they
# need the train extra: torch 2.13.0, whose CPU build pip takes from this machine's disk (README,
# "Dependencies beyond the core set").
TRAIN_STAMP := $(VENV)/.installed-train
$(TRAIN_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,train]'
	@touch $(TRAIN_STAMP)

demo: $(STAMP)
	$(BIN)/scanauto demo

# The operator status page is tested in a real headless browser: Debian's chromium (CI runs as
# root on Debian). Installed only when missing.
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver

test: $(TRAIN_STAMP) $(CHROMIUM)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

schemas: $(STAMP)
	$(BIN)/scanauto schemas --out deploy/schemas

# Regenerate training data and retrain both models on CPU (needs the 'train' extra: torch; the OCR trains its
# float parent, then fine-tunes it for int8, in one command, every training crop moved and re-exposed on the fly:
# OCR card, version 9).
models: $(TRAIN_STAMP)
	$(BIN)/scanauto train ocr
	$(BIN)/scanauto train detector

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
