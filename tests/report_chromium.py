#!/usr/bin/python3
"""Open an HTML file in headless Chromium and report what a reader would see.

Usage: report_chromium.py PAGE.html SCREENSHOT.png [WIDTH]

Chromium is driven over the DevTools protocol on a pipe
(--remote-debugging-pipe: commands on fd 3, replies on fd 4, each a JSON
message ending in NUL), because the protocol reports what log scraping
cannot tell apart: console.error from console.log (both are "INFO:CONSOLE"
lines in Chromium's stderr log), uncaught exceptions, and failed loads
(a missing image is not a console line at all in --enable-logging).

Prints one fact per line, for tests/test_report.c to assert:
  errors N            console errors + exceptions + failed loads + log errors
  error TEXT          each of them
  requests_outside N  loads of anything but the page itself and data: URIs
  tables N            <table> elements in the DOM
  images N            <img> elements
  images_data_png N   <img> whose src is a data:image/png;base64 URI whose
                      bytes (decoded here) start with the PNG signature and
                      an IHDR of the img's natural size
  images_decoded N    <img> the browser decoded (complete, naturalWidth > 0)
  page W H            the document's scroll size in CSS pixels
  screenshot PATH W H the full-page PNG written
  seconds S           wall time from start to screenshot
Exit 0 when Chromium ran (whatever it found), 2 when it could not run (the
reason on stderr).
"""
import base64
import json
import os
import select
import shutil
import struct
import subprocess
import sys
import tempfile
import time

TIMEOUT_S = 60


class Pipe:
    def __init__(self, wfd, rfd):
        self.wfd, self.rfd, self.buf, self.next_id = wfd, rfd, b"", 0
        self.events = []

    def send(self, method, params=None, session=None):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.wfd, json.dumps(msg).encode() + b"\0")
        return self.next_id

    def read_one(self, deadline):
        while b"\0" not in self.buf:
            left = deadline - time.time()
            if left <= 0:
                raise TimeoutError("no reply from Chromium within %d s" % TIMEOUT_S)
            r, _, _ = select.select([self.rfd], [], [], left)
            if r:
                chunk = os.read(self.rfd, 1 << 20)
                if not chunk:
                    raise EOFError("Chromium closed the pipe")
                self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method, params=None, session=None, deadline=None):
        want = self.send(method, params, session)
        while True:
            m = self.read_one(deadline)
            if m.get("id") == want:
                if "error" in m:
                    raise RuntimeError("%s: %s" % (method, m["error"]))
                return m.get("result", {})
            self.events.append(m)

    def wait_event(self, name, deadline):
        for i, m in enumerate(self.events):
            if m.get("method") == name:
                return self.events.pop(i)
        while True:
            m = self.read_one(deadline)
            if m.get("method") == name:
                return m
            self.events.append(m)


def png_size(data):
    if len(data) < 33 or data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", data[16:24])


