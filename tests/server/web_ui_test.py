"""tlog-server's web console in a real headless Chromium (DevTools protocol,
tests/tlogtest/browser.py), signing in through the real PAM stack (root, in
a private mount namespace: tests/recorder/run_ns.sh; users and PAM as
server-viewer-auth sets them up).
- Sign-in: a wrong password is shown as refused and leaves no cookie; the
  right one shows the viewer's name and only the tabs of their rights (a
  search-and-view viewer has no Holds, Retention or Access log; a manager
  has all); the cookie is HttpOnly (document.cookie empty).
- Sessions: the table lists exactly the recordings in the viewer's reach
  (another viewer with narrower rules sees fewer).
- Hostile recordings: a recorded user name, audit fields and recorded text
  holding <img onerror> and <script> payloads are shown literally, run
  nothing (window.__xss undefined) and the page reports no error.
- A legal hold set and cleared from the page; a retention dry run lists the
  recording due, a real run after the in-page confirmation purges it
  (checked over the API: holds, tombstones, search).
- Sign-out returns to the sign-in form and the old cookie then gets 401.
- Plain HTTP: GET / redirects, /ui/ files with their types and security
  headers, path traversal and hidden, linked or nested files refused, a
  missing ui_dir answered 404 saying so; GET /api/v1/me; a cookie POST
  with a form's content type refused (415).
Environment: TLOG_SERVER, SOURCE_ROOT."""
import json
import os
import shutil
import time

from tlogtest import server as servers
from tlogtest import viewer as viewers
from tlogtest.browser import Browser
from tlogtest.namespace import add_users, private_pam, require_root_ns
from tlogtest.terminal import check, fail

TLOG_SERVER = os.environ["TLOG_SERVER"]
SOURCE_ROOT = os.environ["SOURCE_ROOT"]
PASSWORDS = {"ann": "correct horse 1", "bob": "battery staple 2"}
RULES = """rules:
  - name: ann sees and does everything
    viewers: {users: [ann]}
    recordings: {users: all}
    rights: all
  - name: bob reads alice's sessions
    viewers: {users: [bob]}
    recordings: {users: [alice]}
    rights: [search, view]
"""
IMG = '<img src=x onerror="window.__xss=1">'
SCRIPT = "<script>window.__xss=1</script>"
NOW = time.time()
# rec -> (host, user, time of its messages)
RECS = {
    "r-alice": ("ws1", "alice", NOW - 60),
    "r-carol": ("db1", "carol", NOW - 60),
    "r-old": ("ws2", "dave", NOW - 20 * 86400),  # past the class's 10 days
    "r-xss": ("ws3" + IMG + SCRIPT, IMG + SCRIPT, NOW - 30),
}
XSS_HOST = RECS["r-xss"][0]


def msg(host, rec, ident, user, t, out):
    m = {"ver": "2.3", "host": host, "rec": rec, "user": user, "term": "xterm", "session": 7, "id": ident,
         "pos": (ident - 1) * 1000, "time": t + ident - 1, "timing": ">%d" % len(out), "in_txt": "", "in_bin": [],
         "out_txt": out, "out_bin": []}
    return json.dumps(m, separators=(",", ":"))


class Server:
    def __init__(self, d, name, ui_dir):
        self.db, self.log = os.path.join(d, name + ".sqlite"), os.path.join(d, name + ".log")
        conf = os.path.join(d, name + ".conf")
        with open(conf, "w") as f:
            json.dump({"database": self.db, "listen": "127.0.0.1:0", "plain_http": "loopback", "ui_dir": ui_dir,
                       "retention": {"routine": {"days": 10}}, "retention_default": "routine"}, f)
        cmd = [TLOG_SERVER, "--config", conf, "--access-rules", viewers.access_file(d, RULES)]
        self.p, self.port = servers.start(cmd, self.log)
        self.base = "http://127.0.0.1:%d" % self.port

    def request(self, method, path, body=None, headers=None):
        """(status, headers, body); `path` goes on the wire as it is."""
        return servers.request(self.port, method, path, body, headers)

    def api(self, token, method, path, body=None):
        """(status, parsed JSON or text) as a viewer with an API token."""
        h = {"Authorization": "Bearer " + token}
        if body is not None:
            h["Content-Type"] = "application/json"
            body = json.dumps(body)
        status, _, data = self.request(method, path, body, h)
        try:
            return status, json.loads(data)
        except ValueError:
            return status, data.decode()

    def stop(self):
        servers.stop(self.p)


