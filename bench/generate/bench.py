#!/usr/bin/env python3
"""bench/generate: the engine against llama.cpp on the same GGUF, side by side in one run.

For each thread count, both engines process the same 200-token prompt (prompt tokens/s) and
then decode 256 new tokens greedily, past any end token (single-stream decode tokens/s).
llama.cpp runs through llama-cpp-python (installed by this script when missing; it compiles
llama.cpp, ~10 minutes) with n_threads = n_threads_batch; it is timed with the wall clock
around its eval calls, so its figures include ~2 ms of Python per decoded token (the C++
llama-bench reads ~25% higher on decode, see SWIFT-NOTES). cotforge runs `cotforge generate
--ignore-eos` and reports its own timings. Batched aggregate decode (batch 8 and 32) is
printed for cotforge (B chat prompts, 128 new tokens each, `generate --prompts --batch B`),
as a multiple of llama.cpp's single-stream decode. Medians of --runs runs; peak RSS per process.

  python3 bench/generate/bench.py                  # default model, threads 1 and 2, 3 runs
  python3 bench/generate/bench.py --model path/to/model.gguf --threads 1 --runs 5
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PEER = r"""
import json, sys, time
import numpy as np
import llama_cpp
from llama_cpp import Llama
path, threads, ids, n_new = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3]), int(sys.argv[4])
llm = Llama(model_path=path, n_ctx=1024, n_threads=threads, n_threads_batch=threads, n_batch=512, seed=0, verbose=False)
vocab = llm.n_vocab()
def last_logits():
    return np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(llm._ctx.ctx, -1), shape=(vocab,))
t0 = time.perf_counter(); llm.eval(ids); t1 = time.perf_counter()
tok = int(np.argmax(last_logits()))
out = []
t2 = time.perf_counter()
for _ in range(n_new):
    out.append(tok)
    llm.eval([tok])
    tok = int(np.argmax(last_logits()))
