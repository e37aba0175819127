#!/usr/bin/env python3
"""tlog-forward against a real tlog-server (suite integration).
Cases: kill_server and kill_forwarder (200 chained recordings written into
a rotating file set while the server, or the forwarder, is SIGKILLed and
restarted again and again: every message stored exactly once, in order,
byte for byte, and the chain verifies with tlog-play --verify on what the
server serves), malformed (a refused line is logged with its offset and
skipped, the lines after it arrive), server_down (the forwarder waits and
delivers when the server comes up), failover (the first URL dead),
round_robin (batches spread over two servers), lost (a file deleted before
delivery: the skip is logged and counted), config (errors name file, line
and key), ack_durable (the server syncs its WAL before it answers, seen
with strace), journald (root, through run_ns.sh: a recording by tlog-rec's
journal writer in a real journald arrives; an entry forged by another user
does not; a vacuumed cursor is logged and delivery goes on), audit
(tlog-audit's output for the audit corpus, shipped from audit_files in
small batches across a restart and a rotation: every event stored once,
byte for byte, a malformed line refused and skipped, and a recording's
events served in time order joined by rec and by (host, ses)).
Environment: TLOG_SERVER, TLOG_FORWARD, TLOG_PLAY_BIN, CODEC_TOOL_BIN,
TLOG_REC_BIN, TLOG_AUDIT_BIN, AUDIT_CORPUS. Usage: forward_test.py CASE"""
import json
import os
import random
import selectors
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

from tlogtest import viewer as viewers
from tlogtest.terminal import CODEC_TOOL, TLOG_REC, check, fail, run_case, spawn, tmpdir

TLOG_SERVER = os.environ["TLOG_SERVER"]
TLOG_FORWARD = os.environ["TLOG_FORWARD"]
TLOG_PLAY = os.environ["TLOG_PLAY_BIN"]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Server:
    """tlog-server on a fixed port and database, so it can be killed and
    started again where the forwarder looks for it."""

    def __init__(self, d, name="db", tls=None):
        """tls: tlog-server's tls_* settings and the CA (`ca`) that signed
        its certificate: HTTPS with host identities instead of plain HTTP."""
        self.db = os.path.join(d, name + ".sqlite")
        self.port = free_port()
        self.tls = tls
        self.url = "%s://127.0.0.1:%d" % ("https" if tls else "http", self.port)
        self.proc = None
        self.args = ["--plain-http"]
        self.ctx = None
        if tls:
            import ssl
            conf = os.path.join(d, name + "-server.conf")
            with open(conf, "w") as f:
                json.dump({k: v for k, v in tls.items() if k != "ca"}, f)
            self.args = ["--config", conf]
            self.ctx = ssl.create_default_context(cafile=tls["ca"])
        self.viewer = None

    def start(self):
        end = time.time() + 60
        while True:
            # stderr to a file: a line per request would fill a pipe.
            log = open(self.db + ".log", "ab")
            p = subprocess.Popen([TLOG_SERVER, *self.args, "--listen", "127.0.0.1:%d" % self.port,
                                  "--database", self.db] + viewers.server_args(os.path.dirname(self.db)),
                                 stdout=subprocess.PIPE, stderr=log)
            log.close()
            sel = selectors.DefaultSelector()
            sel.register(p.stdout, selectors.EVENT_READ)
            if sel.select(timeout=60) and p.stdout.readline().startswith(b"listening on"):
                self.proc = p
                if self.viewer is None:  # the reads below sign in with it (urllib)
                    self.viewer = viewers.install(TLOG_SERVER, self.db, self.url)
                return
            err = open(self.db + ".log", "rb").read()[-2000:] if p.wait(10) is not None else b""
            # The killed server's port may still be held for a moment.
            if time.time() > end:
                fail("tlog-server did not start: %r" % err)
            time.sleep(0.2)

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(30)

    def get(self, path):
        # With a TLS context urlopen builds an opener of its own, without the
        # installed viewer's: the token goes in the request.
        req = urllib.request.Request(self.url + path, headers=self.viewer.headers() if self.ctx else {})
        with urllib.request.urlopen(req, timeout=60, context=self.ctx) as r:
            return r.read()

    def sessions(self):
        return {s["rec"]: s for s in json.loads(self.get("/api/v1/sessions?limit=1000"))["sessions"]}

    def messages(self, rec):
        return self.get("/api/v1/sessions/%s/messages?limit=100000" % urllib.parse.quote(rec))