def ingest(s, token):
    lines = []
    for rec, (host, user, t) in RECS.items():
        out = ("$ echo " + IMG + SCRIPT + "\r\n") if rec == "r-xss" else "$ ls\r\n"
        lines += [msg(host, rec, i, user, t, out) for i in (1, 2)]
    status, _, body = s.request("POST", "/api/v1/ingest", ("\n".join(lines) + "\n").encode())
    check(status == 200 and json.loads(body)["created"] == 2 * len(RECS), "ingest: %d %r" % (status, body))
    events = [{"serial": 1, "time": "2026-12-01T10:00:01.000Z", "host": XSS_HOST, "ses": 5, "type": "USER_CMD",
               "acct": IMG, "cmd": SCRIPT, "rec": "r-xss"}]
    body = "".join(json.dumps(e) + "\n" for e in events).encode()
    status, _, r = s.request("POST", "/api/v1/audit", body)
    check(status == 200 and json.loads(r)["created"] == 1, "audit ingest: %d %r" % (status, r))
    # The text index catches up in the background: wait for the page's
    # text search to have something to find.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        status, r = s.api(token, "GET", "/api/v1/sessions/r-xss/text?q=onerror")
        if status == 200 and r["hits"]:
            return
        time.sleep(0.2)
    fail("the recording r-xss was not indexed: %r" % (r,))


def check_http(s, d, ann_token):
    """The console's files over plain HTTP."""
    status, h, _ = s.request("GET", "/")
    check(status == 303 and h["Location"] == "/ui/", "GET /: %d %r" % (status, h.get("Location")))
    csp = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
           "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
    for path, ctype in (("/ui/", "text/html"), ("/ui/index.html", "text/html"), ("/ui/app.js", "text/javascript"),
                        ("/ui/app.css", "text/css")):
        status, h, body = s.request("GET", path)
        check(status == 200 and h["Content-Type"].startswith(ctype) and body, "%s: %d %r" % (path, status, h))
        check(h["Content-Security-Policy"] == csp and h["X-Content-Type-Options"] == "nosniff" and
              h["Referrer-Policy"] == "no-referrer" and h["X-Frame-Options"] == "DENY", "%s headers: %r" % (path, h))
        if "html" in ctype:
            check(h["Cache-Control"] == "no-store", "%s: Cache-Control %r" % (path, h["Cache-Control"]))
        # Public: the same answer with credentials.
        status2, _, body2 = s.request("GET", path, headers={"Authorization": "Bearer " + ann_token})
        check((status2, body2) == (status, body), "%s with a token differs" % path)
    check(s.request("GET", "/ui/app.js")[2] == open(os.path.join(SOURCE_ROOT, "server/ui/app.js"), "rb").read(),
          "app.js served is not the file")
    # Traversal, hidden, nested and linked files: all refused alike.
    for path in ("/ui/../x", "/ui/%2e%2e/x", "/ui/%2e%2e", "/ui/..%2fserver.conf", "/ui/.hidden", "/ui/%2ehidden",
                 "/ui/sub/x.js", "/ui/sub", "/ui/link.js", "/ui/nosuch.js", "/ui/app.js%00", "/ui//etc/passwd",
                 "/ui/..%5c..%5cx"):
        status, h, body = s.request("GET", path)
        check(status == 404 and b"secret" not in body and b"root:" not in body, "%s: %d %r" % (path, status, body))
    # A missing ui_dir: the server starts, says why, answers 404.
    missing = Server(d, "noui", os.path.join(d, "no-such-ui"))
    try:
        status, h, body = missing.request("GET", "/ui/")
        check(status == 404 and b"not installed" in body and b"no-such-ui" in body and
              h.get("Content-Security-Policy") == csp, "missing ui_dir: %d %r" % (status, body))
        check(missing.request("GET", "/api/v1/health")[0] == 200, "health without a console")
    finally:
        missing.stop()
    check("web console is not installed" in open(missing.log).read(), "the missing ui_dir not logged")


