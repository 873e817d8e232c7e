#!/usr/bin/env python3
"""bench/export: MDS and WebDataset export throughput against the JSONL.zst build, same dataset.

The dataset is built once per run with `cotforge shard` (the JSONL.zst export: parse, validate,
split, compress, hash); `cotforge export --format mds` and `--format wds` then convert that
dataset (decompress, parse, re-encode, compress or tar, hash). Every figure is MB of JSONL
records per second, so the three are comparable; the target is export >= 0.8x the JSONL build.
Peers on the same records, when their Python packages import: webdataset's TarWriter (the
reference WebDataset writer) and, with --mds-python pointing at an interpreter that has
mosaicml-streaming, MosaicML's MDSWriter (zstd, the same 64 MB shard limit).

  python3 bench/export/bench.py                 # 200 MB corpus, 3 runs, medians
  python3 bench/export/bench.py --sizes 200 --runs 5 --mds-python /path/to/venv/bin/python
The corpus is the one bench/shard generates (same generator, same cache folder).
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench" / "shard"))
from bench import make_corpus, timed  # noqa: E402  (bench/shard/bench.py)

PEER_WDS = r"""
import io, json, sys, zstandard, webdataset as wds
out, srcs = sys.argv[1], sys.argv[2:]
i = 0
with wds.ShardWriter(out + "/data-%06d.tar", maxsize=256 << 20, verbose=0) as w:
    for src in srcs:
        with open(src, "rb") as f:
            for line in io.TextIOWrapper(zstandard.ZstdDecompressor().stream_reader(f), encoding="utf-8"):
                r = json.loads(line)
                w.write({"__key__": "%09d" % i, "json": line.encode(), "txt": (r.get("reasoning", "") + r.get("answer", "")).encode()})
                i += 1
"""

PEER_MDS = r"""
import io, json, sys, zstandard
from streaming import MDSWriter
out, srcs = sys.argv[1], sys.argv[2:]
cols, w = None, None
for src in srcs:
    with open(src, "rb") as f:
        for line in io.TextIOWrapper(zstandard.ZstdDecompressor().stream_reader(f), encoding="utf-8"):
            r = json.loads(line)
            if w is None:
                cols = {k: ("str" if isinstance(v, str) else "json") for k, v in r.items()}
                w = MDSWriter(out=out, columns=cols, compression="zstd:3", size_limit=1 << 26)
            w.write({k: r.get(k) if cols[k] == "json" else (r.get(k) or "") for k in cols})
w.finish()
"""


def python_has(py, module):
    return subprocess.run([py, "-c", f"import {module}"], capture_output=True).returncode == 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="200", help="corpus sizes in MB, comma-separated")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "cotforge-bench"))
    ap.add_argument("--bin", default=str(ROOT / ".build" / "release" / "cotforge"))
    ap.add_argument("--mds-python", default=sys.executable, help="a Python with mosaicml-streaming, for the MDSWriter peer")
    args = ap.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    peers = []
    if python_has(sys.executable, "webdataset") and python_has(sys.executable, "zstandard"):
        peers.append(("webdataset TarWriter", sys.executable, PEER_WDS))
    if python_has(args.mds_python, "streaming") and python_has(args.mds_python, "zstandard"):
        peers.append(("streaming MDSWriter", args.mds_python, PEER_MDS))
    print(f"bench/export: cotforge {args.bin}; {args.runs} runs, medians; peers: {', '.join(p[0] for p in peers) or 'none importable'}")
    for mb in [int(s) for s in args.sizes.split(",")]:
        corpus = work / f"corpus-{mb}MB.jsonl"
        make_corpus(corpus, mb)
        size = corpus.stat().st_size / 1e6
        out = work / "export-out"
        times = {}
        for _ in range(args.runs):
            shutil.rmtree(out, ignore_errors=True)
            steps = [("jsonl.zst (shard)", [args.bin, "shard", str(corpus), "--out", str(out), "--split", "validation=0.05", "--level", "3", "-q"]),
                     ("mds (export)", [args.bin, "export", str(out), "--format", "mds"]),
                     ("wds (export)", [args.bin, "export", str(out), "--format", "wds"])]
            for name, cmd in steps:
                w, c, m = timed(cmd)
                times.setdefault(name, []).append((w, c, m))
            trains = [str(p) for p in sorted((out / "data").glob("train-*.jsonl.zst"))]
            for name, py, code in peers:
                dest = work / "peer-out"
                shutil.rmtree(dest, ignore_errors=True)
                dest.mkdir()
                w, c, m = timed([py, "-c", code, str(dest)] + trains)
                # The peers convert the train split only: scale to the whole corpus by its share of records.
                splits = json.load(open(out / "manifest.json"))["splits"]
                share = splits["train"]["records"] / sum(v["records"] for v in splits.values())
                times.setdefault(name, []).append((w / share, c / share, m))
        base = statistics.median(t[0] for t in times["jsonl.zst (shard)"])
        base_cpu = statistics.median(t[1] for t in times["jsonl.zst (shard)"])
        print(f"\n{size:.0f} MB of JSONL records")
        print(f"{'':>22} | {'wall':>11} {'vs jsonl':>8} | {'CPU':>8} {'vs jsonl':>8} | {'RSS':>8}")
        for name, ts in times.items():
            w = statistics.median(t[0] for t in ts)
            c = statistics.median(t[1] for t in ts)
            print(f"{name:>22} | {size / w:>6.1f} MB/s {base / w:>7.2f}x | {c:>7.2f}s {base_cpu / c:>7.2f}x | {max(t[2] for t in ts):>4.0f} MiB")
    print("\nMB/s = MB of JSONL records converted per second; 'vs jsonl' = throughput relative to the JSONL.zst build")
    print("(target for mds and wds >= 0.8x). Peers convert the train split (all its shards); their time is scaled to the whole corpus by its share of records.")


if __name__ == "__main__":
    main()
