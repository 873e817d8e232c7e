#!/usr/bin/env python3
"""Golden facts about the default model, read by llama.cpp's `gguf` package (gguf-py), for
Tests/ModelTests/RealModelTests.swift: every metadata value (arrays by length and their first
and last three elements), every tensor's name, shape, type and absolute offset, and the first
and last 64 dequantized values and the float64 sum of one tensor of each type.

Rerun:  pip install gguf && cotforge model fetch smollm2 &&
        python3 scripts/reference/make_model_golden.py ~/.cache/cotforge/models/SmolLM2-135M-Instruct.Q4_1.gguf
"""
import json
import sys
from importlib.metadata import version
from pathlib import Path

import numpy as np
import gguf


def plain(v):
    if isinstance(v, (bytes, bytearray)):
        return v.decode("utf-8")
    if isinstance(v, (np.floating, float)):
        return float(v)
    if isinstance(v, (np.integer, int, bool, np.bool_)):
        return int(v)
    return v


def main(path):
    r = gguf.GGUFReader(path)
    meta = {}
    for k, f in r.fields.items():
        if k.startswith("GGUF."):
            continue
        if f.types[0] == gguf.GGUFValueType.ARRAY:
            items = [plain(f.parts[i].tolist()[0] if f.types[-1] != gguf.GGUFValueType.STRING else bytes(f.parts[i]))
                     for i in f.data]
            meta[k] = {"array_of": f.types[-1].name, "count": len(items), "head": items[:3], "tail": items[-3:]}
        else:
            v = f.parts[f.data[0]]
            meta[k] = {"type": f.types[0].name,
                       "value": plain(bytes(v)) if f.types[0] == gguf.GGUFValueType.STRING else plain(v.tolist()[0])}
    tensors = [{"name": t.name, "dims": [int(d) for d in t.shape], "type": t.tensor_type.name, "offset": int(t.data_offset)}
               for t in r.tensors]
    samples = {}
    for t in r.tensors:
        if t.tensor_type.name in samples:
            continue
        values = gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float32).reshape(-1)
        samples[t.tensor_type.name] = {"tensor": t.name, "head": [float(x) for x in values[:64]],
                                       "tail": [float(x) for x in values[-64:]], "sum": float(values.astype(np.float64).sum())}
    out = Path(__file__).resolve().parents[2] / "Tests" / "ModelTests" / "Fixtures" / "smollm2-gguf-golden.json"
    out.write_text(json.dumps({"generator": f"gguf {version('gguf')} (gguf-py, llama.cpp) GGUFReader",
                               "file_size": Path(path).stat().st_size, "metadata": meta, "tensors": tensors,
                               "samples": samples}, ensure_ascii=False, indent=0) + "\n")
    print(f"wrote {out}: {len(meta)} keys, {len(tensors)} tensors, samples of {', '.join(samples)}")


if __name__ == "__main__":
    main(sys.argv[1])
