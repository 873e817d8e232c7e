# The two commands the README starts with:
#   make demo   the main job on the default model: build cotforge (release), build the demo
#               dataset (datasets/demo.yaml), verify it, fine-tune on it (LoRA), evaluate base
#               vs fine-tuned; QUICK=1 runs the same stages at a toy size (~3-4 minutes, CI)
#   make test   the whole test suite: fetches the default model (once), Swift unit and
#               real-model tests, then interop tests with the Python readers
SWIFT ?= swift
PYTHON ?= python3
OUT ?= out
QUICK ?= 0

.PHONY: demo test deps deps-python build release schemas bench clean

deps:
	@bash scripts/install-deps.sh

deps-python:
	@bash scripts/install-deps.sh --python

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

demo: release
	QUICK=$(QUICK) OUT=$(OUT) bash scripts/demo.sh

test: deps-python
	$(SWIFT) build --build-tests
	.build/debug/cotforge model fetch smollm2   # the real-model tests need it (cached after the first time)
	$(SWIFT) test
	COTFORGE_BIN=$(CURDIR)/.build/debug/cotforge $(PYTHON) -m pytest -q Tests/Interop

schemas: build
	.build/debug/cotforge schema --write schemas

bench: release
	bash bench/shard/run.sh
	python3 bench/dedup/bench.py
	python3 bench/export/bench.py
	python3 bench/generate/bench.py
	python3 bench/train/bench.py

clean:
	rm -rf .build $(OUT)
