"""Options whose values start with "-" (steering strengths) are taken as values, the way the
help's examples write them: the commands get past argument parsing and fail on the missing
file instead of "Missing value for '--alphas'".

Run: make test   (or COTFORGE_BIN=.build/debug/cotforge python3 -m pytest Tests/Interop)
"""
import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = os.environ.get("COTFORGE_BIN", str(ROOT / ".build" / "debug" / "cotforge"))


def stderr_of(*args):
    p = subprocess.run([BIN, *map(str, args)], capture_output=True, text=True)
    assert p.returncode != 0
    return p.stderr


def test_negative_steering_values_parse(tmp_path):
    missing = tmp_path / "missing.gguf"
    cases = [
        ["steer", "calibrate", "--vector", missing, "--questions", tmp_path / "q.jsonl", "--alphas", "-1:0.25:0", "-o", tmp_path / "c.json"],
        ["steer", "sample", "--vector", missing, "--questions", tmp_path / "q.jsonl", "--alphas", "-1,-2", "-o", tmp_path / "t.jsonl"],
        ["generate", "--model", missing, "--prompt", "hi", "--steer", missing, "--alpha", "-1"],
    ]
    for args in cases:
        err = stderr_of(*args)
        assert "Missing value" not in err, f"{args[:2]}: {err}"
        assert "missing" in err, f"{args[:2]}: {err}"