class Forwarder:
    def __init__(self, d, urls, files=(), journal=False, extra=None, name="fw"):
        self.conf = os.path.join(d, name + ".conf")
        self.state = os.path.join(d, name + "-state")
        self.log = os.path.join(d, name + ".err")
        os.makedirs(self.state, exist_ok=True)
        conf = {"server": {"urls": urls, "connect_timeout": 2, "timeout": 20},
                "files": list(files), "state_dir": self.state, "poll": 0.05,
                "batch": {"lines": 40}, "retry": {"min": 0.05, "max": 0.4}}
        if journal:
            conf["journal"] = {"enabled": True}
        conf.update(extra or {})
        with open(self.conf, "w") as f:
            json.dump(conf, f, indent=2)
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen([TLOG_FORWARD, "--config", self.conf], stdout=subprocess.DEVNULL,
                                     stderr=open(self.log, "a"))

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                rc = self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                fail("tlog-forward did not stop on SIGTERM")
            check(rc == 0, "tlog-forward exited %d: %s" % (rc, self.text()[-2000:]))

    def text(self):
        with open(self.log) as f:
            return f.read()


def make_recordings(d, n, prefix="rec"):
    """n chained recordings by codec-tool (librec's encoder), each of a
    different length; their lines by rec id."""
    rnd = random.Random(15)
    recs = {}
    for i in range(n):
        rec = "%s-%03d" % (prefix, i)
        raw = os.path.join(d, "raw")
        with open(raw, "wb") as f:
            f.write(("%s says hello %s\r\n" % (rec, "x" * rnd.randint(0, 60))).encode() * rnd.randint(20, 80))
        out = os.path.join(d, rec + ".part")
        subprocess.run([CODEC_TOOL, "encode-raw", raw, out, "--rec", rec, "--payload", "256", "--chunk", "97"],
                       check=True, timeout=60)
        with open(out, "rb") as f:
            recs[rec] = f.read().splitlines(keepends=True)
        os.unlink(out)
    return recs


def write_rotating(log, recs, steps_per_rotation, pause, on_step=None):
    """Writes the recordings as concurrent recorders would: up to 20 at a
    time, one message each per step, each recording into the file that was
    current when it began (a recorder keeps its file open across a
    rotation, which only renames: NAME -> NAME.1 -> NAME.2 ...)."""
    todo = list(recs.items())
    active = []
    step = 0
    rotations = 0
    while todo or active:
        while len(active) < 20 and todo:
            rec, lines = todo.pop(0)
            active.append([os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600), lines, 0])
        for a in active:
            os.write(a[0], a[1][a[2]])
            a[2] += 1
        for a in [a for a in active if a[2] == len(a[1])]:
            os.close(a[0])
            active.remove(a)
        step += 1
        if step % steps_per_rotation == 0:
            for i in range(rotations, 0, -1):
                os.rename("%s.%d" % (log, i), "%s.%d" % (log, i + 1))
            if os.path.exists(log):
                os.rename(log, log + ".1")
                rotations += 1
        if on_step:
            on_step(step)
        time.sleep(pause)
    return rotations


def wait_delivered(server, recs, timeout=120):
    want = sum(len(v) for v in recs.values())
    end = time.time() + timeout
    got = 0
    while time.time() < end:
        try:
            got = sum(s["messages"] for r, s in server.sessions().items() if r in recs)
            if got == want:
                return
        except OSError:
            pass
        time.sleep(0.2)
    fail("only %d of %d messages arrived" % (got, want))


def check_stored(server, recs, d):
    """Every recording stored exactly once, in order, byte for byte, and
    its integrity chain verifies on what the server serves."""
    sessions = server.sessions()
    served = os.path.join(d, "served.log")
    with open(served, "wb") as out:
        for rec, lines in recs.items():
            s = sessions.get(rec)
            check(s is not None, "recording %s not on the server" % rec)
            check(s["messages"] == len(lines) and s["first_id"] == 1 and s["last_id"] == len(lines) and
                  s["gaps"] == 0, "recording %s: %r, expected %d messages" % (rec, s, len(lines)))
            body = server.messages(rec)
            check(body == b"".join(lines), "recording %s: the server's bytes differ from the file's" % rec)
            out.write(body)
    r = subprocess.run([TLOG_PLAY, "--verify", "-i", served], capture_output=True, text=True, timeout=300)
    check(r.returncode == 0, "tlog-play --verify on the served recordings: %d %s" % (r.returncode, r.stderr[-2000:]))
    check(r.stdout.count(": intact") == len(recs), "not every recording intact: %s" % r.stdout[-2000:])


