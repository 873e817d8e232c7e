"""`cotforge build` from the command line on the default model, checked with other tools:

- the recipe schema is valid JSON Schema 2020-12 (the `jsonschema` package), and the shipped
  recipes, read by PyYAML, validate against it;
- a small recipe (6 generated questions, fixed α, short traces) builds end to end; the manifest
  validates against schemas/manifest.schema.json, every record against the record schema,
  `cotforge verify` passes, and Hugging Face `datasets` loads the folder as it is;
- a build killed with SIGKILL in the middle of sampling, then run again, ends with the same
  shards as an uninterrupted build.

Needs the default model; `make test` fetches it.
Run: make test   (or COTFORGE_BIN=.build/debug/cotforge python3 -m pytest Tests/Interop)
"""
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = os.environ.get("COTFORGE_BIN", str(ROOT / ".build" / "debug" / "cotforge"))

RECIPE = """
name: tiny-s3cot
model: smollm2
questions:
  generate: {count: 6, seed: 5, steps: 1-1}
  heldout: {count: 3, seed: 77, steps: 1-1}
steer:
  extract: {questions: 6, layers: 8-14}
  alphas: [0, -2]
  layers: 10-12
sample: {max_tokens: 48, batch: 12}
verify: {mode: none}
filters: [repetition]
decontaminate: {against: [heldout], n: 13, fields: [question]}
pairs: {pick: shortest}
split: {validation: 0.34, seed: 2}
export: [jsonl, mds]
"""


def run(*args, check=True):
    p = subprocess.run([BIN, *map(str, args)], capture_output=True, text=True)
    if check and p.returncode != 0:
        raise AssertionError(f"cotforge {' '.join(map(str, args))} exited {p.returncode}: {p.stderr[-3000:]}")
    return p


def schema(name):
    s = json.loads((ROOT / "schemas" / f"{name}.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(s)
    return jsonschema.Draft202012Validator(s)


def shard_hashes(out):
    m = json.loads((out / "manifest.json").read_text())
    files = [s for split in m["splits"].values() for s in split["shards"]] + m["rejects"]["shards"]
    return sorted((f["path"], f["sha256"]) for f in files)


def test_shipped_recipes_validate_against_the_schema():
    v = schema("recipe")
    for path in sorted((ROOT / "datasets").glob("*.yaml")):
        v.validate(yaml.safe_load(path.read_text()))
    with pytest.raises(jsonschema.ValidationError):
        v.validate({"name": "x", "questions": {"generate": {"count": 1}}, "sampel": {}})


@pytest.fixture(scope="module")
def recipe(tmp_path_factory):
    if run("model", "info", "smollm2", check=False).returncode != 0:
        pytest.skip("the default model is not downloaded (make test fetches it)")
    work = tmp_path_factory.mktemp("build")
    path = work / "tiny.yaml"
    path.write_text(RECIPE)
    return work, path


def test_build_verifies_and_loads(recipe):
    work, path = recipe
    out = work / "full"
    p = run("build", path, "--out", out)
    assert "sample" in p.stderr and "shard" in p.stderr
    assert run("verify", out).returncode == 0
    m = json.loads((out / "manifest.json").read_text())
    schema("manifest").validate(m)
    assert m["stages"][0]["name"] == "sample" and m["counts"]["in"] == 12  # 6 questions × 2 α
    assert m["counts"]["in"] == m["counts"]["kept"] + m["counts"]["dropped"]
    assert [s["name"] for s in m["recipe"]["steps"]][:3] == ["questions", "extract", "sample"]
    assert (out / "steer" / "vector.gguf").exists() and (out / "mds" / "train" / "index.json").exists()

    import datasets
    ds = datasets.load_dataset(str(out))
    assert sum(len(ds[s]) for s in ds) == m["counts"]["kept"]
    example = schema("example")
    for s in ds:
        for r in ds[s]:
            example.validate({k: v for k, v in r.items() if v is not None})
            assert r["mode"] in ("fast", "slow")
    # Run again: every step is done, nothing changes.
    before = shard_hashes(out)
    again = run("build", path, "--out", out)
    assert "done earlier" in again.stderr
    assert shard_hashes(out) == before


def test_killed_build_resumes_to_the_same_shards(recipe):
    work, path = recipe
    full = work / "full"
    if not (full / "manifest.json").exists():
        run("build", path, "--out", full)
    out = work / "killed"
    proc = subprocess.Popen([BIN, "build", str(path), "--out", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # Kill it once sampling has started (extraction is finished, sampling is not).
    deadline = time.time() + 600
    while time.time() < deadline and not (out / "work" / "extract.done.json").exists():
        time.sleep(0.05)
    time.sleep(1.0)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (out / "manifest.json").exists(), "the build finished before it could be killed"
    p = run("build", path, "--out", out)
    assert "done earlier" in p.stderr
    assert run("verify", out).returncode == 0
    assert shard_hashes(out) == shard_hashes(full)


SAFETY_RECIPE = """
name: tiny-safety
model: smollm2
safety:
  prompts:
    - {data: strongreject, limit: 2}
    - {path: BENIGN, format: generic, label_column: label, category_column: category, limit: 2}
  modes: [default, zerothink]
  samples: 2
  max_tokens: 24
  batch: 8
  min_safe: 1
split: {validation: 0.5, seed: 3}
"""


def test_safety_recipe_builds_from_strongreject(recipe):
    work, _ = recipe
    path = work / "safety.yaml"
    path.write_text(SAFETY_RECIPE.replace("BENIGN", str(ROOT / "datasets" / "seed" / "benign-lookalike.jsonl")))
    out = work / "safety"
    run("build", path, "--out", out)
    assert run("verify", out).returncode == 0
    m = json.loads((out / "manifest.json").read_text())
    schema("manifest").validate(m)
    assert m["counts"]["in"] == 4 * 2 * 2  # 4 prompts × 2 modes × K
    select = next(s for s in m["recipe"]["steps"] if s["name"] == "select")
    by_mode = select["metrics"]["by_mode"]
    assert set(by_mode) == {"default", "zerothink"}
    assert all(v["prompts"] == 2 and v["benign_responses"] == 4 for v in by_mode.values())
    rejects = [json.loads(l) for l in __import__("zstandard").ZstdDecompressor().decompress(
        (out / m["rejects"]["shards"][0]["path"]).read_bytes()).decode().splitlines()] if m["rejects"]["shards"] else []
    assert len(rejects) == m["counts"]["dropped"]
    assert all(r["reason"].startswith(("safety.", "repetition.")) for r in rejects)
