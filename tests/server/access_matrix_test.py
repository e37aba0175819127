"""The access matrix: viewers (by user and by group) x recordings (by
recorded user, the users' groups, host patterns, host groups) x every route
of server/openapi.yaml that asks a viewer's right, on SQLite and on
PostgreSQL, with real NSS (root, private mount namespace: passwd and group
copies with the test's users and groups).
- The route list is read from openapi.yaml (x-tlog-permission; the test
  server_openapi keeps it equal to the server's route table): a route this
  test does not exercise fails it, so a new route cannot escape.
- Searches (sessions, audit events) return exactly the recordings in the
  viewer's scope (also with filters and paging).
- Each recording route answers a recording outside the viewer's rights
  exactly as a server whose database does not hold it answers (same
  status, content type and body): the viewer cannot tell.
- /metrics and the access log (manage) only to managers; the access log
  lists each viewer's searches with their hits, views and refusals.
- GET /api/v1/me (any signed-in viewer): each viewer's own rights, as the
  rules above give them.
- The public routes (x-tlog-permission none: health, sign-in, the web
  console) answer every viewer exactly as they answer no credentials.
Environment: TLOG_SERVER, SOURCE_ROOT."""
import fnmatch
import http.client
import json
import os
import subprocess
import urllib.parse

import yaml

from tlogtest import server as servers
from tlogtest import viewer as viewers
from tlogtest.namespace import add_users, require_root_ns
from tlogtest.postgres import Cluster
from tlogtest.terminal import check, fail

TLOG_SERVER = os.environ["TLOG_SERVER"]
SOURCE_ROOT = os.environ["SOURCE_ROOT"]

RULES = """version: 1
rules:
  - name: everything
    viewers: {groups: [auditors]}
    recordings: {users: all}
    rights: all
  - name: new jersey
    viewers: {users: [aud-nj]}
    recordings: {host_groups: [nj]}
    rights: [search, view]
  - name: operators' sessions
    viewers: {groups: [ops-viewers]}
    recordings: {groups: [ops]}
    rights: [search, view]
  - name: alice, search only
    viewers: {users: [aud-alice]}
    recordings: {users: [alice]}
    rights: [search]
  - name: workstations, view only
    viewers: {users: [aud-ws]}
    recordings: {hosts: ["ws*"]}
    rights: [view]
  - name: operators in new jersey
    viewers: {users: [aud-opsnj]}
    recordings: {groups: [ops], host_groups: [nj]}
    rights: [search, view]
  - name: manager
    viewers: {users: [aud-mgr]}
    recordings: {users: [nobody-recorded]}
    rights: [manage]
  - name: new jersey's evidence
    viewers: {users: [aud-exp]}
    recordings: {host_groups: [nj]}
    rights: [export, hold]
  - name: retention officer
    viewers: {users: [aud-purge]}
    recordings: {users: all}
    rights: [purge]
  - name: purge and hold in new jersey only
    viewers: {users: [aud-purgenj]}
    recordings: {host_groups: [nj]}
    rights: [purge, hold]
"""
CONF = {"host_groups": {"nj": ["*.nj.example.com"]}, "user_groups": True}

# rec -> (host, recorded user)
RECS = {
    "r-alice-ws1": ("ws1", "alice"),
    "r-bob-nj": ("fs1.nj.example.com", "bob"),
    "r-carol-nj": ("db1.nj.example.com", "carol"),
    "r-dave-ny": ("fs1.ny.example.com", "dave"),
}
OPS = {"alice", "carol"}  # members of the recorded users' group ops
VIEWER_GROUPS = {"aud-all": ["auditors"], "aud-ops": ["ops-viewers"]}
VIEWERS = ["aud-all", "aud-nj", "aud-ops", "aud-alice", "aud-ws", "aud-opsnj", "aud-none", "aud-mgr", "aud-exp",
           "aud-purge", "aud-purgenj"]


