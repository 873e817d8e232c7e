#!/usr/bin/env python3
"""Reference values for the engine's parity tests, made by llama.cpp (through llama-cpp-python).

Writes Tests/ModelTests/Fixtures/smollm2-llama-cpp.json with:
- tokens: llama.cpp's token ids for a set of tricky strings (digits, runs of spaces, tabs,
  unicode, emoji, code, special tokens), tokenized with special-token parsing and no BOS;
- chats: for each chat prompt, the prompt as the model's own Jinja chat template renders it
  (llama-cpp-python's Jinja2ChatFormatter), its token ids, the greedy continuation (up to 64
  tokens, stopping at EOS), the top-10 logits at the first steps and the top-2 at every step;
- f32: the same chats run by llama.cpp on an F32 copy of the model (every tensor dequantized by
  gguf-py, f32 KV cache, no flash attention): pure f32 arithmetic on both sides, so the engine's
  f32 mode must agree to float rounding; greedy tokens and first-step top-10 logits;
- self_spread: how far llama.cpp's own first-step top-10 logits move when only its precision
  settings change (f32 instead of f16 KV cache, flash attention on), per prompt. That spread is
  the tolerance the parity test allows: a different choice inside it is a tie, not a bug.

Run by hand (compiling llama.cpp takes ~10 minutes on 2 cores):
  pip install llama-cpp-python jinja2
  cotforge model fetch smollm2
  python3 scripts/reference/llama_cpp_reference.py ~/.cache/cotforge/models/SmolLM2-135M-Instruct.Q4_1.gguf
"""
import json
import sys
from importlib.metadata import version
from pathlib import Path

import tempfile

import gguf
import numpy as np
from llama_cpp import Llama
from llama_cpp.llama_chat_format import Jinja2ChatFormatter

TRICKY = [
    "1234567890", "3.14159 -42 1e10 1,000,000", "  multiple   spaces  ", "\t\ttabs\tand\ttext", "a\r\nb\n\n\nc",
    "naïve café — “quotes” ‘single’", "emoji 😀👩‍👩‍👧 ok", "Ünïcödé ΑΒΓ 日本語 한국어 русский",
    "def f(x):\n    return x**2  # square\n", "I'll've we're THEY'LL it's", "<|im_start|>user\nhi<|im_end|>",
    "<|endoftext|>text<|im_end|>", "", " ", "\n", "x" * 300, "Hello, world! How are you?",
    "What is 12 + 7?", "   leading and trailing   ", "mixed123abc456 ٣٤٥ ①②",
]

CHATS = [
    "What is 12 + 7?",
    "What is 17 + 25? Please reason step by step, and put your final answer within \\boxed{}",
    "Tom has 3 apples and buys 5 more. How many apples does he have?",
    "Write a haiku about the sea.",
    "What is the capital of France?",
    "Explain what a prime number is in one sentence.",
    "9 times 8 = ?",
    "Translate 'good morning' into Spanish.",
]

STEPS = 64
TOPK_STEPS = 4


def copy_model(src, dst, arch=None, pre=None, f32=False, extra=None):
    """A copy of the GGUF `src` written by gguf-py: metadata copied (keys renamed when `arch`
    changes the architecture), `tokenizer.ggml.pre` replaced by `pre`, tensors dequantized to
    F32 when `f32`, and `extra` tensors added."""
    r = gguf.GGUFReader(src)
    old_arch = bytes(r.fields["general.architecture"].parts[-1]).decode()
    arch = arch or old_arch
    w = gguf.GGUFWriter(dst, arch=arch)
    for k, f in r.fields.items():
        if k.startswith("GGUF.") or k == "general.architecture":
            continue
        key = k.replace(old_arch + ".", arch + ".", 1) if k.startswith(old_arch + ".") else k
        t = f.types[0]
        if key == "tokenizer.ggml.pre" and pre:
            w.add_key_value(key, pre, t)
        elif t == gguf.GGUFValueType.ARRAY:
            et = f.types[-1]
            vals = [bytes(f.parts[i]).decode() if et == gguf.GGUFValueType.STRING else f.parts[i].tolist()[0] for i in f.data]
            w.add_key_value(key, vals, t, sub_type=et)
        elif t == gguf.GGUFValueType.STRING:
            w.add_key_value(key, bytes(f.parts[f.data[0]]).decode(), t)
        else:
            w.add_key_value(key, f.parts[f.data[0]].tolist()[0], t)
    for t in r.tensors:
        if f32 or t.tensor_type == gguf.GGMLQuantizationType.F32:
            w.add_tensor(t.name, gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float32))
        else:
            w.add_tensor(t.name, t.data, raw_dtype=t.tensor_type)
    for name, arr in (extra or {}).items():
        w.add_tensor(name, arr)
    w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()


