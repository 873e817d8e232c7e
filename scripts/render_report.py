#!/usr/bin/env python3
"""Renders a dataset's report.html in headless Chromium, as a person would see it.

    python3 scripts/render_report.py out/demo                 # writes out/demo/report.png
    python3 scripts/render_report.py out/demo -o /tmp/r.png --width 1280

Prints what the browser saw: every console message, CSP violation or script error (a page
with no script and no outside resources has none), the sections and the number of SVG
charts; exits 1 when there was any console message. The whole page is captured, however
long. Needs the Debian package `chromium` (apt-get install chromium); it talks to the browser
over the DevTools protocol on a pipe (--remote-debugging-pipe), so nothing listens on a port.
The rendering test in Tests/Interop uses `render()` from here.
"""
import argparse
import base64
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

BROWSERS = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"]


def find_browser():
    env = os.environ.get("COTFORGE_CHROMIUM")
    if env:
        return env
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


class DevTools:
    """The DevTools protocol over Chromium's pipe: JSON messages separated by NUL bytes, the
    browser reading on its fd 3 and writing on its fd 4."""

    def __init__(self, browser, width, height, timeout):
        to_browser_r, self.to_browser = os.pipe()
        self.from_browser, from_browser_w = os.pipe()

        def child_fds():
            # Through fresh descriptors first, in case a pipe end already is 3 or 4; dup2
            # leaves 3 and 4 inheritable (everything else Python opened closes on exec).
            r, w = os.dup(to_browser_r), os.dup(from_browser_w)
            os.dup2(r, 3)
            os.dup2(w, 4)

        self.proc = subprocess.Popen(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
             "--no-default-browser-check", "--disable-extensions", "--remote-debugging-pipe",
             f"--window-size={width},{height}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=child_fds, close_fds=False)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self.buffer = b""
        self.next_id = 0
        self.events = []
        self.timeout = timeout

    def _read_message(self):
        import select
        while b"\0" not in self.buffer:
            ready, _, _ = select.select([self.from_browser], [], [], self.timeout)
            if not ready:
                raise TimeoutError(f"the browser did not answer within {self.timeout} s")
            chunk = os.read(self.from_browser, 1 << 20)
            if not chunk:
                raise RuntimeError("the browser closed the DevTools pipe (did it start? try running it by hand)")
            self.buffer += chunk
        message, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(message)

    def call(self, method, session=None, **params):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params}
        if session:
            msg["sessionId"] = session
        os.write(self.to_browser, json.dumps(msg).encode() + b"\0")
        while True:
            m = self._read_message()
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                return m.get("result", {})
            self.events.append(m)

    def wait_event(self, method):
        for i, e in enumerate(self.events):
            if e.get("method") == method:
                return self.events.pop(i)
        while True:
            m = self._read_message()
            if m.get("method") == method:
                return m
            self.events.append(m)

    def close(self):
        try:
            self.call("Browser.close")
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        os.close(self.to_browser)
        os.close(self.from_browser)


def console_messages(events):
    """Console calls, uncaught exceptions and browser log entries (CSP violations, failed
    loads) seen while the page loaded, as text."""
    out = []
    for e in events:
        p = e.get("params", {})
        if e.get("method") == "Runtime.consoleAPICalled":
            args = " ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", []))
            out.append(f"console.{p.get('type')}: {args}")
        elif e.get("method") == "Runtime.exceptionThrown":
            d = p.get("exceptionDetails", {})
            out.append(f"exception: {d.get('exception', {}).get('description', d.get('text'))}")
        elif e.get("method") == "Log.entryAdded":
            entry = p.get("entry", {})
            out.append(f"{entry.get('source')} {entry.get('level')}: {entry.get('text')}")
    return out


def render(page, png=None, width=1100, timeout=60):
    """Loads `page` (an HTML file) in headless Chromium. Returns a dict with `console` (every
    message, see console_messages), `sections` (ids of <section> elements), `svgs` (count),
    `height` (CSS pixels of the whole page) and, when `png` is given, writes the screenshot
    of the whole page there."""
    browser = find_browser()
    if browser is None:
        raise FileNotFoundError("no Chromium found (apt-get install chromium, or set COTFORGE_CHROMIUM)")
    url = Path(page).resolve().as_uri()
    dt = DevTools(browser, width, 900, timeout)
    try:
        targets = dt.call("Target.getTargets")["targetInfos"]
        target = next(t["targetId"] for t in targets if t["type"] == "page")
        session = dt.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            dt.call(f"{domain}.enable", session)
        dt.call("Page.navigate", session, url=url)
        dt.wait_event("Page.loadEventFired")
        # Messages raised while loading arrive before or with the load event; one round trip
        # more lets stragglers in.
        metrics = dt.call("Page.getLayoutMetrics", session)
        size = metrics.get("cssContentSize") or metrics["contentSize"]
        doc = dt.call("DOM.getDocument", session, depth=0)["root"]["nodeId"]
        sections = dt.call("DOM.querySelectorAll", session, nodeId=doc, selector="section[id]")["nodeIds"]
        section_ids = []
        for node in sections:
            attrs = dt.call("DOM.getAttributes", session, nodeId=node)["attributes"]
            section_ids.append(dict(zip(attrs[::2], attrs[1::2])).get("id"))
        svgs = len(dt.call("DOM.querySelectorAll", session, nodeId=doc, selector="svg[role=img]")["nodeIds"])
        if png:
            shot = dt.call("Page.captureScreenshot", session, format="png", captureBeyondViewport=True,
                           clip={"x": 0, "y": 0, "width": width, "height": size["height"], "scale": 1})
            Path(png).write_bytes(base64.b64decode(shot["data"]))
        return {"console": console_messages(dt.events), "sections": section_ids, "svgs": svgs,
                "height": size["height"]}
    finally:
        dt.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dataset", help="a dataset folder (holding report.html) or an HTML file")
    ap.add_argument("-o", "--output", help="PNG to write (default: report.png beside the page)")
    ap.add_argument("--width", type=int, default=1100, help="viewport width in CSS pixels (default 1100)")
    args = ap.parse_args()
    page = Path(args.dataset)
    if page.is_dir():
        page = page / "report.html"
    if not page.is_file():
        sys.exit(f"error: {page} does not exist; write it with: cotforge report {args.dataset}")
    png = args.output or str(page.with_suffix(".png"))
    try:
        r = render(page, png, args.width)
    except (FileNotFoundError, RuntimeError, TimeoutError) as e:
        sys.exit(f"error: {e}")
    print(f"{png}: {args.width}×{round(r['height'])} CSS px; sections {', '.join(r['sections'])}; {r['svgs']} SVG charts")
    for line in r["console"]:
        print(f"console: {line}")
    if r["console"]:
        sys.exit(1)
    print("no console messages")


if __name__ == "__main__":
    main()