def check_me_and_csrf(s, ann_token, bob_token):
    status, r = s.api(ann_token, "GET", "/api/v1/me")
    check(status == 200 and r == {"viewer": "ann", "rights": ["search", "view", "export", "purge", "hold", "manage"],
                                  "via": "token"}, "ann's /me: %d %r" % (status, r))
    status, r = s.api(bob_token, "GET", "/api/v1/me")
    check(status == 200 and r == {"viewer": "bob", "rights": ["search", "view"], "via": "token"}, "bob's /me: %r" % r)
    check(s.request("GET", "/api/v1/me")[0] == 401, "/me without credentials")
    # A cookie session: /me says so; a POST with a form's type is refused
    # (another site's form could send it), JSON is taken.
    status, h, _ = s.request("POST", "/api/v1/login", json.dumps({"user": "ann", "password": PASSWORDS["ann"]}),
                             {"Content-Type": "application/json"})
    check(status == 200, "ann's sign-in over HTTP: %d" % status)
    cookie = h["Set-Cookie"].split(";", 1)[0]
    status, _, body = s.request("GET", "/api/v1/me", headers={"Cookie": cookie})
    check(status == 200 and json.loads(body)["via"] == "session", "/me with the cookie: %d %r" % (status, body))
    form = "rec=r-carol&reason=csrf"
    for ctype in ("application/x-www-form-urlencoded", "text/plain", "multipart/form-data; boundary=x", None):
        h = {"Cookie": cookie}
        if ctype:
            h["Content-Type"] = ctype
        sent = {"text/plain": json.dumps({"rec": "r-carol", "reason": "csrf"}),
                "multipart/form-data; boundary=x": '--x\r\nContent-Disposition: form-data; name="rec"\r\n\r\n'
                                                   'r-carol\r\n--x--\r\n'}.get(ctype, form)
        status, _, body = s.request("POST", "/api/v1/holds", sent, h)
        check(status == 415, "a cookie POST as %r: %d %r" % (ctype, status, body))
        status, _, _ = s.request("POST", "/api/v1/login", sent.replace("r-carol", "ann"),
                                 {"Content-Type": ctype} if ctype else {})
        check(status == 415, "a sign-in as %r: %d" % (ctype, status))
    status, holds = s.api(ann_token, "GET", "/api/v1/holds")
    check(status == 200 and holds["holds"] == [], "a refused POST set a hold: %r" % holds)
    status, _, _ = s.request("POST", "/api/v1/logout", "{}", {"Cookie": cookie, "Content-Type": "application/json"})
    check(status == 200, "logout: %d" % status)


def rows(b, selector):
    return b.evaluate("[...document.querySelectorAll(%s)].map(e => e.dataset.rec)" % json.dumps(selector))


def sign_in(b, s, user, password):
    b.navigate(s.base + "/ui/")
    b.wait_for("!document.getElementById('signin').hidden", what="the sign-in form")
    b.fill("#signin-user", user)
    b.fill("#signin-password", password)
    b.click("#signin-submit")


def tabs(b):
    return b.evaluate("[...document.querySelectorAll('#tabs button')].map(e => e.dataset.tab)")


