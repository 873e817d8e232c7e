#!/usr/bin/env python3
"""Golden values for cotforge's dequantizers, made by llama.cpp's own `gguf` Python package
(gguf-py, `pip install gguf`), not by cotforge.

For each supported type it draws random blocks (random bytes, with every f16 scale field set
to a finite random value so no NaN/inf appears), dequantizes them with gguf.quants.dequantize,
and writes Tests/ModelTests/Fixtures/quant-golden.json: {type: {raw_hex, values}}.
Rerun:  pip install gguf && python3 scripts/reference/make_quant_golden.py
"""
import json
from importlib.metadata import version
from pathlib import Path

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T

# Byte offsets of f16 fields inside one block (ggml-common.h).
HALF_FIELDS = {
    T.F16: None, T.BF16: None,
    T.Q8_0: [0], T.Q4_0: [0], T.Q4_1: [0, 2], T.Q5_0: [0], T.Q5_1: [0, 2],
    T.Q4_K: [0, 2], T.Q6_K: [208],
}
BLOCKS = 4


def main():
    rng = np.random.default_rng(20261123)
    out = {}
    for t, halves in HALF_FIELDS.items():
        block, size = gguf.GGML_QUANT_SIZES[t]
        if t == T.F16:
            raw = rng.normal(0, 2, BLOCKS * 32).astype(np.float16).tobytes()
        elif t == T.BF16:
            f = rng.normal(0, 2, BLOCKS * 32).astype(np.float32)
            raw = (f.view(np.uint32) >> 16).astype(np.uint16).tobytes()
        else:
            data = bytearray(rng.integers(0, 256, BLOCKS * size, dtype=np.uint8).tobytes())
            for b in range(BLOCKS):
                for off in halves:
                    # Scales positive; the Q4_1/Q5_1 minimum (at byte 2) of either sign.
                    signed = off == 2 and t in (T.Q4_1, T.Q5_1)
                    v = np.float16(rng.uniform(-0.05, 0.05) if signed else rng.uniform(0.001, 0.05))
                    data[b * size + off: b * size + off + 2] = v.tobytes()
            raw = bytes(data)
        n_elem = len(raw) // size * block
        values = gguf.quants.dequantize(np.frombuffer(raw, dtype=np.uint8), t).reshape(-1)
        assert values.size == n_elem, (t, values.size, n_elem)
        out[t.name] = {"block": block, "type_size": size, "raw_hex": raw.hex(),
                       "values": [float(x) for x in values.astype(np.float32)]}
    path = Path(__file__).resolve().parents[2] / "Tests" / "ModelTests" / "Fixtures" / "quant-golden.json"
    path.write_text(json.dumps({"generator": f"gguf {version('gguf')} (gguf-py, llama.cpp) quants.dequantize",
                                "types": out}, indent=1) + "\n")
    print(f"wrote {path} ({', '.join(out)})")


if __name__ == "__main__":
    main()
