#!/usr/bin/env python3
"""Golden MDS shards written by MosaicML streaming's own MDSWriter, for Tests/ShardsTests.

Writes Tests/ShardsTests/Fixtures/mds-golden/: records.jsonl (the input), and two datasets of
those records: plain/ (no compression, one shard) and zstd/ (zstd:3, size_limit 2048, several
shards). The columns are the ones cotforge derives for these records.

mosaicml-streaming imports torch, torchvision and transformers from its package __init__; only
its format modules are needed, so this script registers bare `streaming` packages and imports
streaming.base.format directly. Run by hand in a virtual environment:
  python3 -m venv /tmp/mds && /tmp/mds/bin/pip install "torch==2.13.0+cpu" "numpy<2.2" \
      mosaicml-streaming --no-deps && /tmp/mds/bin/pip install "xxhash<4" zstd Brotli python-snappy tqdm catalogue pillow
  /tmp/mds/bin/python scripts/reference/make_mds_golden.py
"""
import importlib.util
import json
import shutil
import sys
import types
from importlib.metadata import version
from pathlib import Path

spec = importlib.util.find_spec("streaming")
root = spec.submodule_search_locations[0]
for name, sub in (("streaming", ""), ("streaming.base", "/base")):
    module = types.ModuleType(name)
    module.__path__ = [root + sub]
    sys.modules[name] = module
from streaming.base.format.mds.writer import MDSWriter  # noqa: E402

OUT = Path(__file__).resolve().parents[2] / "Tests" / "ShardsTests" / "Fixtures" / "mds-golden"
COLUMNS = {"id": "str", "question": "str", "stage": "int", "source": "json", "tokens": "json", "len_ratio": "json"}


def records():
    out = []
    for i in range(24):
        r = {"id": f"mds-{i}/v{i % 3}", "question": f"Q{i}: naïve “quote” 😀 \\ \" tab\t end" * (1 + i % 4), "stage": i % 5 - 1,
             "source": {"name": "golden", "index": i, "nested": [1, 2.5, None, True, "é"]},
             "len_ratio": [1.0, 0.5, 0.125, 1e-05, 100.0][i % 5]}
        if i % 2 == 0:
            r["tokens"] = {"prompt": i, "reasoning": 3 * i}
        out.append(r)
    return out


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    recs = records()
    with open(OUT / "records.jsonl", "w", encoding="utf-8") as f:
        for r in recs:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    for name, kw in (("plain", {"compression": None}), ("zstd", {"compression": "zstd:3", "size_limit": 2048})):
        with MDSWriter(out=str(OUT / name), columns=COLUMNS, **kw) as w:
            for r in recs:
                w.write({k: r.get(k) for k in COLUMNS})
    (OUT / "GENERATOR").write_text(f"mosaicml-streaming {version('mosaicml-streaming')} MDSWriter\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
