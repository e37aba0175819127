"""Viewers signing in to tlog-server, through the real PAM stack (root, in a
private mount namespace: tests/recorder/run_ns.sh).
- API tokens: Bearer and basic auth (USER:TOKEN) read; a wrong, revoked or
  expired token, or a token under another user's name, does not.
- Every route of server/openapi.yaml that asks a viewer's right (its
  x-tlog-permission; test server_openapi keeps it equal to the route
  table) answers a request without valid credentials with the same 401,
  so a new route cannot be left open.
- PAM sign-in with examples/pam.d/tlog-server as /etc/pam.d/tlog-server
  (pam_unix over bind-mounted passwd/shadow copies): the right password
  gives a session cookie (HttpOnly, SameSite=Strict) that reads; a wrong
  one 401, logged as JSON without the password; repeated failures 429 with
  Retry-After, per user and per remote address; the session ends unused
  (session_idle), at its age (session_max) and at logout.
- A hung PAM module (pam_exec sleeping) fails the sign-in after
  pam_timeout while the server goes on answering.
- pam_unix and the server's account: unprivileged, another user's password
  is refused; with the shadow group it is accepted (what
  examples/pam.d/tlog-server tells administrators).
Environment: TLOG_SERVER, TLOG_REC, SOURCE_ROOT."""
import json
import os
import shutil
import sqlite3
import subprocess
import time

import yaml

from tlogtest import server as servers
from tlogtest import viewer as viewers
from tlogtest.namespace import add_users, private_pam, require_root_ns, sh
from tlogtest.terminal import check

TLOG_SERVER = os.environ["TLOG_SERVER"]
SOURCE_ROOT = os.environ["SOURCE_ROOT"]
PASSWORDS = {"ann": "correct horse 1", "bob": "battery staple 2"}
SERVICE_UID = 2199


class Server:
    def __init__(self, d, name, conf, as_service=False, groups=""):
        self.d, self.db, self.log = d, os.path.join(d, name + ".sqlite"), os.path.join(d, name + ".log")
        conf_path = os.path.join(d, name + ".conf")
        with open(conf_path, "w") as f:
            json.dump(dict(conf, database=self.db, listen="127.0.0.1:0", plain_http="loopback"), f)
        rules = viewers.access_file(d, "rules:\n  - name: all\n    viewers: {users: [ann, bob]}\n"
                                       "    recordings: {users: all}\n    rights: all\n")
        cmd = [TLOG_SERVER, "--config", conf_path, "--access-rules", rules]
        if as_service:
            ids = ["--reuid", str(SERVICE_UID), "--regid", str(SERVICE_UID)]
            cmd = ["setpriv"] + ids + (["--groups", groups] if groups else ["--clear-groups"]) + cmd
        self.p, self.port = servers.start(cmd, self.log)
        self.base = "http://127.0.0.1:%d" % self.port

    def request(self, method, path, body=None, headers=None, source="127.0.0.1"):
        """(status, headers, body) from `source` (any loopback address)."""
        return servers.request(self.port, method, path, body, headers, source=source)

    def login(self, user, password, source="127.0.0.1"):
        return self.request("POST", "/api/v1/login", json.dumps({"user": user, "password": password}),
                            {"Content-Type": "application/json"}, source)

    def log_lines(self):
        with open(self.log, "rb") as f:
            return [json.loads(l) for l in f.read().splitlines() if l.startswith(b"{")]

    def stop(self):
        servers.stop(self.p)


def viewer_routes():
    """(method, path) of every route asking a viewer's right, with the
    path's parameters filled in."""
    with open(os.path.join(SOURCE_ROOT, "server/openapi.yaml")) as f:
        doc = yaml.safe_load(f)
    out = []
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            if not isinstance(op, dict) or "x-tlog-permission" not in op:
                continue
            if op["x-tlog-permission"] in ("none", "host"):
                continue
            out.append((method.upper(), path.replace("{rec}", "r1").replace("{index}", "tlog")))
    return out


def cookie_of(headers):
    sc = headers.get("Set-Cookie") or ""
    check(sc.startswith("tlog_session=") and "HttpOnly" in sc and "SameSite=Strict" in sc and "Path=/" in sc,
          "the session cookie: %r" % sc)
    check("Secure" not in sc, "a plain-HTTP listener's cookie marked Secure: %r" % sc)
    return sc.split(";", 1)[0]


