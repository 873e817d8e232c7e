#!/usr/bin/env python3
"""More reference values from llama.cpp, on synthetic variants of the default model:

- pre_tokenizers: SmolLM2's vocabulary with `tokenizer.ggml.pre` set to gpt-2, qwen2 and
  llama-bpe (llama.cpp picks its splitter by that name), tokenizing the tricky strings;
- qwen2: SmolLM2's weights (F32) relabelled as a qwen2 model with Q/K/V biases given by
  bias(layer, kind, i) = 0.02·sin(1000·layer + 7·kind + 0.37·i) (kind 0 = q, 1 = k, 2 = v),
  run by llama.cpp's Qwen2 graph with an f32 KV cache: first-step top-10 logits and 16 greedy
  tokens for two prompts. The text is meaningless (the weights were trained for Llama's RoPE);
  the arithmetic of the Qwen2 path (RoPE on halves, biases) is what the test compares.

Writes Tests/ModelTests/Fixtures/llama-cpp-variants.json. Run by hand:
  pip install llama-cpp-python gguf && cotforge model fetch smollm2
  python3 scripts/reference/llama_cpp_variants.py ~/.cache/cotforge/models/SmolLM2-135M-Instruct.Q4_1.gguf
"""
import json
import math
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path

import gguf
import numpy as np
from llama_cpp import Llama

sys.path.insert(0, str(Path(__file__).resolve().parent))
from llama_cpp_reference import TRICKY, copy_model  # noqa: E402


def bias(layer, kind, n):
    return np.array([0.02 * math.sin(1000 * layer + 7 * kind + 0.37 * i) for i in range(n)], dtype=np.float32)


def main(path):
    out = {"pre_tokenizers": {}, "qwen2": []}
    with tempfile.TemporaryDirectory() as tmp:
        for pre in ("gpt-2", "qwen2", "llama-bpe"):
            p = f"{tmp}/{pre}.gguf"
            copy_model(path, p, pre=pre)
            llm = Llama(model_path=p, vocab_only=True, verbose=False)
            out["pre_tokenizers"][pre] = [{"text": t, "ids": llm.tokenize(t.encode(), add_bos=False, special=True)} for t in TRICKY]
            del llm
        r = gguf.GGUFReader(path)
        layers = int(r.fields["llama.block_count"].parts[-1][0])
        extra = {}
        for l in range(layers):
            extra[f"blk.{l}.attn_q.bias"] = bias(l, 0, 576)
            extra[f"blk.{l}.attn_k.bias"] = bias(l, 1, 192)
            extra[f"blk.{l}.attn_v.bias"] = bias(l, 2, 192)
        q = f"{tmp}/qwen2.gguf"
        copy_model(path, q, arch="qwen2", f32=True, extra=extra)
        llm = Llama(model_path=q, n_ctx=256, n_threads=1, n_threads_batch=1, verbose=False, logits_all=True,
                    type_k=0, type_v=0, flash_attn=False)
        ref = json.load(open(Path(__file__).resolve().parents[2] / "Tests/ModelTests/Fixtures/smollm2-llama-cpp.json"))
        for c in ref["chats"][:2]:
            llm.reset()
            llm.eval(c["prompt_ids"])
            logits = np.array(llm.scores[llm.n_tokens - 1], dtype=np.float32)
            top = [[int(i), float(logits[i])] for i in np.argsort(-logits)[:10]]
            greedy = []
            for _ in range(16):
                nxt = int(np.argmax(np.array(llm.scores[llm.n_tokens - 1])))
                greedy.append(nxt)
                llm.eval([nxt])
            out["qwen2"].append({"prompt_ids": c["prompt_ids"], "top10": top, "greedy": greedy})
    out["generator"] = f"llama-cpp-python {version('llama-cpp-python')}"
    dst = Path(__file__).resolve().parents[2] / "Tests" / "ModelTests" / "Fixtures" / "llama-cpp-variants.json"
    dst.write_text(json.dumps(out, ensure_ascii=False) + "\n")
    print(f"wrote {dst}")


if __name__ == "__main__":
    main(sys.argv[1])
