"""Interop: what `cotforge shard` writes is read by the real Python tools as it is.

- Hugging Face `datasets.load_dataset(dir)` loads the folder with no arguments and gets the
  same records (the golden values are the records this test wrote, not cotforge's output).
- Every record, reject and the manifest validate with the `jsonschema` package against
  schemas/*.schema.json.
- Every shard is one zstd frame whose header carries its content size (checked with
  `zstandard`), and its SHA-256 (hashlib) matches the manifest.
- `cotforge verify` exits 1 naming the file when a shard is damaged.
- `cotforge export --format wds` tars are read by the `webdataset` package (and by `datasets`
  as a webdataset) with the same records.

Run: make test   (or COTFORGE_BIN=.build/debug/cotforge python3 -m pytest Tests/Interop)
"""
import hashlib
import json
import os
import random
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest
import webdataset
import zstandard
from datasets import load_dataset

ROOT = Path(__file__).resolve().parents[2]
BIN = os.environ.get("COTFORGE_BIN", str(ROOT / ".build" / "debug" / "cotforge"))


def schema(name):
    with open(ROOT / "schemas" / f"{name}.schema.json", encoding="utf-8") as f:
        s = json.load(f)
    jsonschema.Draft202012Validator.check_schema(s)
    return jsonschema.Draft202012Validator(s)


def run(*args, stdin=None, check=True):
    p = subprocess.run([BIN, *args], input=stdin, capture_output=True)
    if check and p.returncode != 0:
        raise AssertionError(f"cotforge {' '.join(args)} exited {p.returncode}: {p.stderr.decode()}")
    return p


def make_records(n, seed):
    """Records in the cotforge format with unicode, escapes, optional and nested fields that
    vary from record to record (the types of one field stay the same, as Arrow needs)."""
    rng = random.Random(seed)
    words = ["sum", "é", "中文", "😀", '"q"', "back\\slash", "tab\t", "new\nline", "x²", "→", "\u2028"]
    out = []
    q = 0
    while len(out) < n:
        question = f"Q{q}: " + " ".join(rng.choice(words) for _ in range(rng.randint(1, 10)))
        for v in range(rng.randint(1, 3)):
            r = {
                "id": f"interop-{q}/{v}",
                "task": "math",
                "source": {"name": "interop", "index": q, "split": "train", "license": "MIT"},
                "question": question,
                "prompt": question + " Please reason step by step.",
                "reasoning": " ".join(rng.choice(words) for _ in range(rng.randint(0, 80))),
                "answer": f"\\boxed{{{q}}}",
                "gold": str(q),
                "mode": "slow" if v == 0 else "fast",
                "tokens": {"prompt": rng.randint(5, 50), "reasoning": rng.randint(0, 500), "answer": 4},
                "len_ratio": 1.0 if v == 0 else round(rng.random(), 3),
            }
            if rng.random() < 0.5:
                r["gen"] = {"model": "smollm2", "steer": {"vector": "vl-d", "layers": [8, 9], "alpha": -0.3},
                            "sampler": {"temperature": 0.6, "top_p": 0.95, "top_k": 0, "seed": q}}
            if rng.random() < 0.3:
                r["verdicts"] = [{"by": "answer", "keep": True, "score": 1.0}] + (
                    [{"by": "judge", "keep": True, "reason": "ok"}] if rng.random() < 0.5 else [])
            if rng.random() < 0.3:
                r["extra_unknown"] = {"note": rng.choice(words), "n": rng.randint(0, 9)}
            out.append(r)
        q += 1
    return out


