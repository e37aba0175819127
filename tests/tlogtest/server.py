"""tlog-server started for a test: standard error (a JSON line per request)
appended to a log file, as an unread pipe would fill and stop the server,
and the port it chose read from its "listening on HOST:PORT" line."""
import http.client
import selectors
import subprocess

from tlogtest.terminal import check, fail


def start(cmd, log, timeout=120, name="tlog-server"):
    """Runs `cmd` (a tlog-server command line listening on 127.0.0.1:0 or a
    given port); returns (Popen, port). Fails the test with the log if it
    does not listen within `timeout` seconds."""
    with open(log, "ab") as lf:
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=lf)
    sel = selectors.DefaultSelector()
    sel.register(p.stdout, selectors.EVENT_READ)
    if not sel.select(timeout=timeout):
        p.kill()
        fail("%s did not start within %d s: %s" % (name, timeout, open(log, errors="replace").read()[-3000:]))
    line = p.stdout.readline().decode()
    if not line.startswith("listening on 127.0.0.1:"):
        p.kill()
        p.wait()
    check(line.startswith("listening on 127.0.0.1:"),
          "%s: %r %s" % (name, line, open(log, errors="replace").read()[-3000:]))
    return p, int(line.rsplit(":", 1)[1])


def stop(p):
    """SIGTERM, then SIGKILL if it has not ended within 60 s."""
    if p.poll() is None:
        p.terminate()
        try:
            p.wait(60)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def request(port, method, path, body=None, headers=None, token=None, source="127.0.0.1", timeout=120):
    """One request to the test's tlog-server on 127.0.0.1:`port` (from the
    loopback address `source`), with `token` as a Bearer credential if
    given; (status, headers, body). `path` goes on the wire as it is."""
    h = dict(headers or {})
    if token:
        h["Authorization"] = "Bearer " + token
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout, source_address=(source, 0))
    try:
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        return r.status, r.headers, r.read()
    finally:
        c.close()
