#!/usr/bin/env python3
"""Golden values for the engine's dot-product kernels, computed by ggml's own CPU functions.

llama-cpp-python ships libggml-cpu.so, which exports each type's activation conversion
(quantize_row_q8_0 / q8_1 / q8_K, ggml_cpu_fp32_to_fp16 / bf16) and dot product
(ggml_vec_dot_*). This script draws random weight blocks (random bytes, finite scale fields)
and activations, runs them through those functions, and writes
Tests/ModelTests/Fixtures/kernel-golden.json: {type: {rows, cols, raw_hex, x, y}}.

Rerun:  pip install llama-cpp-python && python3 scripts/reference/make_kernel_golden.py
"""
import ctypes
import json
import os
from importlib.metadata import version
from pathlib import Path

import llama_cpp
import numpy as np

LIB = os.path.join(os.path.dirname(llama_cpp.__file__), "lib")
ctypes.CDLL(os.path.join(LIB, "libggml-base.so"), mode=ctypes.RTLD_GLOBAL)
cpu = ctypes.CDLL(os.path.join(LIB, "libggml-cpu.so"), mode=ctypes.RTLD_GLOBAL)
cpu.ggml_cpu_init()

# type: (block size, bytes per block, activation converter, its block bytes, f16 scale offsets)
TYPES = {
    "Q4_0": (32, 18, "quantize_row_q8_0", 34, [0]),
    "Q4_1": (32, 20, "quantize_row_q8_1", 36, [0, 2]),
    "Q5_0": (32, 22, "quantize_row_q8_0", 34, [0]),
    "Q5_1": (32, 24, "quantize_row_q8_1", 36, [0, 2]),
    "Q8_0": (32, 34, "quantize_row_q8_0", 34, [0]),
    "Q4_K": (256, 144, "quantize_row_q8_K", 292, [0, 2]),
    "Q6_K": (256, 210, "quantize_row_q8_K", 292, [208]),
    "F16": (1, 2, "ggml_cpu_fp32_to_fp16", 2, None),
    "BF16": (1, 2, "ggml_cpu_fp32_to_bf16", 2, None),
}
DOT = {"Q4_0": "ggml_vec_dot_q4_0_q8_0", "Q4_1": "ggml_vec_dot_q4_1_q8_1", "Q5_0": "ggml_vec_dot_q5_0_q8_0",
       "Q5_1": "ggml_vec_dot_q5_1_q8_1", "Q8_0": "ggml_vec_dot_q8_0_q8_0", "Q4_K": "ggml_vec_dot_q4_K_q8_K",
       "Q6_K": "ggml_vec_dot_q6_K_q8_K", "F16": "ggml_vec_dot_f16", "BF16": "ggml_vec_dot_bf16"}
ROWS, COLS = 4, 512


def main():
    rng = np.random.default_rng(7)
    out = {}
    for name, (block, size, convert, abytes, halves) in TYPES.items():
        nb = ROWS * COLS // block
        if name == "F16":
            raw = rng.normal(0, 0.05, ROWS * COLS).astype(np.float16).tobytes()
        elif name == "BF16":
            raw = (rng.normal(0, 0.05, ROWS * COLS).astype(np.float32).view(np.uint32) >> 16).astype(np.uint16).tobytes()
        else:
            data = bytearray(rng.integers(0, 256, nb * size, dtype=np.uint8).tobytes())
            for b in range(nb):
                for off in halves:
                    signed = off == 2 and name in ("Q4_1", "Q5_1")
                    v = np.float16(rng.uniform(-0.05, 0.05) if signed else rng.uniform(0.001, 0.05))
                    data[b * size + off: b * size + off + 2] = v.tobytes()
            raw = bytes(data)
        x = (rng.normal(0, 1.5, COLS) * (1 + 3 * (rng.random(COLS) < 0.05))).astype(np.float32)
        act = np.zeros(COLS // (1 if block == 1 else (256 if block == 256 else 32)) * abytes, dtype=np.uint8)
        getattr(cpu, convert)(x.ctypes.data_as(ctypes.c_void_p), act.ctypes.data_as(ctypes.c_void_p), ctypes.c_int64(COLS))
        w = np.frombuffer(raw, dtype=np.uint8)
        row_bytes = COLS // block * size
        y, s = [], ctypes.c_float()
        for r in range(ROWS):
            getattr(cpu, DOT[name])(ctypes.c_int(COLS), ctypes.byref(s), ctypes.c_size_t(0),
                                    ctypes.c_void_p(w.ctypes.data + r * row_bytes), ctypes.c_size_t(0),
                                    act.ctypes.data_as(ctypes.c_void_p), ctypes.c_size_t(0), ctypes.c_int(1))
            y.append(float(s.value))
        out[name] = {"rows": ROWS, "cols": COLS, "raw_hex": raw.hex(), "x": [float(v) for v in x], "y": y}
    path = Path(__file__).resolve().parents[2] / "Tests" / "ModelTests" / "Fixtures" / "kernel-golden.json"
    path.write_text(json.dumps({"generator": f"ggml CPU kernels from llama-cpp-python {version('llama-cpp-python')}",
                                "types": out}) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
