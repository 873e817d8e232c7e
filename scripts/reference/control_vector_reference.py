#!/usr/bin/env python3
"""Steering parity with llama.cpp: the same control vector and scale, applied by llama.cpp
(through llama-cpp-python's llama_set_adapter_cvec, which is what `--control-vector-scaled`
does) and by cotforge.

Writes, under Tests/ModelTests/Fixtures/:
- cvec-golden.gguf: a control vector for SmolLM2-135M written by gguf-py the way repeng and
  llama.cpp's cvector-generator write them (general.architecture = controlvector,
  controlvector.model_hint, controlvector.layer_count, F32 direction.N for blocks 8..14);
  the directions are seeded random unit vectors times the typical residual norm at that block;
- cvec-llama-cpp.json: for each chat prompt, llama.cpp's greedy tokens without and with the
  vector at scale ALPHA on an F32 copy of the model (f32 KV cache, no flash attention, so both
  engines do the same f32 math), and the top-10 logits of the first steered steps.
The Swift test (ControlVectorTests) loads the golden file, checks that it round-trips byte for
byte, applies it with the same scale to the same F32 model and expects the same tokens.

Run by hand (needs llama-cpp-python, gguf, numpy; see llama_cpp_reference.py):
  python3 scripts/reference/control_vector_reference.py ~/.cache/cotforge/models/SmolLM2-135M-Instruct.Q4_1.gguf
"""
import ctypes
import json
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path

import gguf
import llama_cpp
import numpy as np
from llama_cpp import Llama
from llama_cpp.llama_chat_format import Jinja2ChatFormatter

sys.path.insert(0, str(Path(__file__).resolve().parent))
from llama_cpp_reference import copy_model, greedy  # noqa: E402

LAYERS = list(range(8, 15))
ALPHA = 0.8
CHATS = ["What is 12 + 7?", "Write a haiku about the sea.", "Tom has 3 apples and buys 5 more. How many apples does he have?"]
FIXTURES = Path(__file__).resolve().parents[2] / "Tests" / "ModelTests" / "Fixtures"


def apply(llm, directions, alpha, n_layer):
    n_embd = llm.n_embd()
    data = np.zeros(n_embd * n_layer, dtype=np.float32)  # layer il at (il - 1) * n_embd: llama.cpp never steers block 0
    for il, v in directions.items():
        data[(il - 1) * n_embd: il * n_embd] = alpha * v
    rc = llama_cpp.llama_set_adapter_cvec(llm._ctx.ctx, data.ctypes.data_as(ctypes.POINTER(ctypes.c_float)),
                                          len(data), n_embd, 1, n_layer)
    assert rc == 0, f"llama_set_adapter_cvec returned {rc}"


def main(path):
    reader = gguf.GGUFReader(path)
    n_layer = int(reader.fields["llama.block_count"].parts[-1][0])
    with tempfile.TemporaryDirectory() as tmp:
        f32_path = f"{tmp}/f32.gguf"
        copy_model(path, f32_path, f32=True)
        llm = Llama(model_path=f32_path, n_ctx=1024, n_threads=1, n_threads_batch=1, seed=0, verbose=False,
                    logits_all=True, type_k=0, type_v=0, flash_attn=False)
        md = llm.metadata
        fmt = Jinja2ChatFormatter(template=md["tokenizer.chat_template"], eos_token="<|im_end|>", bos_token="<|im_start|>")
        eos = int(md.get("tokenizer.ggml.eos_token_id", 2))

        # Seeded random directions of norm 4 (large enough to change greedy output at ALPHA).
        n_embd = llm.n_embd()
        rng = np.random.default_rng(0)
        directions = {}
        for il in LAYERS:
            v = rng.standard_normal(n_embd).astype(np.float32)
            directions[il] = (v / np.linalg.norm(v) * 4.0).astype(np.float32)

        w = gguf.GGUFWriter(str(FIXTURES / "cvec-golden.gguf"), arch="controlvector")
        w.add_string("controlvector.model_hint", "llama")
        w.add_int32("controlvector.layer_count", len(LAYERS))
        for il in LAYERS:
            w.add_tensor(f"direction.{il}", directions[il])
        w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()

        chats = []
        for q in CHATS:
            prompt = fmt(messages=[{"role": "user", "content": q}]).prompt
            ids = llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
            apply(llm, {}, 0.0, n_layer)
            plain, _, _ = greedy(llm, ids, eos)
            apply(llm, directions, ALPHA, n_layer)
            steered, top10, top2 = greedy(llm, ids, eos)
            apply(llm, {}, 0.0, n_layer)
            chats.append({"question": q, "prompt_ids": ids, "plain": plain, "steered": steered, "top10": top10, "top2": top2,
                          "plain_text": llm.detokenize(plain).decode("utf-8", "replace"),
                          "steered_text": llm.detokenize(steered).decode("utf-8", "replace")})
            print(f"{q[:30]!r}\n  plain:   {chats[-1]['plain_text'][:70]!r}\n  steered: {chats[-1]['steered_text'][:70]!r}")
        assert any(c["plain"] != c["steered"] for c in chats), "the vector changes nothing: make it larger"

    out = FIXTURES / "cvec-llama-cpp.json"
    out.write_text(json.dumps({"generator": f"llama-cpp-python {version('llama-cpp-python')}, F32 copy, 1 thread, greedy",
                               "alpha": ALPHA, "layers": LAYERS, "chats": chats}, ensure_ascii=False, indent=1) + "\n")
    print(f"wrote {FIXTURES / 'cvec-golden.gguf'} and {out}")


if __name__ == "__main__":
    main(sys.argv[1])
