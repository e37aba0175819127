"""tlog-server end to end: recordings made by our tlog-rec are ingested as
JSON lines (out of order, then resent) and as Elasticsearch _bulk, and
Debian's tlog-play -r es plays each from the server with exactly the output
it plays from the recording's file. Malformed lines get a 400 naming them
while the good lines are stored.
Usage: server_play_test.py direct|rsyslog|relay. "rsyslog" (root, through
tests/recorder/run_ns.sh): a real rsyslogd on a private /dev/log takes the
recorder's syslog writer's messages and ships them with omelasticsearch to
_bulk over TLS with the host's client certificate, configured by
examples/rsyslog/tlog-server.conf. "relay" (root): the recorder's messages
go from a host rsyslogd (gtls) to a central one (ossl) over RFC 5425 and
from there to tlog-server over TLS as a relay identity, configured by
examples/rsyslog/tlog-relay-host.conf and tlog-relay-central.conf.
Environment: TLOG_SERVER, TLOG_REC, TLOG_AUDIT (rsyslog)."""
import http.client
import json
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

from tlogtest import viewer as viewers
from tlogtest.terminal import under_script

TLOG_SERVER = os.environ["TLOG_SERVER"]
TLOG_REC = os.environ["TLOG_REC"]
TLOG_AUDIT = os.environ.get("TLOG_AUDIT", "")


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def need(prog):
    if shutil.which(prog) is None:
        fail("%s is not installed (scripts/deps.sh installs it)" % prog)