def churn(recs, victim, restart, d):
    """Writes the recordings into a rotating set while `victim` is
    SIGKILLed and restarted; the forwarder ships them all the while."""
    log = os.path.join(d, "tlog.log")
    server = Server(d)
    server.start()
    fw = Forwarder(d, [server.url], files=[log])
    fw.start()
    procs = {"server": server, "forwarder": fw}
    kills = [0]
    done = threading.Event()

    def killer():
        rnd = random.Random(7)
        while not done.is_set():
            time.sleep(rnd.uniform(0.2, 0.6))
            procs[victim].kill()
            kills[0] += 1
            time.sleep(rnd.uniform(0.05, 0.4))
            procs[victim].start()

    t = threading.Thread(target=killer)
    t.start()
    try:
        rotations = write_rotating(log, recs, 60, 0.03)
        # At least 8 kills, the last ones while the tail is in flight.
        end = time.time() + 60
        while kills[0] < 8 and time.time() < end:
            time.sleep(0.1)
    finally:
        done.set()
        t.join()
    try:
        wait_delivered(server, recs)
        check(kills[0] >= 8, "the %s was killed only %d times" % (victim, kills[0]))
        check(rotations >= 2, "the file set rotated only %d times" % rotations)
        check_stored(server, recs, d)
        fw.stop()
        text = fw.text()
        check("refused a line" not in text and "skipped data" not in text, "unexpected skips: %s" % text[-3000:])
        print("%d recordings, %d messages, %d kills of the %s, %d rotations" %
              (len(recs), sum(len(v) for v in recs.values()), kills[0], victim, rotations))
    finally:
        fw.stop() if fw.proc.poll() is None else None
        server.stop()


def case_kill_server():
    d = tmpdir()
    churn(make_recordings(d, 200), "server", True, d)


def case_kill_forwarder():
    d = tmpdir()
    churn(make_recordings(d, 200), "forwarder", True, d)


def case_malformed():
    d = tmpdir()
    recs = make_recordings(d, 2, "mal")
    (a, la), (b, lb) = recs.items()
    log = os.path.join(d, "tlog.log")
    bad = [b'{"ver":"2.3","host":"h","rec":"mal-x","id":1,"broken\n', b"not json at all\n", b"   \n"]
    with open(log, "wb") as f:
        f.write(b"".join(la[:3]) + bad[0] + b"".join(la[3:]) + bad[1] + bad[2] + b"".join(lb))
    offset_bad0 = len(b"".join(la[:3]))
    offset_bad1 = len(b"".join(la[:3]) + bad[0] + b"".join(la[3:]))
    server = Server(d)
    server.start()
    fw = Forwarder(d, [server.url], files=[log])
    try:
        fw.start()
        wait_delivered(server, recs, 60)
        check_stored(server, recs, d)
        end = time.time() + 30
        while time.time() < end and fw.text().count("refused a line") < 2:
            time.sleep(0.1)
        text = fw.text()
        for off in (offset_bad0, offset_bad1):
            check(('"%s offset %d"' % (log, off)) in text, "refused line at offset %d not logged: %s" % (off, text))
        check("refused_total=2" in text, "refusals not counted: %s" % text)
        fw.stop()
        # Skipped for good: a restart does not send them again.
        fw.start()
        time.sleep(1.5)
        fw.stop()
        check(fw.text().count("refused a line") == 2, "refused lines sent again: %s" % fw.text())
    finally:
        fw.stop()
        server.stop()


def case_server_down():
    d = tmpdir()
    recs = make_recordings(d, 5, "down")
    log = os.path.join(d, "tlog.log")
    with open(log, "wb") as f:
        for lines in recs.values():
            f.write(b"".join(lines))
    server = Server(d)
    fw = Forwarder(d, [server.url], files=[log])
    try:
        fw.start()
        end = time.time() + 30
        while time.time() < end and "delivery failed" not in fw.text():
            time.sleep(0.1)
        check("delivery failed" in fw.text(), "no failed delivery logged: %s" % fw.text())
        time.sleep(1)
        server.start()
        wait_delivered(server, recs, 60)
        check_stored(server, recs, d)
        check("delivering again" in fw.text(), "recovery not logged: %s" % fw.text())
    finally:
        fw.stop()
        server.stop()


def case_failover():
    d = tmpdir()
    recs = make_recordings(d, 5, "fo")
    log = os.path.join(d, "tlog.log")
    with open(log, "wb") as f:
        for lines in recs.values():
            f.write(b"".join(lines))
    dead = "http://127.0.0.1:%d" % free_port()
    server = Server(d)
    server.start()
    fw = Forwarder(d, [dead, server.url], files=[log])
    try:
        fw.start()
        wait_delivered(server, recs, 60)
        check_stored(server, recs, d)
        check("delivery failed" not in fw.text(), "failover should not wait: %s" % fw.text())
    finally:
        fw.stop()
        server.stop()