def same(a, b):
    if isinstance(a, dict):
        return isinstance(b, dict) and all(same(v, b.get(k)) for k, v in a.items()) and \
            all(b[k] is None for k in b if k not in a)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and abs(a - b) <= 1e-12 * max(1.0, abs(a))
    return a == b


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("interop")
    records = make_records(900, seed=1)
    with open(tmp / "a.jsonl", "w", encoding="utf-8") as f:
        for r in records[:500]:
            f.write(json.dumps(r, ensure_ascii=bool(r["source"]["index"] % 2)) + "\n")
    cctx = zstandard.ZstdCompressor()
    with open(tmp / "b.jsonl.zst", "wb") as f:
        f.write(cctx.compress("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records[500:]).encode()))
    with open(tmp / "bad.jsonl", "wb") as f:
        f.write(b'{"id": "bad-1", "question": \n')
        f.write(b'{"id": "bad-2"}\n')
        f.write(b'{"id": "bad-3", "question": "q", "tokens": {"prompt": "many"}}\n')
    out = tmp / "out"
    run("shard", str(tmp / "a.jsonl"), str(tmp / "b.jsonl.zst"), str(tmp / "bad.jsonl"),
        "--out", str(out), "--split", "validation=0.1", "--split", "test=0.1", "--shard-size", "40KiB", "-q")
    return records, out


def test_load_dataset_returns_the_same_records(built):
    records, out = built
    by_id = {r["id"]: r for r in records}
    ds = load_dataset(str(out))
    assert set(ds.keys()) == {"train", "validation", "test"}
    seen = set()
    for split in ds:
        questions = set()
        for row in ds[split]:
            assert row["id"] in by_id, row["id"]
            assert same(by_id[row["id"]], row), (by_id[row["id"]], row)
            seen.add(row["id"])
            questions.add(row["question"])
        for other in ds:
            if other != split:
                assert questions.isdisjoint({r["question"] for r in ds[other]}), f"{split} and {other} share questions"
    assert seen == set(by_id)


def test_records_rejects_and_manifest_match_the_schemas(built):
    _, out = built
    manifest = json.loads((out / "manifest.json").read_text())
    schema("manifest").validate(manifest)
    example, reject = schema("example"), schema("reject")
    for name, fileset in list(manifest["splits"].items()) + [("rejects", manifest["rejects"])]:
        for shard in fileset["shards"]:
            data = (out / shard["path"]).read_bytes()
            assert hashlib.sha256(data).hexdigest() == shard["sha256"]
            assert len(data) == shard["bytes"]
            params = zstandard.get_frame_parameters(data)
            assert params.content_size == shard["uncompressed_bytes"], "frame header must carry the content size"
            text = zstandard.ZstdDecompressor().decompress(data)  # one-shot: needs a single frame with size
            assert len(text) == shard["uncompressed_bytes"]
            # JSON Lines splits on \n only (str.splitlines would also split on U+2028).
            lines = text.rstrip(b"\n").split(b"\n") if text else []
            assert len(lines) == shard["records"]
            for line in lines:
                (reject if name == "rejects" else example).validate(json.loads(line.decode("utf-8")))
    assert manifest["counts"]["in"] == manifest["counts"]["kept"] + manifest["counts"]["dropped"]
    assert manifest["counts"]["dropped_by_reason"] == {"json.syntax": 1, "schema.required": 1, "schema.type": 1}


def test_verify_accepts_and_then_names_a_damaged_file(built, tmp_path):
    _, out = built
    assert run("verify", str(out)).returncode == 0
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    shard = sorted((copy / "data").iterdir())[0]
    data = bytearray(shard.read_bytes())
    data[len(data) // 2] ^= 0xFF
    shard.write_bytes(bytes(data))
    p = run("verify", str(copy), check=False)
    assert p.returncode == 1
    assert shard.name in p.stderr.decode()


def test_standard_input_and_inspect_json(built, tmp_path):
    records, _ = built
    text = "".join(json.dumps(r) + "\n" for r in records[:50]).encode()
    run("shard", "-", "--out", str(tmp_path / "stdin"), "--split", "validation=0", "-q", stdin=text)
    ds = load_dataset(str(tmp_path / "stdin"))
    assert [r["id"] for r in ds["train"]] == [r["id"] for r in records[:50]]
    info = json.loads(run("inspect", str(tmp_path / "stdin"), "--json").stdout)
    assert info["splits"] == {"train": 50, "validation": 0}
    reasoning = next(s for s in info["lengths_chars"] if s["field"] == "reasoning")
    lengths = sorted(len(r["reasoning"]) for r in records[:50])
    assert reasoning["max"] == lengths[-1] and reasoning["min"] == lengths[0]


def test_webdataset_export_reads_back(built, tmp_path):
    records, out = built
    by_id = {r["id"]: r for r in records}
    copy = tmp_path / "wds"
    shutil.copytree(out, copy)
    run("export", str(copy), "--format", "wds", "--shard-size", "64KiB")
    for split in ("train", "validation", "test"):
        tars = sorted(str(p) for p in (copy / "wds" / split).glob("*.tar"))
        assert tars, split
        n = 0
        for s in webdataset.WebDataset(tars, shardshuffle=False).decode():
            r = s["json"]
            assert same(by_id[r["id"]], r)
            want = (f"<think>\n{r['reasoning']}\n</think>\n\n" if r.get("reasoning") else "") + (r.get("answer") or "")
            assert s["txt"] == want
            n += 1
        ds = load_dataset("webdataset", data_files={split: tars}, split=split)
        assert ds.num_rows == n
    manifest = json.loads((copy / "manifest.json").read_text())
    assert set(manifest["exports"]["wds"]["splits"]) == {"train", "validation", "test"}
    assert run("verify", str(copy)).returncode == 0


def test_import_reads_what_webdataset_and_json_write(tmp_path):
    """Tars written by webdataset's own TarWriter (pretty-printed json members, extra members)
    and a JSON array written by json.dump come back as the same records."""
    records = make_records(40, seed=3)
    with webdataset.TarWriter(str(tmp_path / "peer.tar")) as w:
        for i, r in enumerate(records):
            w.write({"__key__": f"sample{i:04d}", "json": json.dumps(r, indent=2).encode(), "txt": r["answer"].encode()})
    with open(tmp_path / "arr.json", "w", encoding="utf-8") as f:
        json.dump(records, f, ensure_ascii=False)
    for src in ("peer.tar", "arr.json"):
        out = tmp_path / (src + ".jsonl")
        run("import", str(tmp_path / src), "-o", str(out))
        back = [json.loads(line) for line in open(out, encoding="utf-8")]
        assert back == records, src