def main():
    page, shot = os.path.abspath(sys.argv[1]), sys.argv[2]
    width = int(sys.argv[3]) if len(sys.argv) > 3 else 1200
    exe = shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(exe):
        print("chromium is not installed (Debian package chromium)", file=sys.stderr)
        return 2
    t0 = time.time()
    deadline = t0 + TIMEOUT_S
    profile = tempfile.mkdtemp(prefix="cf-chromium-")
    to_chrome_r, to_chrome_w = os.pipe()
    from_chrome_r, from_chrome_w = os.pipe()

    def child_fds():  # the pipe ends to fds 3 and 4 (via fresh fds: the ends may be 3 or 4 already)
        a, b = os.dup(to_chrome_r), os.dup(from_chrome_w)
        os.dup2(a, 3)
        os.dup2(b, 4)

    # --no-sandbox: as root, Chromium refuses to start with its sandbox;
    # --disable-dev-shm-usage: containers often have a 64 MiB /dev/shm
    args = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
            "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
            "--user-data-dir=" + profile, "--remote-debugging-pipe", "about:blank"]
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            preexec_fn=child_fds, pass_fds=(3, 4))
    os.close(to_chrome_r)
    os.close(from_chrome_w)
    pipe = Pipe(to_chrome_w, from_chrome_r)
    try:
        target = pipe.call("Target.createTarget", {"url": "about:blank"}, deadline=deadline)["targetId"]
        sess = pipe.call("Target.attachToTarget", {"targetId": target, "flatten": True},
                         deadline=deadline)["sessionId"]
        for dom in ("Page", "Runtime", "Log", "Network"):
            pipe.call(dom + ".enable", session=sess, deadline=deadline)
        pipe.call("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": False},
                  session=sess, deadline=deadline)
        url = "file://" + page
        pipe.call("Page.navigate", {"url": url}, session=sess, deadline=deadline)
        pipe.wait_event("Page.loadEventFired", deadline)
        js = """(() => {
          const imgs = [...document.images];
          return JSON.stringify({
            tables: document.querySelectorAll('table').length,
            images: imgs.map(i => ({src: i.getAttribute('src') || '', ok: i.complete && i.naturalWidth > 0,
                                    w: i.naturalWidth, h: i.naturalHeight})),
            w: document.documentElement.scrollWidth, h: document.documentElement.scrollHeight});
        })()"""
        res = pipe.call("Runtime.evaluate", {"expression": js, "returnByValue": True}, session=sess,
                        deadline=deadline)
        dom = json.loads(res["result"]["value"])
        pipe.call("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": min(int(dom["h"]), 16000), "deviceScaleFactor": 1, "mobile": False},
                  session=sess, deadline=deadline)
        shot_res = pipe.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True},
                             session=sess, deadline=deadline)
        png = base64.b64decode(shot_res["data"])
        with open(shot, "wb") as f:
            f.write(png)
        seconds = time.time() - t0
        errors, outside = [], []
        for m in pipe.events:
            p, name = m.get("params", {}), m.get("method")
            if name == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                errors.append("console.%s: %s" % (p["type"], " ".join(str(a.get("value", a.get("description")))
                                                                   for a in p.get("args", []))))
            elif name == "Runtime.exceptionThrown":
                errors.append("exception: %s" % p["exceptionDetails"].get("text"))
            elif name == "Log.entryAdded" and p["entry"].get("level") == "error":
                errors.append("log: %s %s" % (p["entry"].get("text"), p["entry"].get("url", "")))
            elif name == "Network.loadingFailed":
                errors.append("load failed: %s" % p.get("errorText"))
            elif name == "Network.requestWillBeSent":
                u = p["request"]["url"]
                if u != url and not u.startswith("data:"):
                    outside.append(u)
        data_png = 0
        for im in dom["images"]:
            pre = "data:image/png;base64,"
            if im["src"].startswith(pre):
                size = png_size(base64.b64decode(im["src"][len(pre):], validate=True))
                if size and size == (im["w"], im["h"]):
                    data_png += 1
        print("errors %d" % len(errors))
        for e in errors:
            print("error %s" % e.replace("\n", " "))
        print("requests_outside %d" % len(outside))
        for u in outside:
            print("outside %s" % u)
        print("tables %d" % dom["tables"])
        print("images %d" % len(dom["images"]))
        print("images_data_png %d" % data_png)
        print("images_decoded %d" % sum(1 for im in dom["images"] if im["ok"]))
        print("page %d %d" % (dom["w"], dom["h"]))
        sz = png_size(png) or (0, 0)
        print("screenshot %s %d %d" % (shot, sz[0], sz[1]))
        print("seconds %.2f" % seconds)
        try:
            pipe.call("Browser.close", deadline=time.time() + 10)
        except (EOFError, TimeoutError, OSError):
            pass
        return 0
    except (TimeoutError, EOFError, RuntimeError, OSError) as e:
        proc.kill()
        err = proc.stderr.read().decode(errors="replace")[-2000:]
        print("Chromium could not run: %s\n%s" % (e, err), file=sys.stderr)
        return 2
    finally:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