def check_browser(s, d, ann_token):
    with Browser(d) as b:
        # A wrong password: refused on the page, no cookie.
        sign_in(b, s, "ann", "wrong horse")
        text = b.wait_for("(() => { const e = document.getElementById('signin-error'); "
                          "return !e.hidden && e.textContent; })()", what="the refusal")
        check("Sign-in failed" in text, "the refusal shown: %r" % text)
        check(b.cookies(s.base) == [] and b.evaluate("document.getElementById('app').hidden"),
              "a wrong password left a cookie or the console: %r" % b.cookies(s.base))
        # The right one: ann's name, every tab.
        sign_in(b, s, "ann", PASSWORDS["ann"])
        who = b.wait_for("!document.getElementById('who').hidden && document.getElementById('whoami').textContent",
                         what="ann signed in")
        check(who == "Signed in as ann", "whoami: %r" % who)
        check(tabs(b) == ["sessions", "holds", "retention", "access"], "ann's tabs: %r" % tabs(b))
        check(b.evaluate("document.cookie") == "", "document.cookie: %r" % b.evaluate("document.cookie"))
        cookies = b.cookies(s.base)
        check(len(cookies) == 1 and cookies[0]["name"] == "tlog_session" and cookies[0]["httpOnly"] and
              cookies[0]["sameSite"] == "Strict", "the session cookie: %r" % cookies)
        old_cookie = "tlog_session=" + cookies[0]["value"]
        # Sessions: every recording, the hostile user name as text.
        b.wait_for("document.querySelectorAll('#sessions-results tr[data-rec]').length == %d" % len(RECS),
                   what="ann's %d sessions" % len(RECS))
        check(sorted(rows(b, "#sessions-results tr[data-rec]")) == sorted(RECS), "ann's sessions: %r" % rows(
            b, "#sessions-results tr[data-rec]"))
        user_cell = b.evaluate("document.querySelector('tr[data-rec=\"r-xss\"] td:nth-child(2)').textContent")
        check(user_cell == IMG + SCRIPT, "the recorded user shown: %r" % user_cell)
        host_cell = b.evaluate("document.querySelector('tr[data-rec=\"r-xss\"] td:nth-child(1)').textContent")
        check(host_cell == XSS_HOST, "the host shown: %r" % host_cell)
        # The hostile recording: details, text, audit events, verify.
        b.click('tr[data-rec="r-xss"] button.open')
        b.wait_for("document.querySelector('#audit-result table') !== null", what="r-xss's audit events")
        details = b.evaluate("document.getElementById('rec-details').textContent")
        check(IMG + SCRIPT in details, "the details: %r" % details)
        audit = b.evaluate("document.getElementById('audit-result').textContent")
        check(IMG in audit and SCRIPT in audit, "the audit events shown: %r" % audit)
        b.fill("#text-form input[name=q]", "onerror")
        b.click("#text-form button")
        hit = b.wait_for("(() => { const t = document.querySelector('#text-result td.data'); "
                         "return t && t.textContent; })()", what="the text hit")
        check(IMG + SCRIPT in hit, "the text hit: %r" % hit)
        b.click("#verify")
        verdict = b.wait_for("(() => { const e = document.getElementById('verify-verdict'); "
                             "return e && e.textContent; })()", what="verify")
        check("2 messages" in verdict, "verify: %r" % verdict)
        href = b.evaluate("(() => { const u = new URL(document.querySelector('#export').href); "
                          "return [u.origin, u.pathname, [...u.searchParams]]; })()")
        check(href == [s.base, "/api/v1/sessions/r-xss/export", [["host", XSS_HOST]]], "the export link: %r" % href)
        check(b.evaluate("document.querySelectorAll('img, script:not([src])').length") == 0,
              "markup of the recording in the page")
        check(b.evaluate("typeof window.__xss") == "undefined", "a payload ran")
        b.pump()
        check(b.errors() == [], "the page reported errors: %r" % b.errors())

        # Holds: set one from the page, see it over the API, clear it.
        b.click('#tabs button[data-tab="holds"]')
        b.wait_for("document.getElementById('holds-result').textContent !== ''", what="the holds list")
        b.fill("#hold-form input[name=rec]", "r-carol")
        b.fill("#hold-form input[name=reason]", "case 7 " + SCRIPT)
        b.click("#hold-form button")
        b.wait_for("document.querySelectorAll('#holds-result tr[data-hold]').length == 1", what="the hold listed")
        status, holds = s.api(ann_token, "GET", "/api/v1/holds")
        check(status == 200 and [(h["rec"], h["reason"], h["set_by"]) for h in holds["holds"]] ==
              [("r-carol", "case 7 " + SCRIPT, "ann")], "the hold over the API: %r" % holds)
        b.fill("form.hold-clear input", "case closed")
        b.click("form.hold-clear button")
        b.wait_for("document.getElementById('holds-none') !== null", what="the hold cleared")
        status, holds = s.api(ann_token, "GET", "/api/v1/holds?all=true")
        check(status == 200 and len(holds["holds"]) == 1 and holds["holds"][0]["cleared_by"] == "ann" and
              holds["holds"][0]["clear_reason"] == "case closed", "the cleared hold: %r" % holds)

        # Retention: the dry run lists r-old only; the run waits for the
        # page's confirmation, then purges it.
        b.click('#tabs button[data-tab="retention"]')
        b.click("#retention-dry")
        b.wait_for("(document.getElementById('retention-summary') || {}).textContent", what="the dry run")
        purged = b.evaluate("[...document.querySelectorAll('#retention-result tr[data-rec]')]"
                            ".filter(r => r.cells[0].textContent.includes('purge')).map(r => r.dataset.rec)")
        check(purged == ["r-old"], "the dry run would purge %r" % purged)
        check(s.api(ann_token, "GET", "/api/v1/sessions/r-old/verify")[0] == 200, "r-old purged by a dry run")
        b.click("#retention-run")
        check(b.evaluate("!document.getElementById('retention-confirm').hidden"), "no confirmation asked")
        check(s.api(ann_token, "GET", "/api/v1/sessions/r-old/verify")[0] == 200, "purged before the confirmation")
        b.click("#retention-confirm-no")
        check(b.evaluate("document.getElementById('retention-confirm').hidden"), "cancel left the confirmation")
        b.click("#retention-run")
        b.click("#retention-confirm-yes")
        b.wait_for("document.querySelector('#tombstones tr[data-rec=\"r-old\"]') !== null", what="r-old's tombstone")
        status, body = s.api(ann_token, "GET", "/api/v1/retention/tombstones")
        tombs = [json.loads(l) for l in body.splitlines()] if isinstance(body, str) else [body]
        check(status == 200 and [(t["rec"], t["who"]) for t in tombs] == [("r-old", "ann")], "tombstones: %r" % tombs)
        status, r = s.api(ann_token, "GET", "/api/v1/sessions")
        check(sorted(x["rec"] for x in r["sessions"]) == sorted(set(RECS) - {"r-old"}), "after the run: %r" % r)

        # The access log tab lists ann's reads.
        b.click('#tabs button[data-tab="access"]')
        b.wait_for("document.querySelectorAll('#access-result tbody tr').length > 0", what="the access log")
        log = b.evaluate("document.getElementById('access-result').textContent")
        check("/api/v1/sessions/{rec}/audit" in log and "r-xss" in log, "the access log shown: %r" % log[:500])
        check(b.evaluate("typeof window.__xss") == "undefined" and b.errors() == [], "errors: %r" % b.errors())

        # Sign out: the form again, the old cookie refused.
        b.click("#signout")
        b.wait_for("!document.getElementById('signin').hidden && document.getElementById('app').hidden",
                   what="the sign-in form after signing out")
        status, _, _ = s.request("GET", "/api/v1/sessions", headers={"Cookie": old_cookie})
        check(status == 401, "the old cookie after signing out: %d" % status)
        check(b.cookies(s.base) == [], "a cookie left: %r" % b.cookies(s.base))
        # A reload stays signed out.
        b.navigate(s.base + "/ui/")
        b.wait_for("!document.getElementById('signin').hidden", what="signed out after a reload")

        # bob: search and view of alice's sessions only.
        sign_in(b, s, "bob", PASSWORDS["bob"])
        b.wait_for("document.getElementById('whoami').textContent == 'Signed in as bob'", what="bob signed in")
        check(tabs(b) == ["sessions"], "bob's tabs: %r" % tabs(b))
        b.wait_for("document.getElementById('sessions-count') !== null", what="bob's sessions")
        check(rows(b, "#sessions-results tr[data-rec]") == ["r-alice"], "bob's sessions: %r" % rows(
            b, "#sessions-results tr[data-rec]"))
        b.click('tr[data-rec="r-alice"] button.open')
        b.wait_for("document.getElementById('audit-result').textContent !== ''", what="r-alice opened")
        check(b.evaluate("document.getElementById('export') === null && "
                         "document.getElementById('hold-rec-form') === null"), "bob offered export or hold")
        check(b.errors() == [], "errors: %r" % b.errors())