def check_tokens(s):
    routes = viewer_routes()
    check(len(routes) >= 8 and ("GET", "/api/v1/sessions") in routes and ("GET", "/metrics") in routes,
          "the viewer routes read from openapi.yaml: %r" % routes)
    ann = viewers.Viewer("ann", viewers.issue(TLOG_SERVER, s.db, "ann"))
    bob = viewers.Viewer("bob", viewers.issue(TLOG_SERVER, s.db, "bob", expires=30))
    status, _, body = s.request("GET", "/api/v1/sessions", headers=ann.headers())
    check(status == 200 and b'"sessions"' in body, "a Bearer token: %d %r" % (status, body))
    status, _, _ = s.request("GET", "/api/v1/sessions", headers={"Authorization": bob.basic()})
    check(status == 200, "basic auth with USER:TOKEN: %d" % status)
    status, _, _ = s.request("GET", "/api/v1/sessions/r1/messages", headers=ann.headers())
    check(status == 404, "a recording that is not there, signed in: %d" % status)
    # Without valid credentials, every viewer route answers the same 401.
    mismatched = viewers.Viewer("bob", ann.token)
    bad = [{}, {"Authorization": "Bearer " + "0" * 64}, {"Authorization": "Bearer " + ann.token[:-1]},
           {"Authorization": mismatched.basic()}, {"Authorization": "Basic !!"}, {"Authorization": "Token x"},
           {"Cookie": "tlog_session=" + ann.token}]
    first = None
    for method, path in routes:
        for h in bad:
            status, headers, body = s.request(method, path, headers=h)
            check(status == 401, "%s %s with %r: %d %r" % (method, path, h, status, body[:200]))
            check(headers.get("WWW-Authenticate", "").startswith("Bearer realm="), "%s %s: no WWW-Authenticate" % (method, path))
            first = first or body
            check(body == first, "%s %s: a different 401 body %r (not %r)" % (method, path, body, first))
    # Listed, revoked; an expired token (its expiry set back in the
    # database) is refused as well.
    r = subprocess.run([TLOG_SERVER, "--database", s.db, "viewer-token", "list"], capture_output=True, text=True,
                       timeout=60)
    ids = {l.split()[1]: l.split()[0] for l in r.stdout.splitlines()[1:]}
    check(r.returncode == 0 and set(ids) >= {"ann", "bob"}, "viewer-token list: %r" % r.stdout)
    check(ann.token not in r.stdout and ann.token not in r.stderr, "list shows a token")
    db = sqlite3.connect(s.db)
    stored = [row[0] for row in db.execute("SELECT hash FROM viewer_tokens")]
    check(all(len(h) == 64 and h != ann.token and h != bob.token for h in stored), "tokens stored as they are")
    r = subprocess.run([TLOG_SERVER, "--database", s.db, "viewer-token", "revoke", ids["ann"]], capture_output=True,
                       text=True, timeout=60)
    check(r.returncode == 0, "revoke: %r" % r.stderr)
    status, _, _ = s.request("GET", "/api/v1/sessions", headers=ann.headers())
    check(status == 401, "a revoked token: %d" % status)
    r = subprocess.run([TLOG_SERVER, "--database", s.db, "viewer-token", "revoke", ids["ann"]], capture_output=True,
                       text=True, timeout=60)
    check(r.returncode == 1, "revoking twice: %d" % r.returncode)
    with db:
        db.execute("UPDATE viewer_tokens SET expires_ms = 1 WHERE viewer = 'bob'")
    db.close()
    status, _, _ = s.request("GET", "/api/v1/sessions", headers=bob.headers())
    check(status == 401, "an expired token: %d" % status)
    for bad_args in (["issue"], ["issue", "a", "--expires", "0"], ["issue", "a:b"], ["revoke"], ["frob"]):
        r = subprocess.run([TLOG_SERVER, "--database", s.db, "viewer-token"] + bad_args, capture_output=True,
                           text=True, timeout=60)
        check(r.returncode == 2, "viewer-token %r: %d %r" % (bad_args, r.returncode, r.stderr))


