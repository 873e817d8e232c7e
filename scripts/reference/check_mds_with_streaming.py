#!/usr/bin/env python3
"""Reads a cotforge MDS export with MosaicML streaming's own MDS reader and compares every
sample with the dataset's JSONL records. Run by hand, in the environment described in
make_mds_golden.py:
  cotforge export out/NAME --format mds
  /tmp/mds/bin/python scripts/reference/check_mds_with_streaming.py out/NAME
"""
import glob
import importlib.util
import json
import os
import sys
import types

import zstandard

spec = importlib.util.find_spec("streaming")
root = spec.submodule_search_locations[0]
for name, sub in (("streaming", ""), ("streaming.base", "/base")):
    module = types.ModuleType(name)
    module.__path__ = [root + sub]
    sys.modules[name] = module
from streaming.base.format import reader_from_json  # noqa: E402


def main(dataset):
    manifest = json.load(open(os.path.join(dataset, "manifest.json")))
    for split in manifest["exports"]["mds"]["splits"]:
        folder = os.path.join(dataset, "mds", split)
        index = json.load(open(os.path.join(folder, "index.json")))
        records = [json.loads(line) for f in sorted(glob.glob(os.path.join(dataset, "data", f"{split}-*.jsonl.zst")))
                   for line in zstandard.ZstdDecompressor().decompress(open(f, "rb").read()).decode().splitlines()]
        n = 0
        for info in index["shards"]:
            if info.get("zip_data"):  # StreamingDataset decompresses when it fetches a shard
                raw = zstandard.ZstdDecompressor().decompress(open(os.path.join(folder, info["zip_data"]["basename"]), "rb").read())
                open(os.path.join(folder, info["raw_data"]["basename"]), "wb").write(raw)
            reader = reader_from_json(folder, None, info)
            for j in range(reader.samples):
                sample = reader[j]
                for k, v in sample.items():
                    assert v == records[n].get(k), (split, n, k, v, records[n].get(k))
                n += 1
            if info.get("zip_data"):
                os.remove(os.path.join(folder, info["raw_data"]["basename"]))
        assert n == len(records), (split, n, len(records))
        print(f"{split}: streaming's MDS reader read {n} samples, all equal to the JSONL records")


if __name__ == "__main__":
    main(sys.argv[1])
