"""The build report renders in a real browser (headless Chromium) without a console message.

The dataset has steered variants (mode × α), bad lines dropped by several stages and a
WebDataset export, so every section the report has today is on the page. The page is
loaded through scripts/render_report.py (the DevTools protocol on a pipe), which collects
console calls, exceptions and browser log entries such as CSP violations; any of them fails
the test. A control page that loads an outside image must produce one, so the check itself
can fail. Every chart is also well-formed XML.

Skips when no Chromium is installed, unless COTFORGE_REQUIRE_CHROMIUM=1 (set by .ci/run
when `apt-get install chromium` worked), where a missing browser fails instead.
"""
import json
import os
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import render_report  # noqa: E402

from test_datasets_interop import run  # noqa: E402

if render_report.find_browser() is None:
    if os.environ.get("COTFORGE_REQUIRE_CHROMIUM") == "1":
        raise RuntimeError("COTFORGE_REQUIRE_CHROMIUM=1 but no Chromium is installed (apt-get install chromium)")
    pytest.skip("no Chromium installed (apt-get install chromium)", allow_module_level=True)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    lines = []
    for i in range(90):
        alpha = [0, -0.4, -0.8][i % 3]
        rec = {"id": f"r-{i}", "question": f"What is {i} + {i}?", "reasoning": f"{i} + {i} = {2 * i}.",
               "answer": f"\\boxed{{{2 * i}}}", "gold": str(2 * i), "mode": "slow" if alpha == 0 else "fast",
               "tokens": {"reasoning": 300 - int(alpha * -250) + (i * 37) % 90},
               "source": {"name": "report-test", "index": i, "license": "MIT"},
               "gen": {"model": "m", "steer": {"vector": "v", "layers": [8], "alpha": alpha}}}
        lines.append(json.dumps(rec, ensure_ascii=False))
    lines.append('{"id": "broken"')
    lines.append(json.dumps({"id": "no-think", "question": "q", "reasoning": "", "answer": "a"}))
    src = tmp / "in.jsonl"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp / "out"
    run("shard", str(src), "--out", str(out), "--split", "validation=0.2", "--stage", "format")
    run("export", str(out), "--format", "wds")
    return out


def test_report_renders_without_console_messages(report, tmp_path):
    png = tmp_path / "report.png"
    r = render_report.render(report / "report.html", png)
    assert r["console"] == [], r["console"]
    assert r["sections"] == ["overview", "funnel", "lengths", "files"]
    assert r["svgs"] == 3  # the funnel, then one histogram per split
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert r["height"] > 1500  # the whole page, not one viewport


def test_charts_are_well_formed(report):
    html = (report / "report.html").read_text(encoding="utf-8")
    charts = re.findall(r"<svg\b.*?</svg>", html, flags=re.S)
    assert len(charts) >= 3
    for chart in charts:
        ET.fromstring(chart)  # raises on broken markup
    assert "<script" not in html and "http://" not in html and "https://" not in html


def test_the_check_catches_a_page_that_loads_from_outside(report, tmp_path):
    bad = tmp_path / "bad.html"
    html = (report / "report.html").read_text(encoding="utf-8")
    bad.write_text(html.replace("</body>", '<img src="http://example.invalid/x.png" alt=""></body>'), encoding="utf-8")
    r = render_report.render(bad)
    assert any("Content Security Policy" in m for m in r["console"]), r["console"]
