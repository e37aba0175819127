"""Headless Chromium driven over the DevTools protocol (python3-websocket),
for tests of web pages: navigate, evaluate JavaScript, wait for a condition
with a timeout, read cookies as the browser keeps them, and collect what
the page reported as errors (uncaught exceptions, console.error, and the
browser's own error log, where Content-Security-Policy violations go).

    with Browser(tmpdir) as b:
        b.navigate("http://127.0.0.1:PORT/ui/")
        b.wait_for("document.querySelector('#signin-form') !== null")
        b.evaluate("document.title")
        b.errors()   # [] when the page reported nothing
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

try:
    import websocket
except ImportError:
    # Debian's python3-websocket (scripts/apt-packages.txt) is pure Python:
    # an interpreter other than Debian's own (pyenv's) reads it from there.
    sys.path.append("/usr/lib/python3/dist-packages")
    import websocket

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


class BrowserError(Exception):
    pass


class Browser:
    def __init__(self, tmpdir=None, timeout=60):
        self.timeout = timeout
        self.dir = tempfile.mkdtemp(prefix="chromium-", dir=tmpdir)
        profile = os.path.join(self.dir, "profile")
        os.mkdir(profile)
        if not os.path.exists(CHROMIUM):
            raise BrowserError("chromium is not installed (apt-get install --no-install-recommends chromium)")
        env = dict(os.environ, HOME=self.dir)
        self.log = open(os.path.join(self.dir, "chromium.log"), "wb")
        self.p = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
             "--user-data-dir=" + profile, "--remote-debugging-port=0", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log, env=env)
        self.events, self.next_id, self.ws = [], 0, None
        try:
            port = self._port(os.path.join(profile, "DevToolsActivePort"))
            self.port = port
            page = self._page_target(port)
            self.ws = websocket.create_connection(page, timeout=timeout, suppress_origin=True)
            for domain in ("Page", "Runtime", "Log"):
                self.send(domain + ".enable")
        except Exception:
            self.close()
            raise

    def _port(self, path):
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.p.poll() is not None:
                raise BrowserError("chromium exited (%d): %s" % (self.p.returncode, self.output()))
            try:
                with open(path) as f:
                    first = f.readline().strip()
                if first.isdigit():
                    return int(first)
            except FileNotFoundError:
                pass
            time.sleep(0.05)
        raise BrowserError("chromium wrote no DevToolsActivePort in %d s: %s" % (self.timeout, self.output()))

    def _page_target(self, port):
        """The page's DevTools WebSocket address (the one tab it opened)."""
        import urllib.request
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            with urllib.request.urlopen("http://127.0.0.1:%d/json/list" % port, timeout=self.timeout) as r:
                pages = [t for t in json.load(r) if t.get("type") == "page"]
            if pages:
                return pages[0]["webSocketDebuggerUrl"]
            time.sleep(0.05)
        raise BrowserError("chromium opened no page")

    def output(self):
        self.log.flush()
        with open(self.log.name, "rb") as f:
            return f.read()[-4000:].decode(errors="replace")

    def send(self, method, params=None):
        """The result of one DevTools command; events that come first are kept."""
        self.next_id += 1
        mid = self.next_id
        self.ws.send(json.dumps({"id": mid, "method": method, "params": params or {}}))
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == mid:
                if "error" in msg:
                    raise BrowserError("%s: %s" % (method, msg["error"]))
                return msg.get("result", {})
            if "method" in msg:
                self.events.append(msg)
        raise BrowserError("%s: no answer in %d s" % (method, self.timeout))

    def evaluate(self, expression):
        """The value of a JavaScript expression (a promise is awaited)."""
        r = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True,
                                           "userGesture": True})
        if "exceptionDetails" in r:
            d = r["exceptionDetails"]
            raise BrowserError("%s: %s" % (expression[:200], d.get("exception", {}).get("description") or d.get("text")))
        return r["result"].get("value")

    def wait_for(self, expression, timeout=None, what=None):
        """Waits until `expression` is truthy; its value. Fails naming
        `what` (or the expression) after `timeout` seconds."""
        deadline = time.monotonic() + (timeout or self.timeout)
        value = None
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.1)
        raise BrowserError("timed out waiting for %s (last value %r); page errors: %r" % (
            what or expression, value, self.errors()))

    def navigate(self, url):
        r = self.send("Page.navigate", {"url": url})
        if r.get("errorText"):
            raise BrowserError("navigate %s: %s" % (url, r["errorText"]))
        self.wait_for("document.readyState === 'complete' && location.href === %s" % json.dumps(url),
                      what="the page " + url)

    def click(self, selector):
        """Clicks the element `selector` names (it must be there)."""
        self.evaluate("(() => { const e = document.querySelector(%s); if (!e) throw new Error('no element %s'); "
                      "e.click(); return true; })()" % (json.dumps(selector), selector.replace("'", "")))

    def fill(self, selector, value):
        """Sets an input's value as typing would (input event)."""
        self.evaluate("(() => { const e = document.querySelector(%s); if (!e) throw new Error('no element'); "
                      "e.value = %s; e.dispatchEvent(new Event('input', {bubbles: true})); return true; })()" % (
                          json.dumps(selector), json.dumps(value)))

    def cookies(self, url):
        """The cookies the browser would send to `url`, HttpOnly ones too."""
        return self.send("Network.getCookies", {"urls": [url]})["cookies"]

    def pump(self):
        """Reads the events that arrived (an evaluate round trip)."""
        self.evaluate("1")

    def errors(self, network=False):
        """What the page reported as errors so far: uncaught exceptions,
        console.error, and error entries of the browser's log (CSP
        violations); with `network`, also the log's failed loads (an
        answer 401 or 404 is one)."""
        out = []
        for e in self.events:
            m, p = e["method"], e.get("params", {})
            if m == "Runtime.exceptionThrown":
                d = p["exceptionDetails"]
                out.append("exception: " + (d.get("exception", {}).get("description") or d.get("text", "")))
            elif m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                out.append("console.%s: %s" % (p["type"], " ".join(
                    str(a.get("value", a.get("description", ""))) for a in p.get("args", []))))
            elif m == "Log.entryAdded" and p["entry"].get("level") == "error" and (
                    network or p["entry"].get("source") != "network"):
                out.append("log (%s): %s %s" % (p["entry"].get("source"), p["entry"].get("text"),
                                                p["entry"].get("url", "")))
        return out

    def close(self):
        if self.ws is not None:
            try:
                self.ws.close()
            except Exception:
                pass
            self.ws = None
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(30)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
