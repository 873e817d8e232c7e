#!/usr/bin/env python3
"""bench/train: `cotforge train` against PyTorch on the same model, batch and optimizer.

Two cases, each at context 512 with rows packed full:
  (a) from scratch: a small Llama (6 layers, width 256, 8 heads, FFN 768, SmolLM2's 49152-token
      vocabulary, tied embeddings; ~19M parameters, ~7M outside the embedding), full training;
  (b) LoRA r=8 (q, k, v, o, gate, up, down) on SmolLM2-135M (its real weights for cotforge,
      the same shapes randomly initialized for PyTorch: the arithmetic is the same).
Both sides run AdamW on a batch of --rows rows of 512 tokens in f32 with the same thread
count (OPENBLAS_NUM_THREADS / torch.set_num_threads). PyTorch runs transformers'
LlamaForCausalLM (SDPA attention) with hand-written LoRA adapters; it is installed into a
virtual environment outside the repo (~/.cache/cotforge/venv-torch; a large download).

Printed per case and thread count: training tokens/s (median step after a warm-up step), the
achieved FLOP/s by the usual count (6·N + 12·L·C·T per token for full training, 4·N + 8·L·C·T
with frozen weights, N the matrix parameters the token passes through, the LM head only on
loss tokens), that as a fraction of the OpenBLAS sgemm peak measured in the same run (a
2048³ product through the same libopenblas cotforge uses), and cotforge / PyTorch.

  python3 bench/train/bench.py                       # threads 1 and 2, 4 timed steps
  python3 bench/train/bench.py --threads 1 --steps 3 --rows 2
"""
import argparse
import ctypes
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV = Path.home() / ".cache" / "cotforge" / "venv-torch"
CONTEXT = 512

SCRATCH = {"layers": 6, "width": 256, "ffn": 768, "heads": 8, "kv_heads": 8, "vocab": 49152, "tied": True}
SMOLLM2 = {"layers": 30, "width": 576, "ffn": 1536, "heads": 9, "kv_heads": 3, "vocab": 49152, "tied": True}


def sgemm_peak(threads):
    lib = ctypes.CDLL("libopenblas.so.0")
    lib.openblas_set_num_threads(threads)
    n = 2048
    a = (ctypes.c_float * (n * n))()
    for i in range(0, n * n, 7):
        a[i] = 0.5
    c = (ctypes.c_float * (n * n))()
    best = 0.0
    for _ in range(3):
        t0 = time.perf_counter()
        lib.cblas_sgemm(101, 111, 111, n, n, n, ctypes.c_float(1), a, n, a, n, ctypes.c_float(0), c, n)
        best = max(best, 2 * n ** 3 / (time.perf_counter() - t0))
    return best


def flops_per_token(cfg, lora, loss_fraction=1.0):
    C, L, F, H, KV = cfg["width"], cfg["layers"], cfg["ffn"], cfg["heads"], cfg["kv_heads"]
    d = C // H
    matrix = L * (C * H * d + 2 * C * KV * d + H * d * C + 3 * C * F)
    head = cfg["vocab"] * C * loss_fraction
    attention = L * C * CONTEXT
    if lora:
        return 4 * (matrix + head) + 8 * attention
    return 6 * (matrix + head) + 12 * attention


def dataset(work, rows_tokens):
    """Records of ~250 tokens of word-salad math text: enough for every step to pack full rows."""
    rng = random.Random(0)
    words = ("the a of to and is we so then add subtract multiply divide total each left sum product number apples "
             "books friends bags step answer check first next result therefore because equals minus plus").split()
    lines = []
    for i in range(400):
        q = " ".join(rng.choice(words) for _ in range(30)) + f" {rng.randint(1, 99)} + {rng.randint(1, 99)}?"
        r = " ".join(rng.choice(words) + (f" {rng.randint(1, 999)}" if rng.random() < 0.2 else "") for _ in range(150))
        lines.append(json.dumps({"id": f"b{i}", "question": q, "reasoning": r, "answer": f"\\boxed{{{rng.randint(1, 200)}}}"}))
    src = work / "records.jsonl"
    src.write_text("\n".join(lines) + "\n")
    out = work / "ds"
    if out.exists():
        shutil.rmtree(out)
    subprocess.run([str(ROOT / ".build/release/cotforge"), "shard", str(src), "--out", str(out)], check=True, capture_output=True)
    return out


def run_ours(binary, data, init, lora, threads, rows, steps, work):
    out = work / f"ours-{'lora' if lora else 'full'}-{threads}"
    cmd = [binary, "train", "--data", str(data), "--init", init, "--context", str(CONTEXT), "--batch-tokens", str(rows * CONTEXT - 64),
           "--max-steps", str(steps + 1), "--validation-split", "", "--threads", str(threads), "-o", str(out), "--no-export",
           "--lr", "1e-4"]
    if lora:
        cmd += ["--lora", "r=8,alpha=16"]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"cotforge train failed: {p.stderr[-2000:]}")
    log = [json.loads(l) for l in (out / "train-log.jsonl").read_text().splitlines()]
    timed = log[1:]
    tps = statistics.median(s["row_tokens"] / s["seconds"] for s in timed)
    loss_fraction = statistics.median(s["tokens"] / s["row_tokens"] for s in timed)
    return tps, loss_fraction