def expected(viewer, right):
    """The oracle: the recordings `viewer` may `right`, from the rules as
    written above (independent of the server's SQL)."""
    nj = {r for r, (h, _) in RECS.items() if fnmatch.fnmatchcase(h, "*.nj.example.com")}
    ops = {r for r, (_, u) in RECS.items() if u in OPS}
    table = {
        "aud-all": {"search": set(RECS), "view": set(RECS), "export": set(RECS), "hold": set(RECS),
                    "purge": set(RECS)},
        "aud-exp": {"export": nj, "hold": nj},
        "aud-purge": {"purge": set(RECS)},
        "aud-purgenj": {"purge": nj, "hold": nj},
        "aud-nj": {"search": nj, "view": nj},
        "aud-ops": {"search": ops, "view": ops},
        "aud-alice": {"search": {"r-alice-ws1"}, "view": set()},
        "aud-ws": {"search": set(), "view": {r for r, (h, _) in RECS.items() if fnmatch.fnmatchcase(h, "ws*")}},
        "aud-opsnj": {"search": ops & nj, "view": ops & nj},
    }
    return table.get(viewer, {}).get(right, set())


def msg(host, rec, ident, user):
    m = {"ver": "2.3", "host": host, "rec": rec, "user": user, "term": "xterm", "session": 7, "id": ident,
         "pos": (ident - 1) * 1000, "time": 1796000000.0 + ident, "timing": ">1", "in_txt": "", "in_bin": [],
         "out_txt": "x", "out_bin": []}
    return json.dumps(m, separators=(",", ":"))


def audit_event(serial, host, rec, user):
    e = {"serial": serial, "time": "2026-12-01T10:00:%02d.000Z" % serial, "host": host, "ses": 5, "type": "USER_CMD",
         "acct": user}
    if rec:
        e["rec"] = rec
    return json.dumps(e, separators=(",", ":"))


class Server:
    def __init__(self, d, name, database, key):
        self.log = os.path.join(d, name + ".log")
        conf = os.path.join(d, name + ".conf")
        with open(conf, "w") as f:
            json.dump(dict(CONF, database=database, listen="127.0.0.1:0", plain_http="loopback", checkpoint_key=key,
                           checkpoint_interval=1), f)
        rules = viewers.access_file(d, RULES)
        self.database = database
        self.p, self.port = servers.start([TLOG_SERVER, "--config", conf, "--access-rules", rules], self.log)
        self.tokens = {v: viewers.issue(TLOG_SERVER, database, v, config=conf) for v in VIEWERS}

    def request(self, viewer, method, path, body=None, stream=False, headers=None):
        """(status, content type, body); a stream's body is not read."""
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        try:
            headers = dict(headers or {})
            if viewer:
                headers["Authorization"] = "Bearer " + self.tokens[viewer]
            c.request(method, path, body=body, headers=headers)
            r = c.getresponse()
            data = b"" if stream and r.status == 200 else r.read()
            return r.status, r.headers.get("Content-Type"), data
        finally:
            c.close()

    def stop(self):
        servers.stop(self.p)


def ingest(s):
    body = "".join(msg(h, rec, i, u) + "\n" for rec, (h, u) in RECS.items() for i in (1, 2, 3))
    status, _, r = s.request(None, "POST", "/api/v1/ingest", body.encode())
    check(status == 200 and json.loads(r)["created"] == 3 * len(RECS), "ingest: %d %r" % (status, r))
    events = [audit_event(i + 1, h, rec, u) for i, (rec, (h, u)) in enumerate(sorted(RECS.items()))]
    events.append(audit_event(40, "ws1", None, "alice"))  # joined to no recording
    status, _, r = s.request(None, "POST", "/api/v1/audit", ("\n".join(events) + "\n").encode())
    check(status == 200 and json.loads(r)["created"] == len(events), "audit ingest: %d %r" % (status, r))


def session_recs(s, viewer, query=""):
    status, _, body = s.request(viewer, "GET", "/api/v1/sessions?limit=1000" + query)
    check(status == 200, "%s: sessions: %d %r" % (viewer, status, body))
    return {x["rec"] for x in json.loads(body)["sessions"]}