t3 = time.perf_counter()
print(json.dumps({"prompt": len(ids), "pp": len(ids) / (t1 - t0), "decode": n_new / (t3 - t2), "tokens": out[:16]}))
"""


def ensure_llama_cpp():
    if subprocess.run([sys.executable, "-c", "import llama_cpp, numpy"], capture_output=True).returncode == 0:
        return
    print("bench/generate: installing llama-cpp-python (compiles llama.cpp; ~10 minutes on 2 cores)", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "llama-cpp-python", "numpy"], check=True)


def rss_of(cmd):
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = proc.stdout.read()
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd[:3])} … failed: {err.decode()[-2000:]}")
    return out.decode(), err.decode(), usage.ru_maxrss / 1024, time.perf_counter() - t0


def prompt_ids(model, n):
    """n token ids of plain English text, from llama.cpp's tokenizer, and their text."""
    from llama_cpp import Llama
    llm = Llama(model_path=model, n_ctx=64, vocab_only=True, verbose=False)
    base = ("The committee met on a cold morning to review the harbour accounts. Each member read the ledger aloud, "
            "noting the cargo, the tolls and the repairs, and the clerk wrote every figure twice. ")
    text = base * 20
    ids = llm.tokenize(text.encode(), add_bos=False, special=False)[:n]
    return ids, llm.detokenize(ids).decode()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=None, help="a GGUF (default: the default model, fetched when missing)")
    ap.add_argument("--bin", default=str(ROOT / ".build" / "release" / "cotforge"))
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--prompt-tokens", type=int, default=200)
    ap.add_argument("--new-tokens", type=int, default=256)
    ap.add_argument("--batch-tokens", type=int, default=128, help="new tokens per sequence in the batched runs")
    args = ap.parse_args()
    ensure_llama_cpp()
    model = args.model
    if model is None:
        subprocess.run([args.bin, "model", "fetch", "smollm2"], check=True, capture_output=True)
        model = str(Path(os.environ.get("COTFORGE_HOME", Path.home() / ".cache" / "cotforge")) / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf")
    ids, text = prompt_ids(model, args.prompt_tokens)
    print(f"bench/generate: {Path(model).name}; prompt {len(ids)} tokens, {args.new_tokens} new tokens greedy; {args.runs} runs, medians")
    rows = []
    for threads in [int(t) for t in args.threads.split(",")]:
        peer, ours = [], []
        for _ in range(args.runs):
            out, _, rss, _ = rss_of([sys.executable, "-c", PEER, model, str(threads), json.dumps(ids), str(args.new_tokens)])
            r = json.loads(out.strip().splitlines()[-1])
            peer.append((r["pp"], r["decode"], rss))
            _, err, rss, _ = rss_of([args.bin, "generate", "--model", model, "--prompt", text, "--max-tokens", str(args.new_tokens),
                                     "--ignore-eos", "--threads", str(threads)])
            m = re.search(r"prompt (\d+) tokens in [\d.]+ s \(([\d.]+) tokens/s\); generated (\d+) tokens in [\d.]+ s \(([\d.]+) tokens/s\)", err)
            if not m:
                raise SystemExit(f"cannot read cotforge's timing line from: {err[-500:]}")
            if int(m.group(1)) != len(ids):
                print(f"note: cotforge tokenized the prompt to {m.group(1)} tokens, llama.cpp to {len(ids)}", file=sys.stderr)
            ours.append((float(m.group(2)), float(m.group(4)), rss))
        med = lambda xs, i: statistics.median(x[i] for x in xs)
        batched = {}
        for b in (8, 32):
            qs = Path(tempfile.gettempdir()) / f"cotforge-bench-generate-{b}.jsonl"
            qs.write_text("".join(json.dumps({"id": f"q{i}", "question": f"What is {i} + {3 * i}? Explain step by step."}) + "\n" for i in range(b)))
            figures = []
            for _ in range(args.runs):
                _, err, rss, _ = rss_of([args.bin, "generate", "--model", model, "--chat", "--prompts", str(qs), "-o", os.devnull,
                                         "--max-tokens", str(args.batch_tokens), "--ignore-eos", "--batch", str(b), "--threads", str(threads)])
                m = re.search(r"\(([\d.]+) tokens/s overall, ([\d.]+) tokens/s in decode steps, batch", err)
                if not m:
                    raise SystemExit(f"cannot read cotforge's batch summary from: {err[-500:]}")
                figures.append((float(m.group(1)), float(m.group(2)), rss))
            batched[b] = (statistics.median(f[0] for f in figures), statistics.median(f[1] for f in figures), max(f[2] for f in figures))
        rows.append((threads, med(peer, 0), med(ours, 0), med(peer, 1), med(ours, 1), max(x[2] for x in peer), max(x[2] for x in ours), batched))
    print(f"\n{'threads':>7} | {'prompt tok/s':>24} {'ratio':>6} | {'decode tok/s':>24} {'ratio':>6} | {'peak RSS MiB':>18}")
    print(f"{'':>7} | {'llama.cpp':>11} {'cotforge':>12} {'':>6} | {'llama.cpp':>11} {'cotforge':>12} {'':>6} | {'llama.cpp':>8} {'cotforge':>9}")
    for t, ppl, ppo, dl, do, rl, ro, _ in rows:
        print(f"{t:>7} | {ppl:>11.1f} {ppo:>12.1f} {ppo / ppl:>5.2f}x | {dl:>11.1f} {do:>12.1f} {do / dl:>5.2f}x | {rl:>8.0f} {ro:>9.0f}")
    print(f"\ncotforge batched decode over B sequences of {args.batch_tokens} tokens: aggregate tokens/s in the decode steps")
    print("(and overall, prompt passes of the joining sequences included), against llama.cpp's single stream (target at batch 32: >= 4x):")
    for t, _, _, dl, _, _, _, batched in rows:
        cells = "   ".join(f"batch {b}: {d:.1f} tok/s = {d / dl:.2f}x (overall {v:.1f}; RSS {r:.0f} MiB)" for b, (v, d, r) in batched.items())
        print(f"  {t} thread{'s' if t > 1 else ' '}: {cells}")
    print("\nratio = cotforge / llama.cpp (targets: prompt >= 1.0x, decode >= 0.8x).")


if __name__ == "__main__":
    main()