def viewers_with_pam():
    """Root, in a private mount namespace (run_ns.sh): the viewers ann and
    bob with PASSWORDS, PAM's private stack with tlog-server's service as
    shipped; returns the test's directory. The console's tests share it."""
    require_root_ns()
    d = os.environ["TMPDIR"]
    os.chmod(d, 0o755)
    add_users(d, [("ann", 2101, 2101, "/nonexistent", "/bin/sh"), ("bob", 2102, 2102, "/nonexistent", "/bin/sh")],
              PASSWORDS)
    private_pam(d)
    shutil.copy(os.path.join(SOURCE_ROOT, "examples/pam.d/tlog-server"), "/etc/pam.d/tlog-server")
    return d


def main():
    d = viewers_with_pam()
    # The console as installed, beside what must never be served.
    ui = os.path.join(d, "ui")
    shutil.copytree(os.path.join(SOURCE_ROOT, "server/ui"), ui)
    for name in (".hidden", "secret.conf"):
        with open(os.path.join(d if name == "secret.conf" else ui, name), "w") as f:
            f.write("secret\n")
    os.mkdir(os.path.join(ui, "sub"))
    with open(os.path.join(ui, "sub", "x.js"), "w") as f:
        f.write("secret\n")
    os.symlink("/etc/passwd", os.path.join(ui, "link.js"))
    s = Server(d, "main", ui)
    try:
        ann_token = viewers.issue(TLOG_SERVER, s.db, "ann")
        bob_token = viewers.issue(TLOG_SERVER, s.db, "bob")
        ingest(s, ann_token)
        check_http(s, d, ann_token)
        check_me_and_csrf(s, ann_token, bob_token)
        check_browser(s, d, ann_token)
    except Exception:
        print(open(s.log).read()[-3000:])
        raise
    finally:
        s.stop()
    print("ok")


if __name__ == "__main__":
    main()