def check_sessions_search(s, _absent, v):
    want = expected(v, "search")
    check(session_recs(s, v) == want, "%s: sessions %r, expected %r" % (v, session_recs(s, v), want))
    # Paging one at a time: the same recordings, no cursor past them.
    seen, cursor = [], None
    for _ in range(len(RECS) + 2):
        status, _, body = s.request(v, "GET", "/api/v1/sessions?limit=1" + ("&cursor=" + cursor if cursor else ""))
        page = json.loads(body)
        seen += [x["rec"] for x in page["sessions"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    check(sorted(seen) == sorted(want), "%s: paging saw %r, expected %r" % (v, seen, want))
    # A filter narrows, never widens.
    for user in ("alice", "bob", "dave"):
        got = session_recs(s, v, "&user=" + user)
        check(got == {r for r in want if RECS[r][1] == user}, "%s: user=%s gave %r" % (v, user, got))
    got = session_recs(s, v, "&host_group=nj")
    check(got == {r for r in want if RECS[r][0].endswith(".nj.example.com")}, "%s: host_group=nj: %r" % (v, got))


def check_audit_search(s, _absent, v):
    status, _, body = s.request(v, "GET", "/api/v1/audit?limit=1000")
    check(status == 200, "%s: audit search: %d" % (v, status))
    got = {json.loads(l).get("rec", "") for l in body.splitlines()}
    want = set(expected(v, "search"))
    if v == "aud-all":
        want.add("")  # the event of no recording: only a viewer of everything
    check(got == want, "%s: audit events of %r, expected %r" % (v, got, want))


def per_recording(path_of, stream=False, right="view"):
    """A recording route: the recordings in the viewer's scope for `right`
    answer (2xx, or 409 not indexed yet, or not covered by a checkpoint
    yet); the others exactly as absent."""
    def run(s, absent, v):
        for rec in RECS:
            path = path_of(rec)
            got = s.request(v, "GET", path, stream=stream)
            if rec in expected(v, right):
                check(got[0] in (200, 409), "%s %s: %d %r" % (v, path, got[0], got[2][:200]))
                check(got[0] != 404, "%s %s: in scope but 404" % (v, path))
            else:
                want = absent.request(v, "GET", path, stream=stream)
                check(got == want, "%s %s outside the scope: %r, a missing recording: %r" % (v, path, got, want))
    return run


def check_es_search(prefix):
    def run(s, absent, v):
        for rec in RECS:
            path = prefix + "/_search?" + urllib.parse.urlencode({"q": "rec:" + rec, "sort": "id:asc"})
            got = s.request(v, "GET", path)
            if rec in expected(v, "view"):
                check(got[0] == 200 and json.loads(got[2])["hits"]["total"]["value"] == 3, "%s %s: %r" % (v, path, got))
            else:
                want = absent.request(v, "GET", path)
                check(got == want, "%s %s outside the scope: %r, missing: %r" % (v, path, got, want))
    return run


def check_metrics(s, _absent, v):
    status, _, _ = s.request(v, "GET", "/metrics")
    check(status == (200 if v in ("aud-all", "aud-mgr") else 403), "%s: /metrics %d" % (v, status))


def check_access_log_route(s, _absent, v):
    status, _, body = s.request(v, "GET", "/api/v1/access-log?limit=5")
    check(status == (200 if v in ("aud-all", "aud-mgr") else 403), "%s: /api/v1/access-log %d" % (v, status))
    if status == 200:
        check(len(json.loads(body)["entries"]) <= 5, "%s: access log page" % v)


def check_access_log(s):
    """What the matrix did, as the access log lists it to a manager."""
    def entries(query):
        out, cursor = [], None
        while True:
            status, _, body = s.request("aud-mgr", "GET", "/api/v1/access-log?limit=200&" + query +
                                        ("&cursor=" + cursor if cursor else ""))
            check(status == 200, "access log %s: %d %r" % (query, status, body))
            page = json.loads(body)
            out += page["entries"]
            cursor = page["next_cursor"]
            if cursor is None:
                return out
    nj = entries("viewer=aud-nj")
    check(nj and all(e["viewer"] == "aud-nj" and e["remote"] == "127.0.0.1" and e["time_ms"] > 0 for e in nj),
          "aud-nj's entries: %r" % nj[:3])
    searches = [e for e in nj if e["route"] == "/api/v1/sessions" and e["detail"]["query"] == {"limit": "1000"}]
    check(searches and {h["rec"] for h in searches[0]["detail"]["hits"]} == expected("aud-nj", "search"),
          "aud-nj's search and its hits: %r" % searches[:1])
    views = {(e["rec"], e["outcome"]) for e in nj if e["route"] == "/api/v1/sessions/{rec}/messages"}
    check(views == {(r, "ok" if r in expected("aud-nj", "view") else "refused") for r in RECS},
          "aud-nj's views: %r" % views)
    # Exports, holds and runs: refusals of what is outside the scope.
    exp = entries("viewer=aud-exp")
    exports = {(e["rec"], e["outcome"]) for e in exp if e["route"] == "/api/v1/sessions/{rec}/export"}
    check({r for r, o in exports if o == "refused"} == set(RECS) - expected("aud-exp", "export") and
          all(e["action"] == "export" for e in exp if e["route"] == "/api/v1/sessions/{rec}/export"),
          "aud-exp's exports: %r" % exports)
    holds = {(e["rec"], e["outcome"]) for e in exp if e["route"] == "/api/v1/holds" and e["rec"]}
    check(holds == {(r, "ok" if r in expected("aud-exp", "hold") else "refused") for r in RECS},
          "aud-exp's holds: %r" % holds)
    runs = [e for e in entries("viewer=aud-purgenj") if e["route"] == "/api/v1/retention/run"]
    check(runs and all(e["action"] == "purge" and e["outcome"] == "refused" for e in runs),
          "aud-purgenj's runs: %r" % runs)
    refused = [e for e in entries("viewer=aud-none") if e["route"] == "/metrics"]
    check(refused and all(e["outcome"] == "refused" for e in refused), "/metrics refusals: %r" % refused)
    # By recording: its views and the searches that listed it.
    by_rec = entries("rec=r-dave-ny")
    check(by_rec and all(e["rec"] == "r-dave-ny" or any(h["rec"] == "r-dave-ny" for h in e["detail"]["hits"])
                         for e in by_rec), "entries of r-dave-ny: %r" % by_rec[:3])
    check(any(e["action"] == "search" for e in by_rec) and any(e["action"] == "view" for e in by_rec),
          "r-dave-ny's searches and views")
    for bad in ("limit=0x", "frobnicate=1", "since=yesterday"):
        status, _, _ = s.request("aud-mgr", "GET", "/api/v1/access-log?" + bad)
        check(status == 400, "access log ?%s: %d" % (bad, status))


def hold_body(rec):
    return json.dumps({"rec": rec, "reason": "matrix"}).encode()


def check_holds_list(s, _absent, v):
    """Holds naming a recording in the viewer's hold scope; holds by user
    only to a viewer who may hold everything."""
    status, _, body = s.request("aud-all", "POST", "/api/v1/holds", json.dumps({"user": "dave", "reason": "m"}).encode())
    check(status == 201, "aud-all: a hold by user: %d %r" % (status, body))
    for rec in RECS:
        status, _, body = s.request("aud-all", "POST", "/api/v1/holds", hold_body(rec))
        check(status == 201, "aud-all: hold %s: %d %r" % (rec, status, body))
    status, _, body = s.request(v, "GET", "/api/v1/holds")
    check(status == 200, "%s: holds: %d %r" % (v, status, body))
    holds = json.loads(body)["holds"]
    want = expected(v, "hold")
    check({h["rec"] for h in holds if h["rec"]} == want, "%s: holds of %r, expected %r" % (v, holds, want))
    check(any(h["user"] == "dave" for h in holds) == (want == set(RECS)), "%s: holds by user: %r" % (v, holds))
    for h in holds:  # tidy: none left in force for the next viewer
        s.request("aud-all", "POST", "/api/v1/holds/%d/clear" % h["id"], b'{"reason": "matrix done"}')
    status, _, body = s.request("aud-all", "GET", "/api/v1/holds")
    for h in json.loads(body)["holds"]:
        s.request("aud-all", "POST", "/api/v1/holds/%d/clear" % h["id"], b'{"reason": "matrix done"}')


def check_hold_set(s, absent, v):
    for rec in RECS:
        got = s.request(v, "POST", "/api/v1/holds", hold_body(rec))
        if rec in expected(v, "hold"):
            check(got[0] == 201, "%s: hold %s: %r" % (v, rec, got))
            s.request("aud-all", "POST", "/api/v1/holds/%d/clear" % json.loads(got[2])["id"], b'{"reason": "m"}')
        else:
            want = absent.request(v, "POST", "/api/v1/holds", hold_body(rec))
            check(got == want, "%s: hold %s outside the scope: %r, a missing recording: %r" % (v, rec, got, want))
    got = s.request(v, "POST", "/api/v1/holds", json.dumps({"host": "ws1", "reason": "m"}).encode())
    if expected(v, "hold") == set(RECS):
        check(got[0] == 201, "%s: a hold by host: %r" % (v, got))
        s.request("aud-all", "POST", "/api/v1/holds/%d/clear" % json.loads(got[2])["id"], b'{"reason": "m"}')
    else:
        check(got[0] == 403 and b"all recordings" in got[2], "%s: a hold by host: %r" % (v, got))


def check_hold_clear(s, absent, v):
    for rec in RECS:
        status, _, body = s.request("aud-all", "POST", "/api/v1/holds", hold_body(rec))
        check(status == 201, "aud-all: hold %s: %d" % (rec, status))
        hid = json.loads(body)["id"]
        path = "/api/v1/holds/%d/clear" % hid
        got = s.request(v, "POST", path, b'{"reason": "matrix"}')
        if rec in expected(v, "hold"):
            check(got[0] == 200 and json.loads(got[2])["cleared"] == 1, "%s: clear %s: %r" % (v, rec, got))
        else:
            want = absent.request(v, "POST", path, b'{"reason": "matrix"}')
            check(got == want and got[0] == 404, "%s: clear a hold of %s: %r, one not in force: %r" % (v, rec, got, want))
            s.request("aud-all", "POST", path, b'{"reason": "matrix"}')


def check_retention_run(s, _absent, v):
    status, _, body = s.request(v, "POST", "/api/v1/retention/run", b'{"dry_run": true}')
    if expected(v, "purge") == set(RECS):
        check(status == 200 and json.loads(body)["dry_run"] is True, "%s: retention run: %d %r" % (v, status, body))
    else:
        check(status == 403 and b"purge right over all" in body, "%s: retention run: %d %r" % (v, status, body))


def check_tombstones(s, _absent, v):
    status, ctype, body = s.request(v, "GET", "/api/v1/retention/tombstones")
    if expected(v, "purge") == set(RECS):
        check(status == 200 and ctype == "application/x-ndjson" and body == b"", "%s: tombstones: %d %r" % (v, status, body))
    else:
        check(status == 403, "%s: tombstones: %d %r" % (v, status, body))


# The rights each viewer holds anywhere, from the rules as written above.
RIGHTS = {
    "aud-all": ["search", "view", "export", "purge", "hold", "manage"],
    "aud-nj": ["search", "view"], "aud-ops": ["search", "view"], "aud-alice": ["search"], "aud-ws": ["view"],
    "aud-opsnj": ["search", "view"], "aud-none": [], "aud-mgr": ["manage"], "aud-exp": ["export", "hold"],
    "aud-purge": ["purge"], "aud-purgenj": ["purge", "hold"],
}


def check_me(s, _absent, v):
    status, _, body = s.request(v, "GET", "/api/v1/me")
    check(status == 200 and json.loads(body) == {"viewer": v, "rights": RIGHTS[v], "via": "token"},
          "%s: /api/v1/me %d %r" % (v, status, body))


EXERCISE = {
    ("GET", "/api/v1/sessions"): check_sessions_search,
    ("GET", "/api/v1/audit"): check_audit_search,
    ("GET", "/api/v1/sessions/{rec}/messages"): per_recording(lambda r: "/api/v1/sessions/%s/messages" % r),
    ("GET", "/api/v1/sessions/{rec}/stream"): per_recording(lambda r: "/api/v1/sessions/%s/stream" % r, True),
    ("GET", "/api/v1/sessions/{rec}/audit"): per_recording(lambda r: "/api/v1/sessions/%s/audit" % r),
    ("GET", "/api/v1/sessions/{rec}/at"): per_recording(lambda r: "/api/v1/sessions/%s/at?t=0" % r),
    ("GET", "/api/v1/sessions/{rec}/frames"): per_recording(lambda r: "/api/v1/sessions/%s/frames?until=1000" % r),
    ("GET", "/api/v1/sessions/{rec}/text"): per_recording(lambda r: "/api/v1/sessions/%s/text?q=x" % r),
    ("GET", "/api/v1/sessions/{rec}/verify"): per_recording(lambda r: "/api/v1/sessions/%s/verify" % r),
    ("GET", "/_search"): check_es_search(""),
    ("GET", "/{index}/_search"): check_es_search("/tlog/tlog"),
    ("GET", "/metrics"): check_metrics,
    ("GET", "/api/v1/access-log"): check_access_log_route,
    ("GET", "/api/v1/sessions/{rec}/export"): per_recording(lambda r: "/api/v1/sessions/%s/export" % r,
                                                            right="export"),
    ("GET", "/api/v1/holds"): check_holds_list,
    ("POST", "/api/v1/holds"): check_hold_set,
    ("POST", "/api/v1/holds/{id}/clear"): check_hold_clear,
    ("POST", "/api/v1/retention/run"): check_retention_run,
    ("GET", "/api/v1/retention/tombstones"): check_tombstones,
    ("GET", "/api/v1/me"): check_me,
}

# The public routes: a request each, sent with every viewer's token and
# without; the answers must be the same.
PUBLIC = {
    ("GET", "/_cat/health"): ("/_cat/health", None),
    ("GET", "/api/v1/health"): ("/api/v1/health", None),
    ("POST", "/api/v1/login"): ("/api/v1/login", b"{}"),
    ("POST", "/api/v1/logout"): ("/api/v1/logout", b"{}"),
    ("GET", "/"): ("/", None),
    ("GET", "/ui/"): ("/ui/", None),
    ("GET", "/ui/{file}"): ("/ui/app.js", None),
}


def check_public(s, routes):
    missing = [r for r in routes if r not in PUBLIC]
    if missing:
        fail("public routes the access matrix does not exercise: %r (add them to PUBLIC)" % missing)
    for method, route in routes:
        path, body = PUBLIC[(method, route)]
        h = {"Content-Type": "application/json"}
        want = s.request(None, method, path, body, headers=h)
        check(want[0] not in (401, 403), "%s %s without credentials: %r" % (method, path, want))
        for v in VIEWERS:
            got = s.request(v, method, path, body, headers=h)
            check(got == want, "%s %s as %s: %r, without credentials: %r" % (method, path, v, got, want))


def viewer_routes(public=False):
    """The routes asking a viewer's right; `public`: those open to all."""
    with open(os.path.join(SOURCE_ROOT, "server/openapi.yaml")) as f:
        doc = yaml.safe_load(f)
    out = []
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            if not isinstance(op, dict) or "x-tlog-permission" not in op:
                continue
            perm = op["x-tlog-permission"]
            if (perm == "none") if public else perm not in ("none", "host"):
                out.append((method.upper(), path))
    return out


def matrix(d, label, database, empty_database):
    key = os.path.join(d, label + ".key")
    subprocess.run([TLOG_SERVER, "keygen", "--out", key], check=True, capture_output=True, timeout=60)
    s = Server(d, label, database, key)
    absent = Server(d, label + "-empty", empty_database, key)
    try:
        ingest(s)
        routes = viewer_routes()
        missing = [r for r in routes if r not in EXERCISE]
        if missing:
            fail("routes the access matrix does not exercise: %r (add them to EXERCISE)" % missing)
        check(len(routes) >= 10, "viewer routes read from openapi.yaml: %r" % routes)
        for route in routes:
            for v in VIEWERS:
                EXERCISE[route](s, absent, v)
        check_access_log(s)
        check_public(s, viewer_routes(public=True))
        # Without credentials: 401 everywhere, whatever the recording.
        for method, path in routes:
            status, _, _ = s.request(None, method, path.replace("{rec}", "r-bob-nj").replace("{index}", "tlog")
                                     .replace("{id}", "1"))
            check(status == 401, "%s %s without credentials: %d" % (method, path, status))
        print("ok: %s: %d viewers x %d recordings x %d routes" % (label, len(VIEWERS), len(RECS), len(routes)))
    finally:
        s.stop()
        absent.stop()


def check_rules_errors(d):
    """A bad rules file stops the server, naming file, line and key."""
    for text, where in (("rules:\n  - name: x\n    viewers: {users: [a]}\n    recordings: {users: all}\n"
                         "    rights: [read]\n", ":5:"),
                        ("rules:\n  - name: x\n    viewers: {users: []}\n    recordings: {users: all}\n"
                         "    rights: all\n", "viewers.users"),
                        ("rules:\n  - name: x\n    viewers: {users: [a]}\n    recordings: {host_groups: [nope]}\n"
                         "    rights: all\n", "host_groups"),
                        ("rules:\n  - name: x\n    viewers: {users: [a]}\n    recordings: {}\n    rights: all\n",
                         "recordings"),
                        ("rules:\n  - name: x\n    viewers: {users: [a, all]}\n    recordings: {users: all}\n"
                         "    rights: all\n", "viewers.users"),
                        ("rulez: []\n", "rulez")):
        path = viewers.access_file(d, text)
        r = subprocess.run([TLOG_SERVER, "--plain-http", "--listen", "127.0.0.1:0", "--database", os.path.join(d, "e.sqlite"),
                            "--access-rules", path], capture_output=True, text=True, timeout=60)
        check(r.returncode == 1 and path in r.stderr and where in r.stderr, "rules %r: %d %r" % (text, r.returncode,
                                                                                                r.stderr))


def check_example(d):
    """examples/tlog-server/server-access.yaml loads (with the host group
    it names in the server's configuration)."""
    conf = os.path.join(d, "example.conf")
    with open(conf, "w") as f:
        json.dump({"host_groups": {"nj-fileservers": ["fs*.nj.example.com"]}, "listen": "127.0.0.1:0",
                   "plain_http": "loopback", "database": os.path.join(d, "example.sqlite")}, f)
    example = os.path.join(SOURCE_ROOT, "examples/tlog-server/server-access.yaml")
    log = os.path.join(d, "example.log")
    with open(log, "wb") as lf:
        p = subprocess.Popen([TLOG_SERVER, "--config", conf, "--access-rules", example], stdout=subprocess.PIPE,
                             stderr=lf)
    line = p.stdout.readline().decode()
    p.terminate()
    p.wait(60)
    check(line.startswith("listening on"), "the example rules: %s" % open(log).read())
    check("fail closed" not in open(log).read(), "the example has no rule?")
    # Without host_groups in the configuration, its nj-fileservers is an error.
    r = subprocess.run([TLOG_SERVER, "--plain-http", "--listen", "127.0.0.1:0", "--database", os.path.join(d, "example.sqlite"),
                        "--access-rules", example], capture_output=True, text=True, timeout=60)
    check(r.returncode == 1 and "nj-fileservers" in r.stderr, "an unknown host group: %r" % r.stderr)


def main():
    require_root_ns()
    d = os.environ["TMPDIR"]
    os.chmod(d, 0o755)
    users = [(u, 3000 + i, 3000 + i, "/nonexistent", "/bin/sh")
             for i, u in enumerate(["alice", "bob", "carol", "dave"] + VIEWERS)]
    add_users(d, users)
    gid = {u: g for u, _, g, _, _ in users}
    with open(os.path.join(d, "group"), "a") as f:  # bind-mounted over /etc/group
        f.write("ops:x:3100:%s\n" % ",".join(sorted(OPS)))
        f.write("auditors:x:3101:aud-all\n")
        f.write("ops-viewers:x:3102:aud-ops\n")
    check(subprocess.run(["id", "-Gn", "aud-ops"], capture_output=True, text=True).stdout.split().count(
        "ops-viewers") == 1 and gid, "NSS does not see the test's groups")
    check_rules_errors(d)
    check_example(d)
    matrix(d, "sqlite", os.path.join(d, "m.sqlite"), os.path.join(d, "empty.sqlite"))
    with Cluster() as pg:
        pg.psql("CREATE DATABASE tlog")
        pg.psql("CREATE DATABASE empty")
        matrix(d, "postgres", pg.spec("tlog"), pg.spec("empty"))


if __name__ == "__main__":
    main()
