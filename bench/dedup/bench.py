#!/usr/bin/env python3
"""bench/dedup: `cotforge dedup --near` against datasketch (MinHash + MinHashLSH) on the same corpus.

The corpus: --docs math-solution documents of ~150 words (deterministic), of which 5% are exact
copies and 10% near copies (2 words changed) of earlier documents; the planted pairs are the
ground truth. Both tools use word 5-grams of the lowercased, punctuation-free text, 128
permutations and threshold 0.8, one thread, end to end (reading, shingling, hashing, banding,
clustering). datasketch runs query-then-insert (a document is a duplicate when the index
already holds a candidate). Prints documents/s for each, the ratio, precision and recall
against the planted duplicates, and peak memory.

  python3 bench/dedup/bench.py            # installs datasketch if missing; 50,000 documents
"""
import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WORDS = ("first we add the numbers then subtract multiply divide total each apples books friends bags step "
         "answer check next result therefore because equals minus plus times half twice more fewer remaining "
         "so she he they has have buys sells gives gets left over per day week cost price dollars").split()


def make_corpus(path, n, seed=1):
    rng = random.Random(seed)
    docs, truth = [], {}
    for i in range(n):
        r = rng.random()
        if i > 100 and r < 0.05:
            src = rng.randrange(len(docs)); text = docs[src]; truth[i] = src
        elif i > 100 and r < 0.15:
            src = rng.randrange(len(docs)); words = docs[src].split()
            for _ in range(2):
                words[rng.randrange(len(words))] = f"n{rng.randrange(10**6)}"
            text = " ".join(words); truth[i] = src
        else:
            text = " ".join(rng.choice(WORDS) if rng.random() < 0.7 else str(rng.randrange(1000))
                            for _ in range(rng.randint(130, 170)))
        docs.append(text)
    with open(path, "w") as f:
        for i, t in enumerate(docs):
            f.write(json.dumps({"id": f"doc-{i}", "question": f"q{i}", "reasoning": t}) + "\n")
    return truth


NORM = re.compile(r"[^\w\s]")


def shingles(text, n=5):
    words = NORM.sub("", text.lower()).split()
    return {" ".join(words[i:i + n]) for i in range(max(1, len(words) - n + 1))}


def datasketch_child(path, out):
    """Runs in its own process (so that its peak memory is its own)."""
    from datasketch import MinHash, MinHashLSH
    lsh = MinHashLSH(threshold=0.8, num_perm=128)
    removed = set()
    with open(path) as f:
        for i, line in enumerate(f):
            m = MinHash(num_perm=128)
            m.update_batch([s.encode() for s in shingles(json.loads(line)["reasoning"])])
            if lsh.query(m):
                removed.add(i)
            else:
                lsh.insert(i, m)
    with open(out, "w") as f:
        json.dump(sorted(removed), f)


def timed(cmd):
    """Wall seconds and peak RSS (MiB, from GNU time) of a command run on its own."""
    t0 = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"{cmd[0]} failed: {p.stderr}")
    return elapsed, int(p.stderr.strip().splitlines()[-1]) / 1024


def run_datasketch(path, work):
    t, rss = timed([sys.executable, __file__, "--datasketch-child", path, f"{work}/ds.json"])
    return t, set(json.load(open(f"{work}/ds.json"))), rss


def run_cotforge(binary, path, work):
    out, rej = f"{work}/out.jsonl", f"{work}/rej.jsonl"
    t, rss = timed([binary, "dedup", "--near", "--threshold", "0.8", "--num-perm", "128", "--key", "reasoning",
                    path, "-o", out, "--rejects", rej, "-q"])
    removed = set()
    with open(rej) as f:
        for line in f:
            removed.add(int(json.loads(line)["id"].split("-")[1]))
    return t, removed, rss


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=50_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--bin", default=str(ROOT / ".build" / "release" / "cotforge"))
    ap.add_argument("--datasketch-child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.datasketch_child:
        return datasketch_child(*args.datasketch_child)
    try:
        import datasketch  # noqa: F401
    except ImportError:
        subprocess.check_call([sys.executable, "-m", "pip", "install", "-q", "datasketch"])
    from importlib.metadata import version
    work = tempfile.mkdtemp(prefix="cotforge-bench-dedup-")
    path = f"{work}/corpus.jsonl"
    truth = make_corpus(path, args.docs)
    planted = set(truth)
    rows = []
    for name, fn in (("datasketch " + version("datasketch"), lambda: run_datasketch(path, work)),
                     ("cotforge dedup --near", lambda: run_cotforge(args.bin, path, work))):
        times, removed, rss = [], set(), 0
        for _ in range(args.runs if name.startswith("cotforge") else 1):
            t, removed, rss = fn()
            times.append(t)
        t = statistics.median(times)
        tp = len(removed & planted)
        rows.append((name, args.docs / t, tp / max(1, len(removed)), tp / len(planted), rss))
    print(f"bench/dedup: {args.docs} documents, {len(planted)} planted duplicates; 128 permutations, threshold 0.8, word 5-grams, one thread")
    print(f"{'tool':<26} {'docs/s':>10} {'precision':>10} {'recall':>8} {'peak RSS':>10}")
    for name, dps, p, r, rss in rows:
        print(f"{name:<26} {dps:>10.0f} {p:>10.4f} {r:>8.4f} {rss:>7.0f} MiB")
    print(f"ratio (cotforge / datasketch docs/s): {rows[1][1] / rows[0][1]:.1f}x (target >= 20x)")


if __name__ == "__main__":
    main()