def case_round_robin():
    d = tmpdir()
    recs = make_recordings(d, 10, "rr")
    log = os.path.join(d, "tlog.log")
    with open(log, "wb") as f:
        for lines in recs.values():
            f.write(b"".join(lines))
    want = sum(len(v) for v in recs.values())
    s1, s2 = Server(d, "one"), Server(d, "two")
    s1.start()
    s2.start()
    fw = Forwarder(d, [s1.url, s2.url], files=[log], extra={"batch": {"lines": 10}})
    fw.conf_balance = None
    with open(fw.conf) as f:
        conf = json.load(f)
    conf["server"]["balance"] = "round-robin"
    with open(fw.conf, "w") as f:
        json.dump(conf, f)
    try:
        fw.start()
        end = time.time() + 60
        n1 = n2 = 0
        while time.time() < end:
            n1 = sum(s["messages"] for s in s1.sessions().values())
            n2 = sum(s["messages"] for s in s2.sessions().values())
            if n1 + n2 == want:
                break
            time.sleep(0.2)
        check(n1 + n2 == want, "%d + %d of %d messages" % (n1, n2, want))
        check(abs(n1 - n2) <= 10, "batches not spread evenly: %d and %d" % (n1, n2))
    finally:
        fw.stop()
        s1.stop()
        s2.stop()


def case_lost():
    d = tmpdir()
    recs = make_recordings(d, 3, "lost")
    log = os.path.join(d, "tlog.log")
    with open(log, "wb") as f:
        for lines in recs.values():
            f.write(b"".join(lines))
    size = os.path.getsize(log)
    server = Server(d)
    fw = Forwarder(d, [server.url], files=[log])
    try:
        # Server down: the forwarder has seen the file but delivered nothing.
        fw.start()
        end = time.time() + 30
        while time.time() < end and "delivery failed" not in fw.text():
            time.sleep(0.1)
        fw.stop()
        os.unlink(log)
        later = make_recordings(d, 1, "after")
        with open(log, "wb") as f:
            f.write(b"".join(later["after-000"]))
        server.start()
        fw.start()
        wait_delivered(server, later, 60)
        text = fw.text()
        check("skipped data that was never delivered" in text and "skipped_bytes_at_least=%d" % size in text and
              "lost_bytes_total=%d" % size in text, "loss not logged: %s" % text)
        check(not any(r in server.sessions() for r in recs), "deleted recordings cannot have arrived")
    finally:
        fw.stop()
        server.stop()


def case_https():
    """tlog-server's own HTTPS, its certificate verified, the host's identity
    a client certificate or a token: delivered with the right CA and
    identity; refused (nothing stored, retried) without the CA, with another
    host name, or without an identity (401, logged with the server's
    reason)."""
    from tlogtest.certs import CA
    d = tmpdir()
    recs = make_recordings(d, 3, "tls")
    host = json.loads(next(iter(recs.values()))[0])["host"]
    log = os.path.join(d, "tlog.log")
    with open(log, "wb") as f:
        for lines in recs.values():
            f.write(b"".join(lines))
    ca = CA(d, "ca")
    srv_cert, srv_key = ca.issue("server", "127.0.0.1", ips=["127.0.0.1"], usage="serverAuth")
    host_cert, host_key = ca.issue("host", host, dns=[host])
    tls = {"tls_cert": srv_cert, "tls_key": srv_key, "tls_client_ca": ca.cert, "ca": ca.cert}
    server = Server(d, tls=tls)
    server.start()

    def forwarder(name, url, extra):
        fw = Forwarder(d, [url], files=[log], name=name)
        with open(fw.conf) as f:
            conf = json.load(f)
        conf["server"].update(extra)
        with open(fw.conf, "w") as f:
            json.dump(conf, f)
        fw.start()
        return fw

    def refused(name, url, extra, want):
        fw = forwarder(name, url, extra)
        end = time.time() + 30
        while time.time() < end and "delivery failed" not in fw.text():
            time.sleep(0.1)
        fw.stop()
        check("delivery failed" in fw.text() and want in fw.text(),
              "%s: no %s failure logged: %s" % (name, want, fw.text()))
        check(not any(r in server.sessions() for r in recs), "%s: delivered anyway" % name)

    try:
        url = "https://127.0.0.1:%d" % server.port
        identity = {"tls_cert": host_cert, "tls_key": host_key}
        refused("noca", url, identity, "SSLServerVerification")
        refused("wronghost", "https://localhost:%d" % server.port, dict(identity, ca_file=ca.cert),
                "SSLServerVerification")
        refused("noidentity", url, {"ca_file": ca.cert}, "HTTP 401")
        # A key others may read is refused at start.
        loose = os.path.join(d, "loose.key")
        shutil.copy(host_key, loose)
        os.chmod(loose, 0o644)
        fw = forwarder("loosekey", url, {"ca_file": ca.cert, "tls_cert": host_cert, "tls_key": loose})
        rc = fw.proc.wait(30)
        check(rc != 0 and "0644" in fw.text(), "a 0644 client key: exit %d, %s" % (rc, fw.text()))
        # examples/forward/tlog-forward-tls.conf as shipped, pointed at the
        # test's server, files and directories.
        fw = Forwarder(d, [url], files=[log], name="good")
        example = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples", "forward",
                               "tlog-forward-tls.conf")
        text = open(example).read()
        for old, new in (("https://tlog-server.example.org:8640", url), ("/etc/tlog/forward/server-ca.pem", ca.cert),
                         ("/etc/tlog/forward/host.pem", host_cert), ("/etc/tlog/forward/host.key", host_key),
                         ("/var/log/tlog/sessions.log", log), ("/var/lib/tlog-forward", fw.state)):
            check(old in text, "%s no longer contains %s" % (example, old))
            text = text.replace(old, new)
        with open(fw.conf, "w") as f:
            f.write(text)
        fw.start()
        wait_delivered(server, recs, 60)
        check_stored(server, recs, d)
        fw.stop()
        print("ok: delivered over HTTPS with the host's client certificate; no CA, another name, no identity refused")
        # A token instead of a certificate, to a second server.
        other = Server(d, "tokendb", tls=tls)
        token = subprocess.run([TLOG_SERVER, "token", "--database", other.db, "issue", host], check=True,
                               capture_output=True, text=True, timeout=60).stdout.strip()
        token_file = os.path.join(d, "token")
        with open(token_file, "w") as f:
            f.write(token + "\n")
        os.chmod(token_file, 0o600)
        other.start()
        try:
            fw = forwarder("token", "https://127.0.0.1:%d" % other.port, {"ca_file": ca.cert,
                                                                           "token_file": token_file})
            wait_delivered(other, recs, 60)
            fw.stop()
        finally:
            other.stop()
        print("ok: delivered over HTTPS with the host's token")
    finally:
        server.stop()


