# The two commands the README starts with:
#   make demo   build cotforge (release) and a demo dataset from datasets/seed, then verify it
#   make test   the whole test suite: fetches the default model (once), Swift unit and
#               real-model tests, then interop tests with the Python readers
SWIFT ?= swift
PYTHON ?= python3
OUT ?= out

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
	.build/release/cotforge shard datasets/seed/arith-cot.jsonl datasets/seed/broken.jsonl \
	    --out $(OUT)/demo --split validation=0.1 --license mit --overwrite \
	    --stage format --stage answer --stage repetition
	.build/release/cotforge verify $(OUT)/demo
	.build/release/cotforge inspect $(OUT)/demo --samples 1

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
