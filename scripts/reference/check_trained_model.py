#!/usr/bin/env python3
"""Checks a model exported by `cotforge train` with the reference tools (run by hand, not in CI).

1. llama.cpp (through llama-cpp-python) loads OUT/model.gguf and decodes a few chat prompts
   greedily; the script runs `cotforge generate --precision f32` on the same prompts and
   compares the tokens. Both compute in f32 on an F32 GGUF, so they should agree except where
   two tokens tie to float rounding (the first difference is reported with both top-2 logits).
2. Where torch and transformers import, transformers loads OUT/hf as LlamaForCausalLM and
   its next-token logits for the same prompts are compared with llama.cpp's (max abs difference).

  pip install llama-cpp-python numpy           # compiles llama.cpp, ~10 minutes
  pip install torch transformers                # optional, large
  python3 scripts/reference/check_trained_model.py out/demo/train [--bin .build/release/cotforge]
"""
import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import llama_cpp
from llama_cpp import Llama

PROMPTS = [
    "Tom has 5 apples and buys 3 more. How many apples does he have?",
    "What is 12 + 7? Please reason step by step, and put your final answer within \\boxed{}",
    "Write one sentence about the sea.",
]
STEPS = 32


def chat_text(llm, prompt):
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter
    meta = llm.metadata
    fmt = Jinja2ChatFormatter(template=meta["tokenizer.chat_template"], eos_token="", bos_token="")
    return fmt(messages=[{"role": "user", "content": prompt}]).prompt


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out", help="the folder `cotforge train` wrote (model.gguf, hf/)")
    ap.add_argument("--bin", default=str(Path(__file__).resolve().parents[2] / ".build/release/cotforge"))
    args = ap.parse_args()
    gguf_path = str(Path(args.out) / "model.gguf")
    llm = Llama(model_path=gguf_path, n_ctx=512, n_threads=1, verbose=False, logits_all=False, type_k=0, type_v=0)
    vocab = llm.n_vocab()
    report = {"model": gguf_path, "prompts": []}
    for p in PROMPTS:
        ids = llm.tokenize(chat_text(llm, p).encode(), add_bos=False, special=True)
        llm.reset()
        llm.eval(ids)
        ref, top2 = [], []
        for _ in range(STEPS):
            logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(llm._ctx.ctx, -1), shape=(vocab,)).copy()
            order = np.argsort(-logits)[:2]
            tok = int(order[0])
            if tok == llm.token_eos():
                break   # cotforge does not list the end token either
            ref.append(tok)
            top2.append([(int(t), float(logits[t])) for t in order])
            llm.eval([tok])
        out = subprocess.run([args.bin, "generate", "--model", gguf_path, "--chat", "--prompt", p, "--max-tokens", str(STEPS),
                              "--precision", "f32", "--print-tokens"], capture_output=True, text=True)
        ours = None
        for line in out.stderr.splitlines():
            if line.startswith("tokens: "):
                ours = json.loads(line[len("tokens: "):])
        entry = {"prompt": p, "llama_cpp": ref, "cotforge": ours}
        if ours is not None:
            n = min(len(ours), len(ref))
            first = next((i for i in range(n) if ours[i] != ref[i]), None)
            entry["agree"] = first is None and len(ours) == len(ref)
            if first is not None:
                entry["first_difference"] = {"step": first, "llama_cpp_top2": top2[first]}
        report["prompts"].append(entry)
        if ours is None:
            verdict = "printed no token list: " + out.stderr[-300:]
        elif entry["agree"]:
            verdict = "gives the same tokens"
        else:
            verdict = f"differs: {entry.get('first_difference', f'{len(ours)} tokens against {len(ref)}')}"
        print(f"{p[:40]!r}: llama.cpp {len(ref)} tokens; cotforge {verdict}")
    try:
        import torch
        from transformers import AutoModelForCausalLM
    except ImportError:
        print("transformers/torch not installed: the Hugging Face export was not checked")
        report["transformers"] = "not installed"
    else:
        model = AutoModelForCausalLM.from_pretrained(str(Path(args.out) / "hf"), dtype=torch.float32)
        diffs = []
        for p in PROMPTS:
            ids = llm.tokenize(chat_text(llm, p).encode(), add_bos=False, special=True)
            llm.reset()
            llm.eval(ids)
            ref = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(llm._ctx.ctx, -1), shape=(vocab,)).copy()
            with torch.no_grad():
                hf = model(torch.tensor([ids])).logits[0, -1].numpy()
            diffs.append(float(np.max(np.abs(hf - ref))))
        print(f"transformers LlamaForCausalLM vs llama.cpp, next-token logits: max abs difference {max(diffs):.2e}")
        report["transformers"] = {"max_abs_logit_difference": max(diffs)}
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