def case_ack_durable():
    """The server's 2xx, which moves the forwarder's commit point, comes
    after the request's transaction is synced to disk: between one ingest
    answer and the next, a sync of the database's WAL (the store runs
    SQLite with synchronous=FULL; NORMAL would not sync at commit). Watched
    with strace."""
    if shutil.which("strace") is None:
        fail("strace is not installed (scripts/deps.sh installs it)")
    d = tmpdir()
    recs = make_recordings(d, 1, "dur")
    lines = recs["dur-000"]
    server = Server(d)
    trace = os.path.join(d, "trace")
    p = subprocess.Popen(["strace", "-f", "-y", "-e", "trace=fdatasync,fsync,sendto,write", "-s", "20", "-o", trace,
                          TLOG_SERVER, "--plain-http", "--listen", "127.0.0.1:%d" % server.port, "--database", server.db],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        sel = selectors.DefaultSelector()
        sel.register(p.stdout, selectors.EVENT_READ)
        check(sel.select(timeout=60) and p.stdout.readline().startswith(b"listening on"), "no server under strace")
        # Three requests that each store something: a request with nothing
        # new commits nothing, and has nothing to sync.
        check(len(lines) >= 3, "a recording of %d messages" % len(lines))
        third = len(lines) // 3
        for chunk in (lines[:third], lines[third:2 * third], lines[2 * third:]):
            req = urllib.request.Request(server.url + "/api/v1/ingest", data=b"".join(chunk), method="POST",
                                         headers={"Content-Type": "application/x-ndjson"})
            with urllib.request.urlopen(req, timeout=60) as r:
                answer = json.loads(r.read())
                check(r.status == 200 and answer["created"] == len(chunk), "ingest answered %d: %r" % (r.status, answer))
    finally:
        # The server (strace's child) is stopped; strace then exits with it.
        with open("/proc/%d/task/%d/children" % (p.pid, p.pid)) as f:
            for pid in f.read().split():
                os.kill(int(pid), signal.SIGTERM)
        try:
            p.wait(60)
        except subprocess.TimeoutExpired:
            p.kill()
            fail("the server under strace did not stop")
    with open(trace) as f:
        events = [l for l in f if "fdatasync(" in l or "fsync(" in l or "HTTP/1.1 200" in l]
    answers = [i for i, l in enumerate(events) if "HTTP/1.1 200" in l]
    check(len(answers) == 3, "expected 3 answers in the trace, got %d" % len(answers))
    prev = 0
    for a in answers:
        synced = [l for l in events[prev:a] if ("sync(" in l and server.db + "-wal>" in l)]
        check(synced, "an ingest was answered without syncing the WAL first:\n" + "".join(events[prev:a + 1]))
        prev = a + 1


def case_config():
    d = tmpdir()
    conf = os.path.join(d, "fw.conf")
    for text, want in (('{\n  "server": {"urls": ["http://127.0.0.1:1"]},\n  "fils": []\n}\n', ":3:"),
                       ('{"server": {"urls": ["ftp://x"]}}', "server.urls"),
                       ('{"server": {"urls": ["http://x:1"], "balance": "random"}}', "server.balance"),
                       ('{"server": {"urls": ["http://x:1"]}, "files": ["relative.log"]}', "absolute"),
                       ('{"server": {"urls": ["http://x:1"]},\n "batch": {"lines": 0}}', "batch.lines"),
                       ('{"server": {"urls": []}}', "server.urls")):
        with open(conf, "w") as f:
            f.write(text)
        r = subprocess.run([TLOG_FORWARD, "--config", conf], capture_output=True, text=True, timeout=60)
        check(r.returncode == 1 and conf in r.stderr and want in r.stderr,
              "config %r: exit %d, %r" % (text, r.returncode, r.stderr))
    # A damaged commit point stops the service, naming the file: never a
    # silent start from scratch or from the end.
    log = os.path.join(d, "tlog.log")
    with open(log, "wb") as f:
        f.write(b"".join(make_recordings(d, 1, "cfg")["cfg-000"]))
    fw = Forwarder(d, ["http://127.0.0.1:%d" % free_port()], files=[log])
    fw.start()
    end = time.time() + 30
    while time.time() < end and not os.listdir(fw.state):
        time.sleep(0.05)
    fw.stop()
    state = os.path.join(fw.state, os.listdir(fw.state)[0])
    with open(state, "w") as f:
        f.write('{"files": [{"dev": 1}]}')
    r = subprocess.run([TLOG_FORWARD, "--config", fw.conf], capture_output=True, text=True, timeout=60)
    check(r.returncode == 1 and state in r.stderr and "ino" in r.stderr,
          "damaged state file: exit %d, %r" % (r.returncode, r.stderr))
    r = subprocess.run([TLOG_FORWARD, "--version"], capture_output=True, text=True, timeout=60)
    check(r.returncode == 0 and r.stdout.startswith("tlog-forward "), "--version: %r" % r.stdout)


def case_journald():
    from tlogtest.namespace import Journald, require_root_ns, sh
    require_root_ns()
    d = tmpdir()
    sh("mount -t tmpfs -o mode=755 tmpfs /run")
    j = Journald(d)
    server = Server(d)
    fw = None
    try:
        server.start()
        env = {k: v for k, v in os.environ.items() if not k.startswith("TLOG_REC_") or k.endswith("_BIN")}
        p = spawn([TLOG_REC, "-w", "journal", "--payload=128", "/bin/sh", "-c",
                   "for i in $(seq 40); do echo journal line $i; done"], env=env)
        check(p.wait() == 0, "tlog-rec failed: %r" % p.out)
        # Another user's entry that claims to be a recording's.
        forged = '{"ver":"2.3","host":"h","rec":"forged-rec","user":"u","term":"xterm","session":1,"id":1,' \
                 '"pos":0,"timing":"","in_txt":"","in_bin":[],"out_txt":"","out_bin":[]}'
        subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "logger", "--journald"],
                       input="MESSAGE=%s\nTLOG_REC=forged-rec\n" % forged, text=True, check=True)
        end = time.time() + 20
        ents = []
        while time.time() < end:
            ents = [e for e in j.entries("SYSLOG_IDENTIFIER=tlog-rec") if "TLOG_REC" in e]
            if ents and '"end"' in ents[-1]["MESSAGE"] and j.entries("TLOG_REC=forged-rec"):
                break
            time.sleep(0.2)
        check(ents and j.entries("TLOG_REC=forged-rec"), "journald did not store the entries")
        rec = ents[0]["TLOG_REC"]
        lines = {rec: [(e["MESSAGE"] + "\n").encode() for e in ents]}
        check(len(lines[rec]) > 3, "expected several messages, got %d" % len(lines[rec]))
        fw = Forwarder(d, [server.url], journal=True)
        fw.start()
        wait_delivered(server, lines, 60)
        check_stored(server, lines, d)
        end = time.time() + 20
        while time.time() < end and "not written by the recorder" not in fw.text():
            time.sleep(0.1)
        check("forged-rec" not in server.sessions(), "the forged entry was delivered")
        check("not written by the recorder" in fw.text() and "forged-rec" in fw.text(),
              "the forged entry was not logged: %s" % fw.text())
        fw.stop()
        # A commit point whose entry was vacuumed: logged, counted, and
        # delivery goes on from the oldest entry left.
        state = [f for f in os.listdir(fw.state) if f.startswith("journal-")]
        check(len(state) == 1, "journal state file: %r" % state)
        path = os.path.join(fw.state, state[0])
        with open(path) as f:
            cursor = json.load(f)["cursor"]
        fields = dict(kv.split("=", 1) for kv in cursor.split(";"))
        fields["s"] = "0" * 32
        fields["i"] = "1"
        fields["t"] = "%x" % (int(fields["t"], 16) - 3600 * 1000000)
        with open(path, "w") as f:
            json.dump({"cursor": ";".join("%s=%s" % kv for kv in fields.items())}, f)
        fw.start()
        end = time.time() + 20
        while time.time() < end and "no longer in the journal" not in fw.text():
            time.sleep(0.1)
        fw.stop()
        check("no longer in the journal" in fw.text() and "lost_gaps_total=1" in fw.text(),
              "a lost cursor not logged: %s" % fw.text())
        check_stored(server, lines, d)
    finally:
        if fw:
            fw.stop()
        server.stop()
        j.stop()


