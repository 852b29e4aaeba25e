# Two commands on a fresh machine: `make repro` runs the whole pipeline, `make test` runs the tests.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup repro test check bench exps reset ui serve server clean-venv

# team mode (README: Team): one MLflow server for everyone, runs in PostgreSQL, artifacts behind the server
BACKEND   ?= postgresql://mlflow@127.0.0.1:5432/mlflow
ARTIFACTS ?= $(abspath mlartifacts)
HOST      ?= 127.0.0.1
PORT      ?= 5000

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,external]'
	touch $(STAMP)

data/raw: data/raw.dvc $(STAMP)
	$(BIN)/dvc pull --quiet data/raw.dvc 2>/dev/null || { echo "no data: dvc pull cannot reach the DVC store ../shared/dvc-store; bring your own names with '$(BIN)/namecnn data import FOLDER' (one <Language>.txt a language), or pull from your own remote after 'dvc remote add -d --local mystore URL' (README: Your own names)" >&2; exit 1; }
	touch data/raw

setup: $(STAMP) data/raw

repro: setup
	PATH=$(abspath $(BIN)):$$PATH $(BIN)/dvc repro

test: setup
	PATH=$(abspath $(BIN)):$$PATH $(BIN)/python -m pytest -q

check: setup          # the quick loop: the tests not marked slow, under a minute
	PATH=$(abspath $(BIN)):$$PATH $(BIN)/python -m pytest -q -m "not slow"

exps: setup          # experiments in 120 columns: the headline metrics and the params that differ (not the file hashes)
	$(BIN)/namecnn exps

bench: setup         # the default network's step, and the study's against the reference method
	PATH=$(abspath $(BIN)):$$PATH $(BIN)/dvc repro encode
	$(BIN)/namecnn bench --network train
	$(BIN)/namecnn bench --network t8_cyclic --impl both --reference-steps 3

reset: setup         # back to the committed state: params.yaml, dvc.lock, reports from git (staged or not), models/ and data from DVC
	git reset -q -- params.yaml dvc.lock reports
	rm -rf params.yaml dvc.lock reports   # written anew below: a failed dvc exp run can leave files git takes for unchanged
	git checkout HEAD -- params.yaml dvc.lock reports
	$(BIN)/dvc checkout --force --quiet

ui: setup            # the MLflow UI over the project's store, on http://127.0.0.1:5000
	@echo "open http://127.0.0.1:5000/#/experiments/$$($(BIN)/python -c 'from namecnn.tracking import store; print(store.experiment(store.TRAIN_EXPERIMENT))')/runs?workflowType=machine_learning&orderByKey=metrics.%60val%2Ffinal_acc%60&orderByAsc=false"
	$(BIN)/mlflow ui --backend-store-uri sqlite:///mlflow.db --host 127.0.0.1 --port 5000

server: $(STAMP)     # team mode: mlflow server, PostgreSQL backend store, artifacts proxied to ARTIFACTS (a folder or s3://…)
	$(BIN)/mlflow server --backend-store-uri '$(BACKEND)' --artifacts-destination '$(ARTIFACTS)' --host $(HOST) --port $(PORT) --workers 2

serve: setup         # the champion over HTTP on http://127.0.0.1:5001/invocations ({"inputs": ["cruz"]})
	MLFLOW_TRACKING_URI=sqlite:///mlflow.db $(BIN)/mlflow models serve -m models:/namecnn@champion --env-manager local -h 127.0.0.1 -p 5001
