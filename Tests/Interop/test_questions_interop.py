"""Question sources against the real tools: what the `reasoning-gym` package generates
(basic_arithmetic and gsm_symbolic, written as JSON Lines the way its datasets iterate) is
imported by `cotforge questions import --format reasoning-gym` with every question and answer
intact; GSM8K-format lines (written here in GSM8K's published layout) get their `#### N` gold;
lines that cannot be questions end in the rejects file with their line number, so the counts
add up.

Run: make test   (or COTFORGE_BIN=.build/debug/cotforge python3 -m pytest Tests/Interop)
"""
import json
import os
import subprocess
from pathlib import Path

import reasoning_gym

ROOT = Path(__file__).resolve().parents[2]
BIN = os.environ.get("COTFORGE_BIN", str(ROOT / ".build" / "debug" / "cotforge"))


def run(*args):
    p = subprocess.run([BIN, *map(str, args)], capture_output=True, text=True)
    assert p.returncode == 0, f"cotforge {' '.join(map(str, args))}: {p.stderr[-2000:]}"
    return p


def test_reasoning_gym_import(tmp_path):
    entries = []
    for name in ("basic_arithmetic", "gsm_symbolic"):
        entries += list(reasoning_gym.create_dataset(name, size=25, seed=3))
    src = tmp_path / "rg.jsonl"
    src.write_text("".join(json.dumps(e, default=str) + "\n" for e in entries))  # metadata holds Fractions
    out = tmp_path / "q.jsonl"
    run("questions", "import", src, "--format", "reasoning-gym", "-o", out)
    records = [json.loads(l) for l in out.read_text().splitlines()]
    assert len(records) == len(entries)
    assert [r["question"] for r in records] == [e["question"] for e in entries]
    assert [r["gold"] for r in records] == [str(e["answer"]) for e in entries]
    assert len({r["id"] for r in records}) == len(records)
    assert records[0]["source"]["name"] == "basic_arithmetic"
    # The generator's own answers check out against the shared checker: `answer` with gold and
    # the answer written as the model would (boxed) keeps every record.
    responses = tmp_path / "responses.jsonl"
    responses.write_text("".join(json.dumps({**r, "answer": f"The answer is \\boxed{{{r['gold']}}}."}) + "\n" for r in records))
    run("answer", responses, "-o", tmp_path / "checked.jsonl")
    assert len((tmp_path / "checked.jsonl").read_text().splitlines()) == len(records)


def test_gsm8k_import_and_rejects(tmp_path):
    lines = [
        {"question": "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. How many clips did Natalia sell altogether in April and May?",
         "answer": "Natalia sold 48/2 = <<48/2=24>>24 clips in May.\nNatalia sold 48+24 = <<48+24=72>>72 clips altogether in April and May.\n#### 72"},
        {"question": "A big number?", "answer": "It is large.\n#### 1,200"},
        {"question": "No final line", "answer": "forgot the marker"},
    ]
    src = tmp_path / "gsm8k.jsonl"
    src.write_text("".join(json.dumps(l) + "\n" for l in lines) + "not json\n")
    out = tmp_path / "q.jsonl"
    p = run("questions", "import", src, "--format", "gsm8k", "--license", "MIT", "-o", out)
    records = [json.loads(l) for l in out.read_text().splitlines()]
    assert [r["gold"] for r in records] == ["72", "1200"]
    assert records[0]["source"] == {"name": "gsm8k", "index": 0, "license": "MIT"}
    rejects = [json.loads(l) for l in (tmp_path / "q.rejects.jsonl").read_text().splitlines()]
    assert [(r["reason"], r["line"]) for r in rejects] == [("gsm8k.no_final", 3), ("json.syntax", 4)]
    assert "2 records written" in p.stderr and "2 lines rejected" in p.stderr


def test_generated_problems_are_records(tmp_path):
    out = tmp_path / "gen.jsonl"
    run("questions", "generate", "--count", "30", "--seed", "5", "--steps", "2-3", "-o", out)
    records = [json.loads(l) for l in out.read_text().splitlines()]
    assert len(records) == 30 and all(r["gold"].isdigit() for r in records)
    run("shard", out, "--out", tmp_path / "ds")
    run("verify", tmp_path / "ds")