def audit_metric(server, result):
    text = server.get("/metrics").decode()
    key = 'tlog_server_audit_events_total{result="%s"} ' % result
    return int(next(line for line in text.splitlines() if line.startswith(key))[len(key):])


def wait_audit_created(server, want, timeout=120):
    end = time.time() + timeout
    got = -1
    while time.time() < end:
        try:
            got = audit_metric(server, "created")
            if got >= want:
                break
        except OSError:
            pass
        time.sleep(0.1)
    check(got == want, "%d of %d audit events stored" % (got, want))


def trail_of(parsed, stored, host, ses, rec):
    """GET /api/v1/sessions/REC/audit for the recording that (host, ses)'s
    start event names (doc/server.md): the events carrying rec and the
    rec-less ones of (host, ses), byte for byte, and the failed
    authentications its first start event lists, marked before_session
    (the stored event, or null), in time order then serial, host, type."""
    start = next(e for e in parsed if e.get("op") == "tlog-session-start" and e.get("rec") == rec
                 and e["host"] == host)
    listed = [(f["serial"], f["time"]) for f in start.get("failed_auth_before", [])]
    items = {}
    for e, raw in zip(parsed, stored):
        key = (e["time"], e["serial"], e["host"], e.get("type", ""))
        if e["host"] == host and (e["serial"], e["time"]) in listed:
            items[key] = (b'{"before_session":{"host":' + json.dumps(host).encode() + b',"serial":' +
                          str(e["serial"]).encode() + b',"time":' + json.dumps(e["time"]).encode() +
                          b',"event":' + raw.rstrip(b"\n") + b"}}\n")
        elif e.get("rec") == rec or ("rec" not in e and e["host"] == host and e["ses"] == ses):
            items[key] = raw
    for serial, t in listed:
        if not any(k[0] == t and k[1] == serial and k[2] == host for k in items):
            items[(t, serial, host, "")] = (b'{"before_session":{"host":' + json.dumps(host).encode() +
                                            b',"serial":' + str(serial).encode() + b',"time":' +
                                            json.dumps(t).encode() + b',"event":null}}\n')
    return [items[k] for k in sorted(items)]