TORCH = r"""
import json, statistics, sys, time
import torch
from transformers import LlamaConfig, LlamaForCausalLM
cfg, lora, threads, rows, steps, context = json.loads(sys.argv[1]), sys.argv[2] == "1", int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
torch.set_num_threads(threads)
torch.manual_seed(0)
config = LlamaConfig(vocab_size=cfg["vocab"], hidden_size=cfg["width"], intermediate_size=cfg["ffn"], num_hidden_layers=cfg["layers"],
                     num_attention_heads=cfg["heads"], num_key_value_heads=cfg["kv_heads"], max_position_embeddings=2048,
                     tie_word_embeddings=cfg["tied"], rope_theta=100000.0)
model = LlamaForCausalLM(config).float()
class LoRALinear(torch.nn.Module):
    def __init__(self, base, r=8, alpha=16):
        super().__init__()
        self.base, self.scale = base, alpha / r
        self.a = torch.nn.Parameter(torch.randn(r, base.in_features) / base.in_features ** 0.5)
        self.b = torch.nn.Parameter(torch.zeros(base.out_features, r))
    def forward(self, x):
        return self.base(x) + self.scale * torch.nn.functional.linear(torch.nn.functional.linear(x, self.a), self.b)
if lora:
    for p in model.parameters():
        p.requires_grad_(False)
    for layer in model.model.layers:
        for parent, names in ((layer.self_attn, ("q_proj", "k_proj", "v_proj", "o_proj")), (layer.mlp, ("gate_proj", "up_proj", "down_proj"))):
            for n in names:
                setattr(parent, n, LoRALinear(getattr(parent, n)))
params = [p for p in model.parameters() if p.requires_grad]
opt = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.0)
ids = torch.randint(0, cfg["vocab"], (rows, context))
labels = ids.clone()
times = []
for step in range(steps + 1):
    t0 = time.perf_counter()
    opt.zero_grad()
    loss = model(input_ids=ids, labels=labels).loss
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    opt.step()
    if step > 0:
        times.append(time.perf_counter() - t0)
print(json.dumps({"tokens_per_second": rows * context / statistics.median(times), "torch": torch.__version__}))
"""


def ensure_torch():
    py = VENV / "bin" / "python"
    if py.exists() and subprocess.run([str(py), "-c", "import torch, transformers"], capture_output=True).returncode == 0:
        return str(py)
    print(f"bench/train: installing torch and transformers into {VENV} (a large download)", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(VENV)], check=True)
    subprocess.run([str(py), "-m", "pip", "install", "-q", "torch", "transformers"], check=True)
    return str(py)


def run_torch(py, cfg, lora, threads, rows, steps):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    p = subprocess.run([py, "-c", TORCH, json.dumps(cfg), "1" if lora else "0", str(threads), str(rows), str(steps), str(CONTEXT)],
                       capture_output=True, text=True, env=env)
    if p.returncode != 0:
        raise SystemExit(f"PyTorch run failed: {p.stderr[-2000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--steps", type=int, default=4, help="timed steps per run (after one warm-up step)")
    ap.add_argument("--rows", type=int, default=4, help="rows of 512 tokens per step")
    ap.add_argument("--bin", default=str(ROOT / ".build/release/cotforge"))
    ap.add_argument("--cases", default="scratch,lora")
    args = ap.parse_args()
    py = ensure_torch()
    work = Path(tempfile.gettempdir()) / "cotforge-bench-train"
    work.mkdir(exist_ok=True)
    data = dataset(work, args.rows * CONTEXT)
    scratch_cfg = work / "scratch.json"
    scratch_cfg.write_text(json.dumps({"tokenizer": "smollm2", "layers": SCRATCH["layers"], "width": SCRATCH["width"], "ffn": SCRATCH["ffn"],
                                       "heads": SCRATCH["heads"], "kv_heads": SCRATCH["kv_heads"], "context": 2048, "tied": True}))
    rows = []
    loss_fraction_seen = [1.0]
    for threads in [int(t) for t in args.threads.split(",")]:
        peak = sgemm_peak(threads)
        for case in args.cases.split(","):
            cfg, lora, init = (SCRATCH, False, str(scratch_cfg)) if case == "scratch" else (SMOLLM2, True, "smollm2")
            ours, loss_fraction = run_ours(args.bin, data, init, lora, threads, args.rows, args.steps, work)
            peer = run_torch(py, cfg, lora, threads, args.rows, args.steps)
            flops = flops_per_token(cfg, lora, loss_fraction)
            loss_fraction_seen[0] = loss_fraction
            rows.append((case, threads, ours, peer["tokens_per_second"], ours * flops, peak, peer["torch"]))
            print(f"  {case} threads {threads}: cotforge {ours:.0f} tokens/s, PyTorch {peer['tokens_per_second']:.0f} tokens/s", file=sys.stderr)
    print(f"bench/train: context {CONTEXT}, {args.rows} rows per step, median of {args.steps} steps after one warm-up; PyTorch {rows[0][6]}")
    print(f"{'case':<28} {'threads':>7} {'cotforge tok/s':>15} {'PyTorch tok/s':>14} {'ratio':>6} {'cotforge GFLOP/s':>17} {'sgemm peak':>11} {'of peak':>8}")
    for case, threads, ours, peer, fl, peak, _ in rows:
        name = "(a) from scratch, ~19M" if case == "scratch" else "(b) LoRA r=8, SmolLM2-135M"
        print(f"{name:<28} {threads:>7} {ours:>15.0f} {peer:>14.0f} {ours / peer:>5.2f}x {fl / 1e9:>17.1f} {peak / 1e9:>11.1f} {fl / peak:>7.0%}")
    print("targets: (a) >= 40% of the sgemm peak; >= 1.0x PyTorch for (a) and (b)")
    print(f"note: cotforge computes the LM head only on tokens that carry a loss ({loss_fraction_seen[0]:.0%} of these rows: the prompts are not trained),")
    print("transformers on every token; the FLOP count above uses cotforge's fraction.")


if __name__ == "__main__":
    main()
