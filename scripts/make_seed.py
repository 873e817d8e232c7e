#!/usr/bin/env python3
"""Writes the small seed corpus under datasets/seed/ (deterministic; rerun to regenerate).

arith-cot.jsonl: grade-school arithmetic word problems, each with a long ("slow", System 2)
and a short ("fast", System 1) worked solution, in the cotforge record format.
broken.jsonl: one line of each kind that `cotforge shard` must reject, to show rejects.
The problems are generated here (no outside data), so they carry the project's license.
"""
import json
import random
from pathlib import Path

NAMES = ["Ava", "Ben", "Chen", "Dana", "Emeka", "Farah", "Gus", "Hana", "Ivan", "Jo", "Kemal", "Lena"]
ITEMS = [("apples", "apple"), ("pencils", "pencil"), ("stickers", "sticker"), ("marbles", "marble"),
         ("cookies", "cookie"), ("books", "book"), ("stamps", "stamp"), ("shells", "shell")]
S1 = " Please provide as a brief reasoning process as possible, and put your final answer within \\boxed{}"
S2 = " Please reason step by step, and put your final answer within \\boxed{}"


def problem(rng: random.Random):
    name, other = rng.sample(NAMES, 2)
    plural, _ = rng.choice(ITEMS)
    kind = rng.randrange(4)
    a, b = rng.randint(3, 40), rng.randint(2, 30)
    if kind == 0:
        q = f"{name} has {a} {plural}. {other} gives {name} {b} more. How many {plural} does {name} have now?"
        steps = [f"{name} starts with {a} {plural}.", f"{other} adds {b}, so {a} + {b} = {a + b}."]
        ans = a + b
    elif kind == 1:
        a = a + b
        q = f"{name} had {a} {plural} and gave {b} of them to {other}. How many {plural} are left?"
        steps = [f"{name} starts with {a} {plural}.", f"Giving away {b} leaves {a} - {b} = {a - b}."]
        ans = a - b
    elif kind == 2:
        a, b = rng.randint(2, 12), rng.randint(2, 12)
        q = f"{name} buys {a} bags with {b} {plural} in each bag. How many {plural} is that in total?"
        steps = [f"There are {a} bags.", f"Each bag holds {b}, so {a} × {b} = {a * b}."]
        ans = a * b
    else:
        b = rng.randint(2, 9)
        a = b * rng.randint(2, 12)
        q = f"{name} shares {a} {plural} equally among {b} friends. How many {plural} does each friend get?"
        steps = [f"There are {a} {plural} and {b} friends.", f"Each gets {a} ÷ {b} = {a // b}."]
        ans = a // b
    return q, steps, str(ans)


def main():
    rng = random.Random(20261123)
    out = Path(__file__).resolve().parent.parent / "datasets" / "seed"
    out.mkdir(parents=True, exist_ok=True)
    seen = set()
    with open(out / "arith-cot.jsonl", "w", encoding="utf-8") as f:
        i = 0
        while i < 150:
            q, steps, ans = problem(rng)
            if q in seen:
                continue
            seen.add(q)
            slow = " ".join(steps) + f" Let me double-check: the result is {ans}. So the answer is {ans}."
            fast = steps[-1]
            for variant, mode, instr, reasoning, rtoks in (("slow", "slow", S2, slow, len(slow.split())),
                                                           ("fast", "fast", S1, fast, len(fast.split()))):
                rec = {
                    "id": f"seed-arith-{i}/{variant}",
                    "task": "math",
                    "source": {"name": "seed-arith", "index": i, "split": "train", "license": "MIT"},
                    "question": q,
                    "prompt": q + instr,
                    "reasoning": reasoning,
                    "answer": f"The answer is \\boxed{{{ans}}}.",
                    "gold": ans,
                    "pred": ans,
                    "mode": mode,
                    "tokens": {"prompt": len((q + instr).split()), "reasoning": rtoks, "answer": 4},
                    "len_ratio": 1.0 if mode == "slow" else round(len(fast) / len(slow), 3),
                }
                f.write(json.dumps(rec, ensure_ascii=False) + "\n")
            i += 1
    good = {"id": "broken-ok", "task": "math", "question": "What is 2 + 2?", "answer": "\\boxed{4}", "gold": "4"}
    with open(out / "broken.jsonl", "wb") as f:
        f.write((json.dumps(good) + "\n").encode())                           # kept
        f.write(b'{"id": "broken-syntax", "question": "What is 3 + 4?",\n')    # json.syntax
        f.write(b'["a", "list", "is not a record"]\n')                          # json.not_object
        f.write(b'{"id": "broken-noq", "answer": "7"}\n')                       # schema.required
        f.write(b'{"id": "broken-type", "question": "Q?", "stage": "two"}\n')   # schema.type
        f.write(b'{"id": "broken-utf8", "question": "caf\xe9?"}\n')             # json.utf8
        f.write(b'{"id": "broken-mode", "question": "Q2?", "mode": "medium"}\n')  # schema.enum
        f.write((json.dumps(good) + "\n").encode())                           # id.duplicate
        f.write(b'\n')                                                          # blank: not a record
        f.write(b'{"question": "A record without an id gets one from its file and line."}\n')


if __name__ == "__main__":
    main()