def record(d, name, lines):
    """A recording by our tlog-rec of a command printing LINES lines, with a
    small payload so it spans more messages than one tlog-play request."""
    log = os.path.join(d, name + ".log")
    cmd = os.path.join(d, name + ".sh")
    with open(cmd, "w") as f:
        f.write("#!/bin/sh\nfor i in $(seq %d); do echo %s line $i; done\nprintf '\\342\\202\\254 %s done\\n'\n"
                % (lines, name, name))
    os.chmod(cmd, 0o755)
    r = subprocess.run(["script", "-qec", "%s --payload=64 -w file -o %s %s" % (TLOG_REC, log, cmd), "/dev/null"],
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    if r.returncode != 0:
        fail("tlog-rec failed (%d): %r" % (r.returncode, r.stdout[-500:]))
    with open(log, "rb") as f:
        msgs = f.read().splitlines()
    if len(msgs) < 12:
        fail("%s: expected more than one page of messages, got %d" % (log, len(msgs)))
    return log, msgs, json.loads(msgs[0])["rec"]


def start_server(d):
    # Its log (a line per request) goes to a file: a pipe nobody reads
    # would fill and stop the server.
    with open(os.path.join(d, "server.log"), "ab") as log:
        p = subprocess.Popen([TLOG_SERVER, "--plain-http", "--listen", "127.0.0.1:0", "--database", os.path.join(d, "db.sqlite")] +
                             viewers.server_args(d),
                             stdout=subprocess.PIPE, stderr=log)
    sel = selectors.DefaultSelector()
    sel.register(p.stdout, selectors.EVENT_READ)
    if not sel.select(timeout=60):
        p.kill()
        fail("tlog-server did not say where it listens: %r" % open(os.path.join(d, "server.log")).read())
    line = p.stdout.readline().decode()
    if not line.startswith("listening on 127.0.0.1:"):
        p.kill()
        fail("unexpected first line from tlog-server: %r" % line)
    # Reads need a viewer: every urlopen below sends its token, and
    # tlog-play gets it in its URL (VIEWER.url).
    global VIEWER
    base = "http://" + line.split()[-1]
    VIEWER = viewers.install(TLOG_SERVER, os.path.join(d, "db.sqlite"), base)
    return p, base


VIEWER = None


def start_tls_server(d, extra=None):
    """tlog-server over TLS on d/db.sqlite with a test CA in d/tls (ca.pem,
    the server's certificate for 127.0.0.1, client certificates of that
    CA verified); (process, base URL, CA, SSL context for reading)."""
    import ssl
    from tlogtest.certs import CA
    ca = CA(d, "tls")
    cert, key = ca.issue("server", "127.0.0.1", ips=["127.0.0.1"], usage="serverAuth")
    conf = os.path.join(d, "tls-server.conf")
    with open(conf, "w") as f:
        json.dump(dict({"listen": "127.0.0.1:0", "database": os.path.join(d, "db.sqlite"), "tls_cert": cert,
                        "tls_key": key, "tls_client_ca": ca.cert}, **(extra or {})), f)
    with open(os.path.join(d, "server.log"), "ab") as log:
        p = subprocess.Popen([TLOG_SERVER, "--config", conf] + viewers.server_args(d), stdout=subprocess.PIPE,
                             stderr=log)
    sel = selectors.DefaultSelector()
    sel.register(p.stdout, selectors.EVENT_READ)
    line = p.stdout.readline().decode() if sel.select(timeout=60) else ""
    if not line.startswith("listening on 127.0.0.1:"):
        p.kill()
        fail("tlog-server over TLS did not start: %r %r" % (line, open(os.path.join(d, "server.log")).read()))
    # Reads sign in as the tests' auditor, over this CA's TLS.
    global VIEWER
    base, ctx = "https://" + line.split()[-1], ssl.create_default_context(cafile=ca.cert)
    VIEWER = viewers.install(TLOG_SERVER, os.path.join(d, "db.sqlite"), base, context=ctx)
    return p, base, ca, ctx


def wait_recording(base, ctx, proc_checks, timeout=90):
    """The one recording on the server once whole (ended): (session, its
    messages)."""
    deadline = time.monotonic() + timeout
    session = None
    while time.monotonic() < deadline:
        with urllib.request.urlopen(base + "/api/v1/sessions", timeout=60) as r:
            found = json.loads(r.read())["sessions"]
        session = found[0] if len(found) == 1 else None
        if session and session.get("state") != "live" and session["messages"] >= 12:
            stored = urllib.request.urlopen(base + "/api/v1/sessions/%s/messages" % urllib.parse.quote(session["rec"]),
                                            timeout=60).read()
            msgs = stored.splitlines()
            if msgs and "end" in json.loads(msgs[-1]):
                return session, msgs
        proc_checks()
        time.sleep(0.2)
    fail("rsyslog did not deliver a whole recording: %r" % (session,))


def stop_process(p):
    if p is not None and p.poll() is None:
        p.terminate()
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def post(url, body):
    req = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/x-ndjson"})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def check_request_latency(base, message):
    """A shipper posts request after request on one keep-alive connection.
    With Nagle's algorithm on the server's socket, each response's body
    (written after its headers) waits for the client's delayed ACK (up to
    40 ms on Linux): 100 requests took 2.9 s that way, and 0.1 s without
    it on a busy machine."""
    host, port = base[len("http://"):].rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    start = time.monotonic()
    for _ in range(100):
        conn.request("POST", "/api/v1/ingest", body=message + b"\n",
                     headers={"Content-Type": "application/x-ndjson"})
        r = conn.getresponse()
        body = json.loads(r.read())
        if r.status != 200 or body["duplicates"] != 1:
            fail("resent message on a kept-alive connection: %d %r" % (r.status, body))
    took = time.monotonic() - start
    conn.close()
    if took > 1.0:
        fail("100 requests on one connection took %.2f s: responses are held back (Nagle's algorithm?)" % took)


def check_no_compression(base, bulk):
    """A client that accepts Brotli (browsers, some shippers) must not make
    the server compress responses at Brotli's slowest quality: 0.3 s of CPU
    for one _bulk answer, minutes for a large search page. Responses are
    sent as they are, labelled as Elasticsearch labels its own."""
    for path, body in (("/tlog/_bulk", bulk), ("/_search?q=rec:x", None)):
        req = urllib.request.Request(base + path, data=body, method="POST" if body else "GET",
                                     headers={"Content-Type": "application/x-ndjson",
                                              "Accept-Encoding": "br, gzip, deflate"})
        with urllib.request.urlopen(req, timeout=60) as r:
            enc = r.headers.get("Content-Encoding")
            ctype = r.headers.get("Content-Type")
            data = r.read()
        if enc is not None or ctype != "application/json; charset=UTF-8":
            fail("%s: Content-Encoding %r, Content-Type %r" % (path, enc, ctype))
        json.loads(data)


def get_json(url):
    with urllib.request.urlopen(url, timeout=60) as r:
        return json.loads(r.read())


def play(args):
    """Debian's tlog-play under a pty (it needs a terminal); its output.
    -g end plays without the recorded delays: the same bytes, and no
    dependence on how fast a loaded machine recorded.
    script's input is kept open and silent (tlogtest.terminal.under_script)."""
    args = args + ["-g", "end"]
    status, out = under_script(" ".join(args))
    if status != 0:
        fail("%s failed (%d): %r" % (" ".join(args), status, out[-300:]))
    return out


def check_config_errors(d):
    """A bad configuration file stops the server with its file, line and key."""
    conf = os.path.join(d, "server.conf")
    for text, want in (('{\n  "listen": "127.0.0.1:0",\n  "databse": "x"\n}\n', ":3:"),
                       ('{"listen": "127.0.0.1:99999"}', "port"), ('{"database": 5}', "database")):
        with open(conf, "w") as f:
            f.write(text)
        r = subprocess.run([TLOG_SERVER, "--config", conf], capture_output=True, text=True, timeout=60)
        if r.returncode != 1 or conf not in r.stderr or want not in r.stderr:
            fail("config %r: exit %d, %r" % (text, r.returncode, r.stderr))


EXAMPLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples", "rsyslog",
                       "tlog-server.conf")


