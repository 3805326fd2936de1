# `make serve` and `make test` do all set-up on a fresh machine (Python 3.11+, root for the browser packages).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SQUAD_DIR ?= ../shared/data/squad
# The reader's held-out test articles (never trained or calibrated on), from the dev-article share.
HELD_OUT := --dataset $(SQUAD_DIR)/squad-v1.1-train.json --dataset $(SQUAD_DIR)/squad-v2.0-train.json --articles held-out

.PHONY: serve test setup browser lint eval bench gpu-kit

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torch first and pinned: the local CPU wheel; an unpinned torch pulls gigabytes of CUDA packages.
	$(BIN)/pip install -q torch==2.13.0
	# The Milvus extra too: the store contract and parity tests run against Milvus Lite.
	$(BIN)/pip install -q -e '.[test,milvus]'
	touch $@

setup: $(VENV)/.installed

serve: setup
	$(BIN)/qa serve

browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Gates: the gold questions over the bundled articles, then the reader on the held-out SQuAD articles, given the gold
# paragraph (reader) and through retrieval over the articles' paragraphs (open). Minimums in eval/thresholds.json.
eval: setup
	$(BIN)/qa -q eval --mode open --thresholds eval/thresholds.json --output test-output/eval-gold-open.json
	@if [ -f $(SQUAD_DIR)/squad-v1.1-train.json ] && [ -f $(SQUAD_DIR)/squad-v2.0-train.json ]; then \
	  for mode in reader open; do \
	    $(BIN)/qa -q eval $(HELD_OUT) --mode $$mode --thresholds eval/thresholds.json \
	      --output test-output/eval-held-out-$$mode.json || exit 1; \
	  done; \
	else echo "SKIPPED the held-out SQuAD gates: the SQuAD share is not in $(SQUAD_DIR)"; fi

# The test suite runs last so that its summary line closes the output.
test: setup browser lint eval
	$(BIN)/pytest

# Not part of `make test`: about 6 minutes on 2 idle cores, most of it the scale section (README, "Benchmark").
# BENCH_ARGS=--quick for a smoke run; BENCH_ARGS="--skip scale" about 1.5 minutes.
$(VENV)/.bench-installed: $(VENV)/.installed
	$(BIN)/pip install -q -e '.[test,milvus,bench]'
	touch $@

bench: $(VENV)/.bench-installed
	$(BIN)/qa bench $(BENCH_ARGS)

# The data and wheels a lent GPU machine needs to train the reader (service/training/gpu/README.md).
gpu-kit:
	SQUAD_DIR=$(SQUAD_DIR) bash service/training/gpu/make_kit.sh