def case_audit():
    d = tmpdir()
    corpus = os.environ["AUDIT_CORPUS"]
    logs = sorted(os.path.join(corpus, f) for f in os.listdir(corpus) if f.endswith(".log"))
    check(any(f.endswith("/session.log") for f in logs), "no session.log in %s" % corpus)
    # tlog-audit as the host runs it: its own writer appends to the file.
    out = os.path.join(d, "audit.json")
    subprocess.run([os.environ["TLOG_AUDIT_BIN"], "-o", out] + logs, check=True, timeout=120)
    with open(out, "rb") as f:
        events = f.read().splitlines(keepends=True)
    os.unlink(out)
    check(len(events) >= 30, "tlog-audit wrote only %d events" % len(events))
    # The same event in two logs (raw_head.log is the start of the log
    # session.log comes from) is stored once, its first copy kept.
    first = {}
    for raw in events:
        e = json.loads(raw)
        first.setdefault((e["host"], e["serial"], e["time"], e.get("type", "")), (e, raw))
    parsed = [e for e, _ in first.values()]
    stored = [raw for _, raw in first.values()]
    repeats = len(events) - len(stored)
    half = len(events) // 2
    bad = b'{"serial":1,"time":"yesterday","host":"h","ses":null}\n'
    with open(out, "wb") as f:
        f.write(b"".join(events[:half]) + bad)
    server = Server(d)
    server.start()
    fw = Forwarder(d, [server.url], extra={"audit_files": [out], "batch": {"lines": 4}})
    try:
        fw.start()
        half_keys = {(json.loads(r)["host"], json.loads(r)["serial"], json.loads(r)["time"],
                      json.loads(r).get("type", "")) for r in events[:half]}
        wait_audit_created(server, len(half_keys), 60)
        end = time.time() + 30
        while time.time() < end and "refused a line" not in fw.text():
            time.sleep(0.1)
        check(('"%s offset %d"' % (out, len(b"".join(events[:half])))) in fw.text(),
              "the refused line is not logged with its offset: %s" % fw.text())
        check("'time'" in fw.text(), "the refusal does not name the field: %s" % fw.text())
        fw.stop()
        # Rotated while the forwarder is down; the rest goes to a new file.
        os.rename(out, out + ".1")
        with open(out, "wb") as f:
            f.write(b"".join(events[half:]))
        # --audit-file on the command line replaces the file's list.
        fw.proc = subprocess.Popen([TLOG_FORWARD, "--config", fw.conf, "--audit-file", out],
                                   stdout=subprocess.DEVNULL, stderr=open(fw.log, "a"))
        wait_audit_created(server, len(stored), 60)
        end = time.time() + 30
        while time.time() < end and audit_metric(server, "duplicate") < repeats:
            time.sleep(0.1)
        fw.stop()
        # Commit points held across the restart: nothing sent twice.
        check(audit_metric(server, "duplicate") == repeats,
              "%d duplicates, %d expected: events sent again after a restart" %
              (audit_metric(server, "duplicate"), repeats))
        check(audit_metric(server, "refused") == 1, "refusals: %d" % audit_metric(server, "refused"))
        check(fw.text().count("refused a line") == 1, "the refused line sent again: %s" % fw.text())
        check("source=audit-file:" in fw.text(), "source not named audit-file: %s" % fw.text())
        # Each recording of the corpus: its events with rec, the rec-less
        # events of the (host, ses) its start event names, and the failed
        # authentications it lists, in time order then serial, byte for
        # byte.
        starts = {(e["host"], e["ses"], e["rec"]) for e in parsed
                  if e.get("op") == "tlog-session-start" and "rec" in e and e["ses"] is not None}
        check(any(r == "0badc0de-test" for _, _, r in starts), "no start event for session.log's recording")
        for host, ses, rec in starts:
            want = trail_of(parsed, stored, host, ses, rec)
            got = server.get("/api/v1/sessions/%s/audit" % urllib.parse.quote(rec)).splitlines(keepends=True)
            check(got == want, "events of %s: got %r, want %r" % (rec, got, want))
            check(len(got) >= 2, "too few events joined to %s: %d" % (rec, len(got)))
            # The same in pages of one event, following Tlog-Next-Cursor.
            paged, cursor = [], None
            while True:
                q = "?limit=1" + ("&cursor=" + cursor if cursor else "")
                with urllib.request.urlopen(server.url + "/api/v1/sessions/%s/audit%s" % (
                        urllib.parse.quote(rec), q), timeout=60) as r:
                    paged += r.read().splitlines(keepends=True)
                    cursor = r.headers.get("Tlog-Next-Cursor")
                if not cursor:
                    break
                check(len(paged) <= len(want), "paging does not end for %s" % rec)
            check(paged == want, "events of %s in pages: got %r, want %r" % (rec, paged, want))
            # The USER_AUTH before the start record, joined by (host, ses)
            # or listed in the start event.
            check(any(b'"rec"' not in g for g in got), "no event joined by (host, ses) for %s" % rec)
        # A recording without audit events is empty, not unknown.
        plain = make_recordings(d, 1, "plain")
        req = urllib.request.Request(server.url + "/api/v1/ingest", data=b"".join(plain["plain-000"]),
                                     headers={"Content-Type": "application/x-ndjson"})
        urllib.request.urlopen(req, timeout=60).read()
        check(server.get("/api/v1/sessions/plain-000/audit") == b"", "events for a recording without any")
        try:
            server.get("/api/v1/sessions/0badc0de-test/audit?cursor=zz")
            fail("a bad cursor was accepted")
        except urllib.error.HTTPError as e:
            check(e.code == 400 and b"cursor" in e.read(), "bad cursor: HTTP %d" % e.code)
        try:
            server.get("/api/v1/sessions/no-such-rec/audit")
            fail("an unknown recording was answered")
        except urllib.error.HTTPError as e:
            check(e.code == 404, "unknown recording: HTTP %d" % e.code)
    finally:
        fw.stop()
        server.stop()


run_case(globals())
