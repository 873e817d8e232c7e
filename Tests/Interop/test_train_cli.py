"""The trainer from the command line, end to end on a tiny from-scratch model: `cotforge shard`
builds a dataset from the seed corpus, `cotforge train` trains a 2-layer model with the
default model's tokenizer for a few steps and writes its log, loss curve, checkpoint and
exports; the exported GGUF runs in `cotforge generate` and `cotforge eval`; the safetensors
header is read with plain json (the file layout, not our reader); `--resume` continues a run
to the same losses as an uninterrupted one.

Needs the default model (for its tokenizer); `make test` fetches it.
Run: make test   (or COTFORGE_BIN=.build/debug/cotforge python3 -m pytest Tests/Interop)
"""
import json
import os
import struct
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = os.environ.get("COTFORGE_BIN", str(ROOT / ".build" / "debug" / "cotforge"))


def run(*args, check=True):
    p = subprocess.run([BIN, *map(str, args)], capture_output=True, text=True)
    if check and p.returncode != 0:
        raise AssertionError(f"cotforge {' '.join(map(str, args))} exited {p.returncode}: {p.stderr[-3000:]}")
    return p


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    if run("model", "info", "smollm2", check=False).returncode != 0:
        pytest.skip("the default model is not downloaded (make test fetches it)")
    work = tmp_path_factory.mktemp("train")
    run("shard", ROOT / "datasets" / "seed" / "arith-cot.jsonl", "--out", work / "ds", "--split", "validation=0.1")
    config = work / "tiny.json"
    config.write_text(json.dumps({"tokenizer": "smollm2", "layers": 2, "width": 64, "ffn": 128, "heads": 4, "kv_heads": 2, "context": 512}))
    return work, config


def train(work, config, out, *extra):
    return run("train", "--data", work / "ds", "--init", config, "--lr", "3e-3", "--context", "256", "--batch-tokens", "600",
               "--max-steps", "6", "--validate-every", "3", "-o", out, *extra)


def test_train_writes_log_curve_checkpoint_and_exports(built):
    work, config = built
    out = work / "run"
    p = train(work, config, out)
    log = [json.loads(l) for l in (out / "train-log.jsonl").read_text().splitlines()]
    assert [s["step"] for s in log] == [1, 2, 3, 4, 5, 6]
    assert all(s["loss"] > 0 and s["tokens"] > 0 for s in log)
    assert log[-1]["loss"] < log[0]["loss"], "six steps at lr 3e-3 lower the loss of a random model"
    assert "validation_loss" in log[2] and "validation_loss" in log[5]
    svg = ET.parse(out / "loss.svg").getroot()
    assert svg.tag.endswith("svg") and len(svg.findall(".//{http://www.w3.org/2000/svg}polyline")) == 2
    assert (out / "checkpoint" / "state.json").exists()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["steps"] == 6 and summary["validation_loss_after"] is not None
    assert "loss" in p.stderr and "tokens/s" in p.stderr

    # The safetensors layout by hand: 8-byte length, JSON header, F32 data of the named shapes.
    raw = (out / "hf" / "model.safetensors").read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    emb = header["model.embed_tokens.weight"]
    assert emb["dtype"] == "F32" and emb["shape"] == [49152, 64]
    assert max(v["data_offsets"][1] for k, v in header.items() if k != "__metadata__") == len(raw) - 8 - n
    config_json = json.loads((out / "hf" / "config.json").read_text())
    assert config_json["architectures"] == ["LlamaForCausalLM"] and config_json["num_hidden_layers"] == 2

    # The GGUF runs in the engine, with the tokenizer and chat template it was given.
    g = run("generate", "--model", out / "model.gguf", "--chat", "--prompt", "What is 2 + 3?", "--max-tokens", "4")
    assert "generated" in g.stderr
    e = run("eval", "--model", out / "model.gguf", "--data", work / "ds", "--limit", "3", "--max-tokens", "8", "-o", work / "eval.json")
    figures = json.loads((work / "eval.json").read_text())
    assert figures["records"] == 3 and figures["with_gold"] == 3 and figures["loss"] > 0
    assert len((work / "eval.jsonl").read_text().splitlines()) == 3
    assert "accuracy" in e.stdout


def test_resume_continues_to_the_same_losses(built):
    work, config = built
    whole = work / "whole"
    train(work, config, whole)
    part = work / "part"
    p = train(work, config, part, "--stop-after", "3")
    assert "stopped after step 3 of 6" in p.stderr and not (part / "model.gguf").exists()
    p = train(work, config, part, "--resume")
    assert "resumed at step 3 of 6" in p.stderr
    a = [json.loads(l) for l in (whole / "train-log.jsonl").read_text().splitlines()]
    b = [json.loads(l) for l in (part / "train-log.jsonl").read_text().splitlines()]
    assert [s["loss"] for s in a] == [s["loss"] for s in b], "an interrupted and resumed run gives the same losses"
    assert (part / "model.gguf").read_bytes() == (whole / "model.gguf").read_bytes()


def test_bad_input_is_a_clear_error(built):
    work, config = built
    p = run("train", "--data", work / "nowhere", "--init", config, check=False)
    assert p.returncode != 0 and "manifest.json" in p.stderr
    p = run("train", "--data", work / "ds", "--init", config, "--split", "test", check=False)
    assert p.returncode != 0 and "no split" in p.stderr
    p = run("train", "--data", work / "ds", "--init", config, "--lora", "r=0", check=False)
    assert p.returncode != 0 and "rank" in p.stderr
    p = run("train", "--data", work / "ds", "--init", config, "--module-lr", "qq=1", check=False)
    assert p.returncode != 0 and "unknown module" in p.stderr