def example_conf(d, port, name="tlog-server.conf", changes=()):
    """examples/rsyslog/NAME as shipped, pointed at the test's server, TLS
    files (d/tls), spool and log directories: nothing else is changed, so
    the example is what is tested."""
    example = os.path.join(os.path.dirname(EXAMPLE), name)
    with open(example) as f:
        text = f.read()
    for old, new in (('server="https://tlog-server.example.org" serverport="8640"',
                      'server="https://127.0.0.1" serverport="%s"' % port),
                     ("/etc/rsyslog/tlog/", d + "/tls/"), ("/var/spool/rsyslog", d + "/spool"),
                     ("/var/log/tlog/", d + "/log/")) + tuple(changes):
        if old not in text:
            if old.startswith("/var/log") or old.startswith('server='):
                continue  # the relay's host half has neither
            fail("%s no longer contains %r" % (example, old))
        text = text.replace(old, new)
    path = os.path.join(d, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def test_rsyslog():
    """Real rsyslog ships the recorder's syslog messages to _bulk, and
    tlog-audit's syslog events to a file, through the shipped example
    configuration. Root, in a private mount namespace (run_ns.sh): the
    test's rsyslogd serves a private /dev/log."""
    from tlogtest.namespace import private_dev, require_root_ns
    require_root_ns()
    for prog in ("tlog-play", "script", "rsyslogd"):
        need(prog)
    if not os.path.exists("/usr/lib/x86_64-linux-gnu/rsyslog/omelasticsearch.so"):
        fail("rsyslog's omelasticsearch module is not installed (rsyslog-elasticsearch)")
    import socket
    d = tempfile.mkdtemp(prefix="tlog-server-rsyslog.")
    os.chmod(d, 0o755)
    private_dev(d)
    server = rsyslogd = None
    try:
        server, base, ca, ctx = start_tls_server(d)
        # This host's certificate: the name the recorder writes as host.
        ca.issue("host", socket.gethostname(), dns=[socket.gethostname()])
        port = base.rsplit(":", 1)[1]
        for sub in ("work", "spool", "log"):
            os.mkdir(os.path.join(d, sub))
        conf = os.path.join(d, "rsyslog.conf")
        # The main configuration as the example's header asks for it.
        with open(conf, "w") as f:
            f.write("""global(workDirectory="%(d)s/work" maxMessageSize="64k")
module(load="imuxsock" SysSock.Name="/dev/log" SysSock.RateLimit.Interval="0")
include(file="%(example)s")
""" % {"d": d, "example": example_conf(d, port)})
        check = subprocess.run(["rsyslogd", "-N1", "-f", conf], capture_output=True, text=True, timeout=60)
        if check.returncode != 0:
            fail("rsyslogd -N1 refused the configuration: %s" % check.stderr)
        rsyslogd = subprocess.Popen(["rsyslogd", "-n", "-f", conf, "-i", os.path.join(d, "rsyslog.pid")],
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while not os.path.exists("/dev/log"):
            if time.monotonic() > deadline or rsyslogd.poll() is not None:
                fail("rsyslogd did not serve /dev/log")
            time.sleep(0.05)

        lines = 60
        cmd = os.path.join(d, "gamma.sh")
        with open(cmd, "w") as f:
            f.write("#!/bin/sh\nfor i in $(seq %d); do echo gamma line $i; done\nprintf '\\342\\202\\254 done\\n'\n"
                    % lines)
        os.chmod(cmd, 0o755)
        before = time.time()
        r = subprocess.run(["script", "-qec", "%s --payload=64 -w syslog %s" % (TLOG_REC, cmd), "/dev/null"],
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
        if r.returncode != 0:
            fail("tlog-rec -w syslog failed (%d): %r" % (r.returncode, r.stdout[-500:]))

        # The recording is found by its user and time: its id is only in
        # what rsyslog delivered.
        def alive():
            if rsyslogd.poll() is not None:
                fail("rsyslogd exited %d: %r" % (rsyslogd.returncode, rsyslogd.stdout.read()))
        session, msgs = wait_recording(base, ctx, alive)
        # Read back by Debian's tlog-play, which knows no CA file: the
        # same database served over plain HTTP on loopback.
        stop_process(server)
        server, base = start_server(d)
        if os.path.exists(os.path.join(d, "log", "server-errors.json")):
            fail("omelasticsearch reported errors: %r" % open(os.path.join(d, "log", "server-errors.json")).read()[:500])
        parsed = [json.loads(m) for m in msgs]
        if [m["id"] for m in parsed] != list(range(1, len(msgs) + 1)) or session["gaps"] != 0:
            fail("the stored recording is not whole: ids %r, session %r" % ([m["id"] for m in parsed], session))
        if not msgs[0].startswith(b'{"ver":') or parsed[0]["time"] < before - 5:
            fail("the stored message is not the recorder's line: %r" % msgs[0][:100])
        got = play(["tlog-play", "-r", "es", "--es-baseurl=%s/tlog/_search" % VIEWER.url(base),
                    "--es-query=rec:" + session["rec"]])
        for i in range(1, lines + 1):
            if b"gamma line %d\r\n" % i not in got:
                fail("tlog-play -r es after rsyslog lacks line %d: %r" % (i, got[-300:]))
        if "€ done".encode() not in got:
            fail("tlog-play -r es after rsyslog lacks the UTF-8 line: %r" % got[-200:])

        # tlog-audit's syslog events end in the file tlog-forward ships,
        # one line each, the same lines as its standard output.
        log = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "audit", "corpus", "audit_log",
                           "handwritten.log")
        want = subprocess.run([TLOG_AUDIT, "--host", "h1", log], capture_output=True, timeout=60, check=True).stdout
        subprocess.run([TLOG_AUDIT, "--host", "h1", "-w", "syslog", log], capture_output=True, timeout=60, check=True)
        out = os.path.join(d, "log", "audit-syslog.json")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if os.path.exists(out) and open(out, "rb").read().count(b"\n") >= want.count(b"\n"):
                break
            time.sleep(0.2)
        got_audit = open(out, "rb").read() if os.path.exists(out) else b""
        if got_audit != want or want.count(b"\n") < 3:
            fail("tlog-audit's events through rsyslog differ from its output:\n%r\n%r" % (got_audit[:300], want[:300]))
        print("ok: %d messages shipped by rsyslog's omelasticsearch with examples/rsyslog/tlog-server.conf, "
              "played by Debian's tlog-play -r es; %d audit events written for tlog-forward"
              % (len(msgs), want.count(b"\n")))
    finally:
        for p in (rsyslogd, server):
            stop_process(p)


def test_relay():
    """A host rsyslogd (gtls) forwards the recorder's messages over RFC 5425
    to a central rsyslogd (ossl), which posts them to tlog-server over TLS
    with its certificate, as the relay identity the server's ingest_relays
    lets submit for this host; a message of a host outside its globs is
    refused and logged. Both rsyslog configurations are the examples'."""
    import socket
    from tlogtest.namespace import private_dev, require_root_ns
    require_root_ns()
    for prog in ("script", "rsyslogd", "logger"):
        need(prog)
    for mod in ("omelasticsearch", "lmnsd_gtls", "lmnsd_ossl"):
        if not os.path.exists("/usr/lib/x86_64-linux-gnu/rsyslog/%s.so" % mod):
            fail("rsyslog's %s is not installed (rsyslog-elasticsearch, rsyslog-gnutls, rsyslog-openssl)" % mod)
    hostname = socket.gethostname()
    d = tempfile.mkdtemp(prefix="tlog-server-relay.")
    os.chmod(d, 0o755)
    private_dev(d)
    server = central = host = None
    try:
        server, base, ca, ctx = start_tls_server(
            d, {"ingest_relays": {"syslog-central.example.org": [hostname]}})
        port = base.rsplit(":", 1)[1]
        ca.issue("central", "syslog-central.example.org", dns=["syslog-central.example.org"],
                 usage="serverAuth,clientAuth")
        ca.issue("host", hostname, dns=[hostname], usage="clientAuth")
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        relay_port = s.getsockname()[1]
        s.close()
        for sub in ("work-central", "work-host", "spool", "log"):
            os.mkdir(os.path.join(d, sub))
        central_example = example_conf(d, port, "tlog-relay-central.conf",
                                       (('port="6514"', 'port="%d"' % relay_port),
                                        ('PermittedPeer=["*.example.org"]', 'PermittedPeer=["%s"]' % hostname)))
        host_example = example_conf(d, port, "tlog-relay-host.conf",
                                    (('target="syslog-central.example.org" port="6514"',
                                      'target="127.0.0.1" port="%d"' % relay_port),))
        confs = {}
        for name, head, example in (
                ("central", "", central_example),
                ("host", 'module(load="imuxsock" SysSock.Name="/dev/log" SysSock.RateLimit.Interval="0")\n',
                 host_example)):
            confs[name] = os.path.join(d, "rsyslog-%s.conf" % name)
            with open(confs[name], "w") as f:
                f.write('global(workDirectory="%s/work-%s" maxMessageSize="64k")\n%sinclude(file="%s")\n'
                        % (d, name, head, example))
            check = subprocess.run(["rsyslogd", "-N1", "-f", confs[name]], capture_output=True, text=True, timeout=60)
            if check.returncode != 0:
                fail("rsyslogd -N1 refused the %s configuration: %s" % (name, check.stderr))

        def rsyslogd(name):
            return subprocess.Popen(["rsyslogd", "-n", "-f", confs[name], "-i", os.path.join(d, name + ".pid")],
                                    stdout=open(os.path.join(d, name + ".out"), "ab"), stderr=subprocess.STDOUT)
        central = rsyslogd("central")
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", relay_port), timeout=5).close()
                break
            except OSError:
                if time.monotonic() > deadline or central.poll() is not None:
                    fail("the central rsyslogd does not listen: %r" % open(os.path.join(d, "central.out")).read())
                time.sleep(0.05)
        host = rsyslogd("host")
        deadline = time.monotonic() + 30
        while not os.path.exists("/dev/log"):
            if time.monotonic() > deadline or host.poll() is not None:
                fail("the host rsyslogd did not serve /dev/log")
            time.sleep(0.05)

        lines = 40
        cmd = os.path.join(d, "delta.sh")
        with open(cmd, "w") as f:
            f.write("#!/bin/sh\nfor i in $(seq %d); do echo delta line $i; done\n" % lines)
        os.chmod(cmd, 0o755)
        r = subprocess.run(["script", "-qec", "%s --payload=64 -w syslog %s" % (TLOG_REC, cmd), "/dev/null"],
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
        if r.returncode != 0:
            fail("tlog-rec -w syslog failed (%d): %r" % (r.returncode, r.stdout[-500:]))

        def alive():
            for name, p in (("central", central), ("host", host)):
                if p.poll() is not None:
                    fail("the %s rsyslogd exited %d: %r" % (name, p.returncode,
                                                            open(os.path.join(d, name + ".out")).read()))
        session, msgs = wait_recording(base, ctx, alive)
        parsed = [json.loads(m) for m in msgs]
        if [m["id"] for m in parsed] != list(range(1, len(msgs) + 1)) or session["gaps"] != 0 or \
                session["host"] != hostname:
            fail("the relayed recording is not whole: ids %r, session %r" % ([m["id"] for m in parsed], session))
        text = "".join(m.get("out_txt", "") for m in parsed)
        if "delta line %d" % lines not in text:
            fail("the relayed recording lacks its last line")

        # A message naming a host outside the relay's globs, through the
        # same path: refused by the server, and logged.
        forged = json.dumps({"ver": "2.3", "host": "intruder.example.com", "rec": "forged-1", "user": "root",
                             "term": "xterm", "session": 1, "id": 1, "pos": 0, "timing": ">1", "in_txt": "",
                             "in_bin": [], "out_txt": "x", "out_bin": []})
        subprocess.run(["logger", "-u", "/dev/log", "-t", "tlog-rec", forged], check=True, timeout=60)
        deadline = time.monotonic() + 60
        while True:
            refused = [json.loads(x) for x in open(os.path.join(d, "server.log"), encoding="utf-8")
                       if '"ingest_host_refused"' in x]
            if any(e["identity"] == "syslog-central.example.org" and e["claimed_host"] == "intruder.example.com"
                   for e in refused):
                break
            if time.monotonic() > deadline:
                fail("the forged host's message was not refused and logged: %r" % refused)
            alive()
            time.sleep(0.2)
        with urllib.request.urlopen(base + "/api/v1/sessions", timeout=60) as r:
            if any(x["rec"] == "forged-1" for x in json.loads(r.read())["sessions"]):
                fail("the forged host's message was stored")
        print("ok: %d messages relayed host rsyslog (gtls) -> central rsyslog (ossl, RFC 5425) -> tlog-server "
              "(TLS, relay identity); another host's message refused" % len(msgs))
    finally:
        for p in (host, central, server):
            stop_process(p)


def main():
    for prog in ("tlog-play", "script"):
        need(prog)
    d = tempfile.mkdtemp(prefix="tlog-server-it.")
    server = None
    try:
        check_config_errors(d)
        log_a, msgs_a, rec_a = record(d, "alpha", 60)
        log_b, msgs_b, rec_b = record(d, "beta", 50)
        server, base = start_server(d)

        # JSON lines: second half first, then the first half, then everything again.
        half = len(msgs_a) // 2
        for part, created in ((msgs_a[half:], len(msgs_a) - half), (msgs_a[:half], half), (msgs_a, 0)):
            status, r = post(base + "/api/v1/ingest", b"\n".join(part) + b"\n")
            if status != 200 or r["created"] != created or r["failed"] != 0:
                fail("ingest of %d lines: %d %r (expected %d created)" % (len(part), status, r, created))
        # _bulk, as rsyslog's omelasticsearch sends it (index and type in the path).
        bulk = b"".join(b'{"index":{"_index":"tlog","_type":"tlog"}}\n' + m + b"\n" for m in msgs_b)
        status, r = post(base + "/tlog/tlog/_bulk", bulk)
        if status != 200 or r["errors"] or len(r["items"]) != len(msgs_b):
            fail("_bulk: %d %r" % (status, r))
        # A malformed line is named; the good line after it is stored anyway.
        status, r = post(base + "/api/v1/ingest", b'{"ver": 2\n' + msgs_b[0] + b"\n")
        if status != 400 or r["failed"] != 1 or r["duplicates"] != 1 or r["errors"][0]["line"] != 1:
            fail("malformed ingest: %d %r" % (status, r))

        check_request_latency(base, msgs_b[0])
        check_no_compression(base, bulk)

        with urllib.request.urlopen(base + "/_cat/health", timeout=60) as h:
            if h.status != 200 or b"green" not in h.read():
                fail("/_cat/health, which omelasticsearch asks before resuming, is not green")
        sessions = get_json(base + "/api/v1/sessions")["sessions"]
        by_rec = {s["rec"]: s for s in sessions}
        for rec, msgs in ((rec_a, msgs_a), (rec_b, msgs_b)):
            s = by_rec.get(rec)
            if s is None or s["messages"] != len(msgs) or s["gaps"] != 0 or s["bytes"] != sum(map(len, msgs)):
                fail("session %s: %r (expected %d messages)" % (rec, s, len(msgs)))
        stored = urllib.request.urlopen(base + "/api/v1/sessions/%s/messages" % urllib.parse.quote(rec_a),
                                        timeout=60).read()
        if stored != b"\n".join(msgs_a) + b"\n":
            fail("the stored messages of %s differ from the recording's lines" % rec_a)

        # Cursor paging over HTTP visits both sessions once; filters apply.
        seen, cursor = [], None
        for _ in range(5):
            page = get_json(base + "/api/v1/sessions?limit=1" + ("&cursor=" + cursor if cursor else ""))
            seen += [x["rec"] for x in page["sessions"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        if sorted(seen) != sorted([rec_a, rec_b]) or len(seen) != 2:
            fail("paging visited %r" % seen)
        if get_json(base + "/api/v1/sessions?user=nobody-such")["sessions"]:
            fail("the user filter matched a session of another user")
        if len(get_json(base + "/api/v1/sessions?since=2000-01-01T00:00:00Z")["sessions"]) != 2:
            fail("since=2000 did not match today's sessions")
        for bad, names in (("/tlog/_search?q=user:root", "q"), ("/tlog/_search?q=rec:x&sort=id:desc", "sort"),
                           ("/api/v1/sessions?since=yesterday", "since"), ("/api/v1/sessions?cursor=zz", "cursor")):
            try:
                urllib.request.urlopen(base + bad, timeout=60)
                fail("%s was accepted" % bad)
            except urllib.error.HTTPError as e:
                body = json.loads(e.read())
                if e.code != 400 or names not in body["error"]:
                    fail("%s: %d %r does not name %s" % (bad, e.code, body, names))

        # Debian's tlog-play from the server, both query forms of tlog's docs.
        for log, rec, query in ((log_a, rec_a, "rec:%s" % rec_a), (log_b, rec_b, "'rec:\"%s\"'" % rec_b)):
            want = play(["tlog-play", "-r", "file", "-i", log])
            got = play(["tlog-play", "-r", "es", "--es-baseurl=%s/tlog/tlog/_search" % VIEWER.url(base),
                        "--es-query=" + query])
            if got != want:
                fail("tlog-play -r es of %s differs from its file:\n%r\n%r" % (rec, got[-200:], want[-200:]))
            if b"line 30" not in got or "€".encode() not in got:
                fail("tlog-play -r es of %s lacks the recorded text: %r" % (rec, got[-200:]))
        # Debian's tlog-play sends USER:TOKEN as basic auth (libcurl): a
        # wrong token, or the token under another user's name, plays nothing.
        bad_urls = (VIEWER.url(base).replace(VIEWER.token, "0" * 64),
                    VIEWER.url(base).replace(VIEWER.user + ":", "someone-else:"), base)
        for bad in bad_urls:
            args = ["tlog-play", "-r", "es", "--es-baseurl=%s/tlog/tlog/_search" % bad, "--es-query=rec:" + rec_a,
                    "-g", "end"]
            status, out = under_script(" ".join(args))
            if status == 0 or b"line 30" in out:
                fail("tlog-play -r es without a valid token played: %d %r" % (status, out[-200:]))
        server.send_signal(signal.SIGTERM)
        rc = server.wait(timeout=60)
        server = None
        if rc != 0:
            fail("tlog-server exited %d on SIGTERM" % rc)
        print("ok: %d + %d messages ingested, played by Debian's tlog-play -r es" % (len(msgs_a), len(msgs_b)))
    finally:
        if server is not None:
            server.kill()
            server.wait()
        shutil.rmtree(d, True)


if __name__ == "__main__":
    if sys.argv[1:] == ["rsyslog"]:
        test_rsyslog()
    elif sys.argv[1:] == ["relay"]:
        test_relay()
    elif sys.argv[1:] == ["direct"]:
        main()
    else:
        fail("usage: server_play_test.py direct|rsyslog|relay")