def check_pam(s):
    # The right password: a session whose cookie reads.
    status, headers, body = s.login("ann", PASSWORDS["ann"])
    check(status == 200 and json.loads(body)["viewer"] == "ann", "ann's sign-in: %d %r %s" % (
        status, body, open(s.log).read()[-2000:]))
    ann_cookie = cookie_of(headers)
    status, _, body = s.request("GET", "/api/v1/sessions", headers={"Cookie": ann_cookie})
    check(status == 200, "reading with the session cookie: %d %r" % (status, body))
    db = sqlite3.connect(s.db)
    stored = [row[0] for row in db.execute("SELECT hash FROM viewer_sessions")]
    db.close()
    check(len(stored) == 1 and stored[0] != ann_cookie.split("=", 1)[1], "the session id stored as it is")
    # Logout ends it.
    status, headers, _ = s.request("POST", "/api/v1/logout", headers={"Cookie": ann_cookie,
                                                                      "Content-Type": "application/json"})
    check(status == 200 and "Max-Age=0" in headers.get("Set-Cookie", ""), "logout: %d" % status)
    status, _, _ = s.request("GET", "/api/v1/sessions", headers={"Cookie": ann_cookie})
    check(status == 401, "the cookie after logout: %d" % status)
    # Idle: unused longer than session_idle (3 s), it ends.
    status, headers, _ = s.login("ann", PASSWORDS["ann"])
    idle_cookie = cookie_of(headers)
    check(s.request("GET", "/api/v1/sessions", headers={"Cookie": idle_cookie})[0] == 200, "a fresh session")
    time.sleep(3.5)
    check(s.request("GET", "/api/v1/sessions", headers={"Cookie": idle_cookie})[0] == 401, "an idle session")
    # Age: used every half second, it still ends at session_max (6 s).
    status, headers, _ = s.login("ann", PASSWORDS["ann"])
    old_cookie = cookie_of(headers)
    started = time.monotonic()
    last = 200
    while time.monotonic() - started < 7.5 and last == 200:
        last = s.request("GET", "/api/v1/sessions", headers={"Cookie": old_cookie})[0]
        time.sleep(0.5)
    check(last == 401 and time.monotonic() - started >= 6, "a session past session_max: %d after %.1f s" % (
        last, time.monotonic() - started))
    # Wrong password, unknown user, locked account: 401, logged, no password.
    for user, pw in (("ann", "wrong horse"), ("nosuchuser", "x-secret-1"), ("locked", "x-secret-2")):
        status, headers, body = s.login(user, pw, source="127.0.0.5")
        check(status == 401 and "Set-Cookie" not in headers, "%s's wrong sign-in: %d" % (user, status))
    # Bad requests are no sign-in.
    for body in ("", "{}", '{"user":"ann"}', '{"user":"ann","password":"x","extra":1}', "[1]"):
        status, _, _ = s.request("POST", "/api/v1/login", body, {"Content-Type": "application/json"},
                                 source="127.0.0.6")
        check(status == 400, "login body %r: %d" % (body, status))
    # Another content type (a form another site could post): refused
    # before PAM is asked (doc/server.md, "Web console").
    status, _, _ = s.request("POST", "/api/v1/login", json.dumps({"user": "ann", "password": PASSWORDS["ann"]}),
                             {"Content-Type": "text/plain"}, source="127.0.0.6")
    check(status == 415, "a sign-in as text/plain: %d" % status)
    # bob fails login_max_failures (3) times from one address: bob is
    # locked out, from any address, even with his right password.
    for _ in range(3):
        check(s.login("bob", "not it", source="127.0.0.2")[0] == 401, "bob's wrong password")
    status, headers, body = s.login("bob", PASSWORDS["bob"], source="127.0.0.3")
    check(status == 429 and int(headers.get("Retry-After", "0")) > 0, "bob locked out: %d %r" % (status, headers))
    # ann from that other address is not.
    check(s.login("ann", PASSWORDS["ann"], source="127.0.0.3")[0] == 200, "ann from 127.0.0.3")
    # Three failures of other names from one address lock the address.
    for u in ("u1", "u2", "u3"):
        check(s.login(u, "guess", source="127.0.0.4")[0] == 401, "a guess")
    status, headers, _ = s.login("ann", PASSWORDS["ann"], source="127.0.0.4")
    check(status == 429 and int(headers.get("Retry-After", "0")) > 0, "127.0.0.4 locked out: %d" % status)
    log = s.log_lines()
    failed = [l for l in log if l.get("event") == "login_failed"]
    check({(l["user"], l["remote"]) for l in failed} >= {("ann", "127.0.0.5"), ("nosuchuser", "127.0.0.5"),
                                                         ("locked", "127.0.0.5"), ("bob", "127.0.0.2")},
          "failures logged: %r" % failed)
    check(all(l["reason"] for l in failed), "a failure logged without its reason")
    locks = {(l["user"], l["reason"]) for l in log if l.get("event") == "login_lockout"}
    check(("bob", "user") in locks and ("u3", "remote") in locks, "lockouts logged: %r" % locks)
    check(any(l.get("event") == "login_refused" and l["user"] == "bob" for l in log), "the 429 logged")
    text = open(s.log).read()
    for secret in list(PASSWORDS.values()) + ["wrong horse", "not it", "x-secret-1", "x-secret-2", "guess"]:
        check(secret not in text, "the log shows a password: %r" % secret)


