"""tlog-server over real TLS with host identities (suite integration).
Certificates from a test CA made with the openssl command: the right host's
certificate ingests (its subjectAltName, or its CN without one); another
CA's, an expired and a revoked certificate are refused in the handshake;
host A's certificate submitting host B's messages and audit events gets
those lines refused (field host) and logged while A's lines in the same
request are stored; per-host tokens (Bearer, and Basic with the token as
password) likewise, a revoked or unknown token and no identity get 401; a
relay submits for its configured globs only; plain HTTP without the flag,
on a non-loopback address, and a key file of mode 0644 stop the server at
start with a message saying what to set.
Environment: TLOG_SERVER."""
import base64
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time

from tlogtest.certs import CA
from tlogtest import server as servers
from tlogtest import viewer as viewers

TLOG_SERVER = os.environ["TLOG_SERVER"]


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def message(host, rec, i, text="x"):
    return json.dumps({"ver": "2.3", "host": host, "rec": rec, "user": "root", "term": "xterm", "session": 1,
                       "id": i, "pos": i * 10, "timing": ">%d" % len(text), "in_txt": "", "in_bin": [],
                       "out_txt": text, "out_bin": []}).encode()


def audit_event(host, serial):
    return json.dumps({"serial": serial, "time": "2026-12-04T21:25:01.%03dZ" % serial, "host": host, "ses": None,
                       "type": "USER_LOGIN"}).encode()


class Server:
    def __init__(self, d, conf, args=()):
        self.log = os.path.join(d, "server.log")
        self.p, self.port = servers.start([TLOG_SERVER, "--config", conf, *args] + viewers.server_args(d), self.log)

    def stop(self):
        servers.stop(self.p)

    def log_events(self, event):
        out = []
        for line in open(self.log, encoding="utf-8").read().splitlines():
            if line.startswith("{") and '"event"' in line:
                e = json.loads(line)
                if e.get("event") == event:
                    out.append(e)
        return out


class Client:
    def __init__(self, ca, port, viewer_token=None):
        self.ca, self.port, self.viewer_token = ca, port, viewer_token

    def request(self, method, path, body=None, cert=None, headers=None, tls12=False):
        """(status, body bytes); raises on a refused handshake."""
        ctx = ssl.create_default_context(cafile=self.ca.cert)
        if tls12:
            ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        if cert:
            ctx.load_cert_chain(*cert)
        conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=ctx, timeout=60)
        try:
            h = {"Content-Type": "application/x-ndjson"}
            h.update(headers or {})
            conn.request(method, path, body=body, headers=h)
            r = conn.getresponse()
            return r.status, r.read()
        finally:
            conn.close()

    def post(self, path, lines, cert=None, headers=None):
        status, body = self.request("POST", path, b"\n".join(lines) + b"\n", cert, headers)
        return status, json.loads(body)

    def refused(self, cert, want):
        """Refused in the handshake with OpenSSL's alert `want` (TLS 1.2,
        where the client learns it in the handshake), and refused in TLS 1.3
        too (where the alert may come after the client's first write)."""
        for tls12 in (True, False):
            try:
                status, _ = self.request("POST", "/api/v1/ingest", message("hosta.example", "r-refused", 1), cert,
                                         tls12=tls12)
            except (ssl.SSLError, ConnectionError, http.client.RemoteDisconnected) as e:
                if tls12 and want not in str(e):
                    fail("expected the alert %s, got %r" % (want, e))
                continue
            fail("a certificate that should be refused got HTTP %d" % status)

    def messages(self, rec):
        # Read as an auditor who may view everything (a viewer's token).
        status, body = self.request("GET", "/api/v1/sessions/%s/messages" % rec,
                                    headers={"Authorization": "Bearer " + self.viewer_token})
        return status, body.splitlines() if status == 200 else []


def expect_startup_failure(args, conf_obj, d, want, what):
    conf = os.path.join(d, "bad.conf")
    with open(conf, "w") as f:
        json.dump(conf_obj, f)
    r = subprocess.run([TLOG_SERVER, "--config", conf, *args], capture_output=True, text=True, timeout=60)
    if r.returncode != 1 or any(w not in r.stderr for w in want):
        fail("%s: expected exit 1 naming %r, got %d %r" % (what, want, r.returncode, r.stderr))