def greedy(llm, ids, eos):
    llm.reset()
    llm.eval(ids)
    out, top, top2 = [], [], []
    for step in range(STEPS):
        logits = np.array(llm.scores[llm.n_tokens - 1], dtype=np.float32)
        nxt = int(np.argmax(logits))
        order = np.argsort(-logits)[:10]
        if step < TOPK_STEPS:
            top.append([[int(i), float(logits[i])] for i in order])
        top2.append([[int(i), float(logits[i])] for i in order[:2]])
        if nxt == eos:
            break
        out.append(nxt)
        llm.eval([nxt])
    return out, top, top2


def main(path):
    llm = Llama(model_path=path, n_ctx=1024, n_threads=1, n_threads_batch=1, n_batch=512, seed=0, verbose=False,
                logits_all=True)  # scores stay empty without it in llama-cpp-python 0.3
    md = llm.metadata
    fmt = Jinja2ChatFormatter(template=md["tokenizer.chat_template"], eos_token="<|im_end|>", bos_token="<|im_start|>")
    eos = int(md.get("tokenizer.ggml.eos_token_id", 2))

    tokens = [{"text": t, "ids": llm.tokenize(t.encode("utf-8"), add_bos=False, special=True)} for t in TRICKY]

    chats = []
    for q in CHATS:
        prompt = fmt(messages=[{"role": "user", "content": q}]).prompt
        ids = llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
        out, top, top2 = greedy(llm, ids, eos)
        chats.append({"question": q, "prompt": prompt, "prompt_ids": ids, "greedy": out,
                      "greedy_text": llm.detokenize(out).decode("utf-8", errors="replace"), "top10": top, "top2": top2})
        print(f"{q[:40]!r}: {len(ids)} prompt tokens, {len(out)} generated: {chats[-1]['greedy_text'][:60]!r}")

    # llama.cpp against itself: the same prompts with other precision settings.
    spread = [0.0] * len(chats)
    for kw in ({"type_k": 0, "type_v": 0}, {"flash_attn": True}):
        other = Llama(model_path=path, n_ctx=1024, n_threads=1, n_threads_batch=1, seed=0, verbose=False, logits_all=True, **kw)
        for i, c in enumerate(chats):
            other.reset()
            other.eval(c["prompt_ids"])
            logits = np.array(other.scores[other.n_tokens - 1], dtype=np.float32)
            spread[i] = max(spread[i], max(abs(float(logits[int(t)]) - v) for t, v in c["top10"][0]))
    for c, s_ in zip(chats, spread):
        c["self_spread"] = s_
    print("llama.cpp self-spread per prompt:", ", ".join(f"{x:.3f}" for x in spread))

    with tempfile.TemporaryDirectory() as tmp:
        f32_path = f"{tmp}/f32.gguf"
        copy_model(path, f32_path, f32=True)
        exact = Llama(model_path=f32_path, n_ctx=1024, n_threads=1, n_threads_batch=1, seed=0, verbose=False,
                      logits_all=True, type_k=0, type_v=0, flash_attn=False)
        for c in chats:
            out, top, top2 = greedy(exact, c["prompt_ids"], eos)
            c["f32"] = {"greedy": out, "top10": top, "top2": top2}
        del exact

    out_path = Path(__file__).resolve().parents[2] / "Tests" / "ModelTests" / "Fixtures" / "smollm2-llama-cpp.json"
    out_path.write_text(json.dumps({"generator": f"llama-cpp-python {version('llama-cpp-python')}, 1 thread, greedy",
                                    "tokens": tokens, "chats": chats}, ensure_ascii=False, indent=1) + "\n")
    print(f"wrote {out_path}")


if __name__ == "__main__":
    main(sys.argv[1])