def check_pam_timeout(d):
    with open("/etc/pam.d/tlog-server-hang", "w") as f:
        f.write("auth required pam_exec.so /bin/sleep 30\naccount required pam_permit.so\n")
    s = Server(d, "hang", {"pam_service": "tlog-server-hang", "pam_timeout": 2})
    try:
        started = time.monotonic()
        status, _, body = s.login("ann", PASSWORDS["ann"])
        took = time.monotonic() - started
        check(status == 503 and 1.5 <= took < 20, "a hung PAM module: %d %r after %.1f s" % (status, body, took))
        status, _, _ = s.request("GET", "/api/v1/health")
        check(status == 200, "the server after a hung sign-in: %d" % status)
        check(any(l.get("event") == "login_failed" and "time" in l["reason"] for l in s.log_lines()),
              "the timeout logged")
    finally:
        s.stop()


def check_service_account(d):
    """pam_unix under the server's own account: /etc/shadow unreadable,
    unix_chkpwd checks only the caller's password: refused; with the
    shadow group: accepted."""
    shadow_gid = int(sh("getent group shadow").split(":")[2])
    os.chown(d, SERVICE_UID, SERVICE_UID)
    for groups, want in (("", 401), (str(shadow_gid), 200)):
        s = Server(d, "svc%s" % groups, {}, as_service=True, groups=groups)
        try:
            status, _, body = s.login("ann", PASSWORDS["ann"])
            check(status == want, "pam_unix as uid %d, groups %r: %d %r (expected %d)" % (
                SERVICE_UID, groups, status, body, want))
        finally:
            s.stop()


def main():
    require_root_ns()
    d = os.environ["TMPDIR"]
    os.chmod(d, 0o755)
    add_users(d, [("ann", 2101, 2101, "/nonexistent", "/bin/sh"), ("bob", 2102, 2102, "/nonexistent", "/bin/sh"),
                  ("locked", 2103, 2103, "/nonexistent", "/bin/sh"),
                  ("tlogsrv", SERVICE_UID, SERVICE_UID, "/nonexistent", "/usr/sbin/nologin")], PASSWORDS)
    # As Debian ships it: root:shadow 0640.
    sh("chown root:shadow %s/shadow && chmod 0640 %s/shadow" % (d, d))
    private_pam(d)
    shutil.copy(os.path.join(SOURCE_ROOT, "examples/pam.d/tlog-server"), "/etc/pam.d/tlog-server")
    conf = {"session_idle": 3, "session_max": 6, "login_max_failures": 3, "login_window": 600}
    s = Server(d, "main", conf)
    try:
        check_tokens(s)
        check_pam(s)
    finally:
        s.stop()
    # A bad setting is named.
    bad = os.path.join(d, "bad.conf")
    with open(bad, "w") as f:
        f.write('{\n  "session_idle": "soon"\n}\n')
    r = subprocess.run([TLOG_SERVER, "--config", bad], capture_output=True, text=True, timeout=60)
    check(r.returncode == 1 and "session_idle" in r.stderr and ":2:" in r.stderr, "a bad session_idle: %r" % r.stderr)
    check_pam_timeout(d)
    check_service_account(d)
    print("ok")


if __name__ == "__main__":
    main()