def token(db, *args):
    r = subprocess.run([TLOG_SERVER, "token", "--database", db, *args], capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        fail("tlog-server token %s: %d %r" % (" ".join(args), r.returncode, r.stderr))
    return r.stdout


def check_startup_refusals(d, ca, srv_cert, srv_key):
    db = os.path.join(d, "refusals.sqlite")
    expect_startup_failure([], {"listen": "127.0.0.1:0", "database": db}, d,
                           ["tls_cert", "tls_key", "plain_http"], "no TLS and no plain_http")
    expect_startup_failure(["--plain-http", "--listen", "0.0.0.0:0"], {"database": db}, d,
                           ["loopback", "0.0.0.0"], "plain HTTP on every address")
    expect_startup_failure([], {"listen": "192.0.2.1:0", "plain_http": "loopback", "database": db}, d,
                           ["loopback"], "plain_http on a non-loopback address")
    loose = os.path.join(d, "loose.key")
    shutil.copy(srv_key, loose)
    os.chmod(loose, 0o644)
    expect_startup_failure([], {"listen": "127.0.0.1:0", "database": db, "tls_cert": srv_cert, "tls_key": loose},
                           d, ["tls_key", "0644", "chmod 600"], "a key file of mode 0644")
    expect_startup_failure([], {"listen": "127.0.0.1:0", "database": db, "tls_cert": srv_cert, "tls_key": srv_key,
                                "plain_http": "loopback"}, d, ["plain_http", "tls_cert"], "TLS and plain_http")
    expect_startup_failure([], {"listen": "127.0.0.1:0", "database": db, "tls_cert": srv_cert,
                                "tls_key": os.path.join(d, "nonexistent.key")}, d,
                           ["tls_key", "nonexistent.key"], "a missing key file")
    # Bad values name the file and the key.
    for conf_obj, key in (({"plain_http": "yes"}, "plain_http"), ({"tls_certificate": "x"}, "tls_certificate"),
                          ({"tls_cert": ""}, "tls_cert"), ({"ingest_relays": ["a"]}, "ingest_relays"),
                          ({"ingest_relays": {"r.example": "web*"}}, "ingest_relays.r.example"),
                          ({"ingest_relays": {"r.example": [""]}}, "ingest_relays.r.example")):
        expect_startup_failure([], dict(conf_obj, database=db), d, [os.path.join(d, "bad.conf"), key],
                               "configuration %r" % conf_obj)
    expect_startup_failure([], {"listen": "127.0.0.1:0", "database": db, "tls_cert": srv_cert,
                                "tls_key": srv_key, "tls_crl": os.path.join(d, "no-such-crl.pem")}, d,
                           ["tls_crl"], "a CRL without tls_client_ca")
    print("ok: no TLS without plain_http, plain HTTP off loopback, a 0644 key, TLS with plain_http: refused at start; "
          "bad TLS settings name the file and key")


def main():
    if shutil.which("openssl") is None:
        fail("openssl is not installed (scripts/deps.sh installs it)")
    d = tempfile.mkdtemp(prefix="tlog-server-tls.")
    server = None
    try:
        ca, other = CA(d, "test-ca"), CA(d, "other-ca")
        srv = ca.issue("server", "tlog-server.test", dns=["localhost"], ips=["127.0.0.1"], usage="serverAuth")
        host_a = ca.issue("hosta", "hosta-cn-not-used", dns=["hosta.example", "alias.example"])
        host_b = ca.issue("hostb", "hostb.example")  # no subjectAltName: the CN
        expired = ca.issue("hosta-expired", "hosta.example", dns=["hosta.example"],
                           start="20200101000000Z", end="20210101000000Z")
        foreign = other.issue("hosta-other-ca", "hosta.example", dns=["hosta.example"])
        revoked = ca.issue("hosta-revoked", "hosta.example", dns=["hosta.example"])
        ca.revoke(revoked[0])
        relay = ca.issue("relay", "relay.example", dns=["relay.example"])

        check_startup_refusals(d, ca, *srv)

        db = os.path.join(d, "db.sqlite")
        conf = os.path.join(d, "tlog-server.conf")
        with open(conf, "w") as f:
            json.dump({"listen": "127.0.0.1:0", "database": db, "tls_cert": srv[0], "tls_key": srv[1],
                       "tls_client_ca": ca.cert, "tls_crl": ca.crl,
                       "ingest_relays": {"relay.example": ["web*.example"]}}, f)
        server = Server(d, conf)
        c = Client(ca, server.port, viewers.issue(TLOG_SERVER, db))

        # The right host's certificate: its first subjectAltName dNSName.
        status, r = c.post("/api/v1/ingest", [message("hosta.example", "ra", 1), message("hosta.example", "ra", 2)],
                           host_a)
        if status != 200 or r["created"] != 2:
            fail("host A's own messages: %d %r" % (status, r))
        # Without a subjectAltName: the CN.
        status, r = c.post("/api/v1/ingest", [message("hostb.example", "rb", 1)], host_b)
        if status != 200 or r["created"] != 1:
            fail("host B's own message (CN): %d %r" % (status, r))
        print("ok: a host's certificate ingests its own messages (subjectAltName first, else CN)")

        # Refused in the handshake: another CA, expired, revoked.
        c.refused(foreign, "UNKNOWN_CA")
        c.refused(expired, "CERTIFICATE_EXPIRED")
        c.refused(revoked, "CERTIFICATE_REVOKED")
        if c.messages("r-refused")[0] != 404:
            fail("a refused certificate's message was stored")
        print("ok: another CA's, an expired and a revoked certificate are refused in the handshake")
        # TLS 1.1 (offered by a client that allows it) is refused.
        r = subprocess.run(["openssl", "s_client", "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0", "-connect",
                            "127.0.0.1:%d" % server.port, "-CAfile", ca.cert], input=b"", capture_output=True,
                           timeout=60)
        if b"alert protocol version" not in r.stdout + r.stderr:
            fail("TLS 1.1 was not refused: %r" % (r.stdout + r.stderr)[-600:])
        print("ok: TLS 1.1 refused (protocol version)")

        # Host A's certificate claiming host B: that line refused and
        # logged, A's lines in the same request stored.
        status, r = c.post("/api/v1/ingest", [message("hosta.example", "ra", 3), message("hostb.example", "rb-forged", 1),
                                              message("hosta.example", "ra", 4)], host_a)
        errs = r.get("errors", [])
        if status != 400 or r["created"] != 2 or r["failed"] != 1 or len(errs) != 1 or \
                "field 'host'" not in json.dumps(errs) or "hostb.example" not in json.dumps(errs):
            fail("host A claiming host B: %d %r" % (status, r))
        if c.messages("rb-forged")[0] != 404 or len(c.messages("ra")[1]) != 4:
            fail("after the forged line: %r %r" % (c.messages("rb-forged"), c.messages("ra")))
        # _bulk and audit events alike.
        bulk = [b'{"index":{}}', message("hostb.example", "rb-forged", 2), b'{"index":{}}',
                message("hosta.example", "ra", 5)]
        status, r = c.post("/tlog/_bulk", bulk, host_a)
        if status != 200 or not r["errors"] or r["items"][0]["index"]["status"] != 400 or \
                "host" not in json.dumps(r["items"][0]) or r["items"][1]["index"]["status"] != 201:
            fail("_bulk with a forged line: %d %r" % (status, r))
        status, r = c.post("/api/v1/audit", [audit_event("hosta.example", 1), audit_event("hostb.example", 2)], host_a)
        if status != 400 or r["created"] != 1 or r["failed"] != 1 or "host" not in json.dumps(r["errors"]):
            fail("audit events with a forged host: %d %r" % (status, r))
        logged = server.log_events("ingest_host_refused")
        routes = sorted(e["route"] for e in logged if e["identity"] == "hosta.example" and
                        e["claimed_host"] == "hostb.example" and e["by"] == "certificate")
        if routes != ["/api/v1/audit", "/api/v1/ingest", "/{index}/_bulk"]:
            fail("the refusals logged: %r" % logged)
        print("ok: host A's certificate submitting host B's lines: refused per line (ingest, _bulk, audit) "
              "and logged, A's lines stored")

        # No identity on the TLS listener: 401 on every ingest route; the
        # read routes are not ingest's to guard.
        for path in ("/api/v1/ingest", "/_bulk", "/api/v1/audit"):
            status, r = c.post(path, [message("hosta.example", "ra", 9)])
            if status != 401:
                fail("%s without an identity: %d %r" % (path, status, r))
        if c.request("GET", "/api/v1/health")[0] != 200:
            fail("health without an identity")
        print("ok: ingest without a certificate or token: 401")

        # Tokens: issued once, stored hashed, Bearer or Basic.
        tok = token(db, "issue", "hostc.example").strip()
        if len(tok) != 64 or tok in open(db, "rb").read().decode("latin-1"):
            fail("the token %r (it must not be stored as it is)" % tok)
        status, r = c.post("/api/v1/ingest", [message("hostc.example", "rc", 1)],
                           headers={"Authorization": "Bearer " + tok})
        if status != 200 or r["created"] != 1:
            fail("Bearer token: %d %r" % (status, r))
        basic = base64.b64encode(("hostc.example:" + tok).encode()).decode()
        status, r = c.post("/api/v1/ingest", [message("hostc.example", "rc", 2)],
                           headers={"Authorization": "Basic " + basic})
        if status != 200 or r["created"] != 1:
            fail("Basic with the token: %d %r" % (status, r))
        status, r = c.post("/api/v1/ingest", [message("hosta.example", "ra-by-c", 1), message("hostc.example", "rc", 3)],
                           headers={"Authorization": "Bearer " + tok})
        if status != 400 or r["created"] != 1 or "hosta.example" not in json.dumps(r["errors"]):
            fail("host C's token claiming host A: %d %r" % (status, r))
        if not [e for e in server.log_events("ingest_host_refused")
                if e["identity"] == "hostc.example" and e["claimed_host"] == "hosta.example" and e["by"] == "token"]:
            fail("the token's refusal is not logged")
        listed = token(db, "list")
        tid = [x.split("\t")[0] for x in listed.splitlines() if "\thostc.example\t" in x]
        if len(tid) != 1 or "revoked" in listed:
            fail("token list: %r" % listed)
        token(db, "revoke", tid[0])
        if "revoked" not in token(db, "list"):
            fail("token list after revoke")
        status, r = c.post("/api/v1/ingest", [message("hostc.example", "rc", 4)],
                           headers={"Authorization": "Bearer " + tok})
        if status != 401 or "revoked" not in r["error"]:
            fail("a revoked token: %d %r" % (status, r))
        status, r = c.post("/api/v1/ingest", [message("hostc.example", "rc", 4)],
                           headers={"Authorization": "Bearer " + "0" * 64})
        if status != 401:
            fail("an unknown token: %d %r" % (status, r))
        if len(c.messages("rc")[1]) != 3:
            fail("host C's messages: %r" % (c.messages("rc"),))
        print("ok: tokens (Bearer, Basic): own host stored, another host refused and logged, revoked/unknown 401")

        # A relay: its own name and its globs, nothing else.
        status, r = c.post("/api/v1/ingest", [message("web1.example", "rw", 1), message("relay.example", "rr", 1),
                                              message("db1.example", "rd", 1)], relay)
        if status != 400 or r["created"] != 2 or r["failed"] != 1 or "db1.example" not in json.dumps(r["errors"]):
            fail("relay: %d %r" % (status, r))
        print("ok: a relay submits for its configured hosts only")

        # SIGHUP reloads the certificate: the next handshakes get the new
        # one; files that do not load keep the former, and say so.
        def peer_cn():
            ctx = ssl.create_default_context(cafile=ca.cert)
            with socket.create_connection(("127.0.0.1", server.port), timeout=60) as raw:
                with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as t:
                    return dict(x[0] for x in t.getpeercert()["subject"])["commonName"]

        def reloaded(result, count=1):
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                n = [e for e in server.log_events("tls_reload") if e["result"] == result]
                if len(n) >= count:
                    return n
                peer_cn()  # the reload happens at a handshake
                time.sleep(0.1)
            fail("no tls_reload %r logged" % result)

        if peer_cn() != "tlog-server.test":
            fail("the server's certificate before the reload: %s" % peer_cn())
        ca.issue("server", "tlog-server.renewed", dns=["localhost"], ips=["127.0.0.1"], usage="serverAuth")
        server.p.send_signal(signal.SIGHUP)
        reloaded("loaded")
        if peer_cn() != "tlog-server.renewed":
            fail("after SIGHUP the server still shows %s" % peer_cn())
        with open(srv[0], "w") as f:
            f.write("not a certificate\n")
        server.p.send_signal(signal.SIGHUP)
        kept = reloaded("kept the former files")
        if "tls_cert" not in kept[0]["error"] or peer_cn() != "tlog-server.renewed":
            fail("a bad certificate on reload: %r, shows %s" % (kept, peer_cn()))
        status, r = c.post("/api/v1/ingest", [message("hosta.example", "ra", 6)], host_a)
        if status != 200 or r["created"] != 1:
            fail("ingest after the reloads: %d %r" % (status, r))
        # The CRL too: host B's certificate revoked, then reloaded.
        ca.issue("server", "tlog-server.renewed", dns=["localhost"], ips=["127.0.0.1"], usage="serverAuth")
        ca.revoke(host_b[0])
        status, r = c.post("/api/v1/ingest", [message("hostb.example", "rb", 2)], host_b)
        if status != 200:
            fail("host B before the CRL's reload: %d %r" % (status, r))
        server.p.send_signal(signal.SIGHUP)
        reloaded("loaded", 2)
        c.refused(host_b, "CERTIFICATE_REVOKED")
        print("ok: SIGHUP reloads the certificate and the CRL; files that do not load keep the former")
        server.stop()
        if server.p.returncode != 0:
            fail("tlog-server exited %d" % server.p.returncode)
    finally:
        if server is not None and server.p.poll() is None:
            server.p.kill()
            server.p.wait()
        shutil.rmtree(d, True)


if __name__ == "__main__":
    main()
