#!/usr/bin/env python3
"""bench/shard: `cotforge shard` against `zstd -3 -T1` on the same JSON Lines corpus.

Both read the same file and write compressed output to the same disk; cotforge also parses
and validates every record against the schema, splits by question and hashes every shard.
Prints each tool's median wall time and throughput over --runs runs, their ratio, and peak
resident memory (from wait4) for each corpus size, so that memory can be seen not to grow
with the input.

  python3 bench/shard/bench.py                      # 200 MB and 1 GB corpora, 3 runs each
  python3 bench/shard/bench.py --sizes 200 --runs 5
The corpora are generated (deterministic, ~1.3 KB records of math-CoT-like text) into
--work (default: a folder under the system temp dir) and reused by later runs.
"""
import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

COMMON = ("the a of to and is we so then add subtract multiply divide total each left sum "
          "product number apples books friends bags step answer check first next result "
          "therefore because equals minus plus times half twice more fewer remaining").split()


def vocabulary(rng, n=6000):
    """Common words plus n made-up words from syllables, drawn with Zipf-like weights, so the
    text compresses like prose (a 60-word vocabulary would make zstd unrealistically fast)."""
    syll = ["ka", "lo", "mi", "ten", "ra", "vo", "sel", "ti", "nu", "pha", "gor", "ex", "an", "is", "ul", "de", "con", "str"]
    words = list(COMMON)
    while len(words) < n:
        words.append("".join(rng.choice(syll) for _ in range(rng.randint(1, 4))))
    weights = [1.0 / (i + 1) for i in range(len(words))]
    return words, weights


def make_corpus(path: Path, megabytes: int):
    if path.exists() and path.stat().st_size >= megabytes * 1_000_000:
        return
    rng = random.Random(megabytes)
    words, weights = vocabulary(rng)
    target = megabytes * 1_000_000
    written = 0
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        i = 0
        while written < target:
            q = f"{rng.choice(['Ava', 'Ben', 'Chen', 'Dana'])} has {rng.randint(2, 99)} apples and buys {rng.randint(2, 99)} more. " \
                + " ".join(rng.choices(words, weights, k=20)) + "?"
            for v in range(2):
                r = {"id": f"bench-{i}/{v}", "task": "math",
                     "source": {"name": "bench", "index": i, "split": "train", "license": "MIT"},
                     "question": q, "prompt": q + " Please reason step by step.",
                     "reasoning": " ".join(w if rng.random() > 0.08 else str(rng.randint(0, 9999))
                                           for w in rng.choices(words, weights, k=rng.randint(120, 200))) + ".",
                     "answer": f"The answer is \\boxed{{{rng.randint(0, 999)}}}.", "gold": str(rng.randint(0, 999)),
                     "mode": "slow" if v == 0 else "fast",
                     "tokens": {"prompt": 40, "reasoning": rng.randint(100, 300), "answer": 8},
                     "len_ratio": 1.0 if v == 0 else round(rng.random(), 3)}
                line = json.dumps(r, ensure_ascii=False) + "\n"
                f.write(line)
                written += len(line.encode())
            i += 1
    tmp.rename(path)


def timed(cmd):
    """Runs cmd; returns (wall seconds, CPU seconds (user+sys), peak RSS in MiB)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    err = proc.stderr.read().decode()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {err}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="200,1000", help="corpus sizes in MB, comma-separated")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "cotforge-bench"))
    ap.add_argument("--bin", default=str(ROOT / ".build" / "release" / "cotforge"))
    args = ap.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    zver = subprocess.run(["zstd", "--version"], capture_output=True, text=True).stdout.strip()
    print(f"bench/shard: cotforge {args.bin}; peer: {zver}; {args.runs} runs, medians")
    rows = []
    for mb in [int(s) for s in args.sizes.split(",")]:
        corpus = work / f"corpus-{mb}MB.jsonl"
        make_corpus(corpus, mb)
        size = corpus.stat().st_size
        z, c = {"wall": [], "cpu": [], "rss": []}, {"wall": [], "cpu": [], "rss": []}
        for _ in range(args.runs):
            out = work / "out"
            shutil.rmtree(out, ignore_errors=True)
            for acc, cmd in ((z, ["zstd", "-3", "-T1", "-q", "-f", str(corpus), "-o", str(work / "peer.zst")]),
                             (c, [args.bin, "shard", str(corpus), "--out", str(out), "--split", "validation=0.05", "--level", "3", "-q"])):
                w, u, m = timed(cmd)
                acc["wall"].append(w); acc["cpu"].append(u); acc["rss"].append(m)
        med = lambda d, k: statistics.median(d[k])
        rows.append((size, med(z, "wall"), med(c, "wall"), med(z, "cpu"), med(c, "cpu"), max(z["rss"]), max(c["rss"])))
    print(f"{'corpus':>8} | {'zstd -3 -T1':>11} {'cotforge':>10} {'ratio':>6} | {'zstd CPU':>9} {'cotforge CPU':>12} {'ratio':>6} | {'zstd RSS':>8} {'cotforge RSS':>12}")
    for size, zw, cw, zc, cc, zm, cm in rows:
        mb = size / 1e6
        print(f"{mb:>6.0f}MB | {mb / zw:>6.1f} MB/s {mb / cw:>5.1f} MB/s {zw / cw:>5.2f}x | {zc:>8.2f}s {cc:>11.2f}s {zc / cc:>5.2f}x | {zm:>5.0f} MiB {cm:>8.0f} MiB")
    print("wall: throughput by elapsed time; CPU: user+sys seconds (steadier on a shared machine);")
    print("ratio = cotforge / zstd throughput (target >= 0.6); RSS = peak resident memory")


if __name__ == "__main__":
    main()
