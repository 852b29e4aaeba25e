# Two commands on a fresh machine: `make repro` runs the whole pipeline, `make test` runs the tests.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup repro test check bench exps clean-venv

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

data/raw: data/raw.dvc $(STAMP)
	$(BIN)/dvc pull --quiet data/raw.dvc || { echo "dvc pull failed: is the DVC store at ../shared/dvc-store beside this checkout?" >&2; exit 1; }
	touch data/raw

setup: $(STAMP) data/raw

repro: setup
	PATH=$(abspath $(BIN)):$$PATH $(BIN)/dvc repro

test: setup
	PATH=$(abspath $(BIN)):$$PATH $(BIN)/python -m pytest -q

check: setup          # the quick loop: the tests not marked slow, under a minute
	PATH=$(abspath $(BIN)):$$PATH $(BIN)/python -m pytest -q -m "not slow"

exps: setup          # experiments in 120 columns: the headline metrics and the params that differ (not the file hashes)
	$(BIN)/dvc exp show --no-pager --only-changed --drop 'Created|State|Executor|.*/.*|models' --keep 'acc|acc_lo|acc_hi|vs_champ|p_champ|ms_step'

bench: setup         # the default network's step, and the study's against the reference method
	PATH=$(abspath $(BIN)):$$PATH $(BIN)/dvc repro encode
	$(BIN)/namecnn bench --network train
	$(BIN)/namecnn bench --network t8_cyclic --impl both --reference-steps 3
