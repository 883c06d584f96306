"""Headless Chromium with the network cut off, driven over the DevTools protocol (issue 9 §4).

A small client for ``chromium --remote-debugging-pipe`` (the standard library only: the
browser reads JSON commands on fd 3 and writes answers and events on fd 4, each message ended
by a NUL byte). :func:`open_page` loads one file and returns what a test checks: every request
the page made and every one that failed, console errors and uncaught exceptions, the rendered
DOM, the size and drawing elements of every inline ``<svg>``, and a PNG screenshot.

The network is cut off twice over: as root the browser runs under ``unshare -n`` (a network
namespace with no interface but a downed loopback), and always with a proxy that does not
exist and the background fetches (updates, sync, safe browsing) switched off.

Skips: :func:`chromium_or_skip` skips only when no Chromium is installed *and* ``CI`` is unset;
under ``CI`` a missing browser is a failure.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

#: flags that keep a headless browser from reaching anything on its own
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--remote-debugging-pipe",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--disable-sync",
    "--disable-extensions",
    "--metrics-recording-only",
    "--safebrowsing-disable-auto-update",
    "--proxy-server=127.0.0.1:9",
    "--proxy-bypass-list=<-loopback>",
    "--hide-scrollbars",
    "--mute-audio",
]

#: what a test reads from the page once it has loaded (one evaluation, returned by value)
PROBE = """(() => {
  const draw = 'path,line,polyline,polygon,rect,circle,ellipse,text,use';
  const svgs = [...document.querySelectorAll('svg')].filter(s => !s.parentElement.closest('svg'));
  return {
    svgs: svgs.map(s => {
      const r = s.getBoundingClientRect();
      return {id: s.closest('[id]') ? s.closest('[id]').id : '', width: r.width,
              height: r.height, drawn: s.querySelectorAll(draw).length};
    }),
    height: document.documentElement.scrollHeight,
    dom: document.documentElement.outerHTML,
  };
})()"""


def chromium() -> str | None:
    """The Chromium binary on PATH, if any."""
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def chromium_or_skip() -> str:
    """The binary; without one, a skip when ``CI`` is unset and a failure under ``CI``."""
    found = chromium()
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail(
            f"CI={os.environ['CI']!r} but no Chromium binary ({', '.join(CANDIDATES)}) is on "
            "PATH: the report's browser tests must run in CI (.ci/run installs Debian's "
            "chromium and fonts-noto-cjk with apt as root)",
            pytrace=False,
        )
    pytest.skip("no Chromium binary installed (and CI is unset)")


def _unshare_works() -> bool:
    unshare = shutil.which("unshare")
    if os.geteuid() != 0 or unshare is None:
        return False
    done = subprocess.run([unshare, "-n", "true"], capture_output=True, timeout=10)
    return done.returncode == 0


@dataclass
class Page:
    """What one page load gave."""

    url: str
    requests: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # console errors and uncaught exceptions
    svgs: list[dict] = field(default_factory=list)
    dom: str = ""
    height: int = 0
    screenshot: Path | None = None
    offline: str = ""  # how the network was cut off
    seconds: float = 0.0


class Browser:
    """One headless Chromium, spoken to over its DevTools pipe."""

    def __init__(self, binary: str, *, timeout: float = 60.0):
        self.timeout = timeout
        self._profile = tempfile.TemporaryDirectory(prefix="chromium-")
        self._log = open(Path(self._profile.name) / "stderr.log", "wb")  # noqa: SIM115
        commands_r, commands_w = os.pipe()  # we write, the browser reads on fd 3
        answers_r, answers_w = os.pipe()  # the browser writes on fd 4, we read
        # above any fd the child might be given, so the dup2 onto 3 and 4 cannot clobber them
        high_r = fcntl.fcntl(commands_r, fcntl.F_DUPFD_CLOEXEC, 10)
        high_w = fcntl.fcntl(answers_w, fcntl.F_DUPFD_CLOEXEC, 10)
        os.close(commands_r)
        os.close(answers_w)

        command = [binary, *FLAGS, f"--user-data-dir={self._profile.name}", "about:blank"]
        self.offline = "proxy 127.0.0.1:9, background networking off"
        if _unshare_works():
            command = [shutil.which("unshare"), "-n", *command]
            self.offline = "unshare -n (no network namespace interfaces); " + self.offline
        # a tiny Python puts the two pipe ends on fds 3 and 4, then becomes the browser (no
        # preexec_fn: the test process may have threads; no sh: dash takes single-digit fds)
        move = (
            "import os, sys; os.dup2(int(sys.argv[1]), 3); os.dup2(int(sys.argv[2]), 4); "
            "os.close(int(sys.argv[1])); os.close(int(sys.argv[2])); "
            "os.execv(sys.argv[3], sys.argv[3:])"
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-c", move, str(high_r), str(high_w), *command],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=self._log,
            pass_fds=(high_r, high_w),
        )
        os.close(high_r)
        os.close(high_w)
        self._out = commands_w
        self._in = answers_r
        self._buffer = b""
        self._next = 0
        self.events: list[dict] = []

    # ------------------------------------------------------------------ the protocol

    def _read(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._in], [], [], left)[0]:
                raise TimeoutError(f"Chromium did not answer in time; its log:\n{self.log()}")
            chunk = os.read(self._in, 1 << 20)
            if not chunk:
                raise RuntimeError(f"Chromium closed its DevTools pipe; its log:\n{self.log()}")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        self._next += 1
        message = {"id": self._next, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._out, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            answer = self._read(deadline)
            if answer.get("id") == self._next:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer.get("result", {})
            self.events.append(answer)

    def wait_for(self, method: str, session: str) -> dict:
        deadline = time.monotonic() + self.timeout
        for i, event in enumerate(self.events):
            if event.get("method") == method and event.get("sessionId") == session:
                return self.events.pop(i)
        while True:
            event = self._read(deadline)
            if event.get("method") == method and event.get("sessionId") == session:
                return event
            self.events.append(event)

    def log(self) -> str:
        self._log.flush()
        return (Path(self._profile.name) / "stderr.log").read_text(errors="replace")[-4000:]

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.write(self._out, json.dumps({"id": 0, "method": "Browser.close"}).encode() + b"\0")
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        os.close(self._out)
        os.close(self._in)
        self._log.close()
        self._profile.cleanup()

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_page(
    binary: str,
    path: Path,
    screenshot: Path | None = None,
    *,
    width: int = 1280,
    height: int = 2400,
) -> Page:
    """Load ``path`` in a fresh headless Chromium with no network; return what it did."""
    start = time.monotonic()
    page = Page(url=path.resolve().as_uri())
    with Browser(binary) as b:
        page.offline = b.offline
        target = b.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        s = b.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Network", "Runtime", "Log"):
            b.send(f"{domain}.enable", session=s)
        b.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
            session=s,
        )
        b.send("Page.navigate", {"url": page.url}, session=s)
        b.wait_for("Page.loadEventFired", s)
        probe = b.send("Runtime.evaluate", {"expression": PROBE, "returnByValue": True}, session=s)
        value = probe["result"]["value"]
        page.svgs, page.dom, page.height = value["svgs"], value["dom"], int(value["height"])
        if screenshot is not None:
            # the top of the page (verdict, ledger, allocation): a full page of 10,000 px
            # takes seconds more to encode and is not what a person glances at
            shot = b.send("Page.captureScreenshot", {"format": "png"}, session=s)
            screenshot.write_bytes(base64.b64decode(shot["data"]))
            page.screenshot = screenshot
        # let anything late (a lazy image, a timer) show up before reading the events
        b.send(
            "Runtime.evaluate",
            {"expression": "new Promise(r => setTimeout(r, 200))", "awaitPromise": True},
            session=s,
        )
        for event in b.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Network.requestWillBeSent":
                page.requests.append(params["request"]["url"])
            elif method == "Network.loadingFailed":
                page.failed.append(f"{params.get('errorText')} ({params.get('requestId')})")
            elif method == "Network.responseReceived" and params["response"]["status"] >= 400:
                page.failed.append(f"{params['response']['status']} {params['response']['url']}")
            elif method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
                args = params.get("args", [])
                page.errors.append(
                    f"console.{params['type']}: "
                    + " ".join(str(a.get("value", a.get("description", ""))) for a in args)
                )
            elif method == "Runtime.exceptionThrown":
                details = params["exceptionDetails"]
                page.errors.append(
                    "exception: "
                    + details.get("exception", {}).get("description", details.get("text", ""))
                )
            elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                entry = params["entry"]
                page.errors.append(f"log {entry['source']}: {entry['text']} {entry.get('url', '')}")
    page.seconds = time.monotonic() - start
    return page
