"""The sessions search over HTTP (suite integration; root, in a private
mount namespace through tests/recorder/run_ns.sh): a private /etc gives
NSS test users, a group and a netgroup; tlog-server with host groups in
its configuration receives tlog-audit's output for the audit corpus's
session (a failed authentication, then pam_tlog's start event), a
recording by our tlog-rec (ended), and hand-written recordings of
several users and hosts. The seed's two example queries are one request
each and return exactly the sessions they describe; the filters on the
audit trail's fields, states, groups (NSS at first sight), sorts with
cursor paging, the audit events search, and 400s naming the parameter;
configuration errors name the key. A recording's audit events include the
failed authentications its start event lists, marked, in both arrival
orders, reported missing until they arrive, never another host's.
Environment: TLOG_SERVER, TLOG_REC, TLOG_AUDIT_BIN, AUDIT_CORPUS."""
import grp
import json
import os
import pwd
import selectors
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request

from server_play_test import post, record
from tlogtest import viewer as viewers
from tlogtest.namespace import require_root_ns, sh
from tlogtest.terminal import check, fail

TLOG_SERVER = os.environ["TLOG_SERVER"]


def private_etc(T):
    """A copy of /etc mounted over it (inside this test's mount namespace
    only), with users, a group and a netgroup for the search."""
    sh("cp -a /etc %s/etc" % T)
    with open(T + "/etc/passwd", "a") as f:
        for name, uid in (("jdoe", 23001), ("ann", 23002), ("bob", 23003)):
            f.write("%s:x:%d:%d::/nonexistent:/bin/sh\n" % (name, uid, uid))
    with open(T + "/etc/group", "a") as f:
        for name, gid in (("jdoe", 23001), ("ann", 23002), ("bob", 23003)):
            f.write("%s:x:%d:\n" % (name, gid))
        f.write("nj-admins:x:24000:ann\n")
    with open(T + "/etc/netgroup", "w") as f:
        f.write("nj-ipa-fs (fs9.nj.example.com,,) (files2,,)\n")
    with open(T + "/etc/nsswitch.conf") as f:
        conf = [l for l in f if not l.startswith(("passwd:", "group:", "netgroup:"))]
    conf += ["passwd: files\n", "group: files\n", "netgroup: files\n"]
    with open(T + "/etc/nsswitch.conf", "w") as f:
        f.writelines(conf)
    sh("mount --bind %s/etc /etc" % T)


def start(d, conf_text, name="server"):
    conf = os.path.join(d, name + ".conf")
    with open(conf, "w") as f:
        f.write(conf_text)
    log = os.path.join(d, name + ".log")
    with open(log, "ab") as lf:
        p = subprocess.Popen([TLOG_SERVER, "--config", conf, "--plain-http", "--listen", "127.0.0.1:0", "--database",
                              os.path.join(d, name + ".sqlite")] + viewers.server_args(d), stdout=subprocess.PIPE, stderr=lf)
    sel = selectors.DefaultSelector()
    sel.register(p.stdout, selectors.EVENT_READ)
    if not sel.select(timeout=60):
        p.kill()
        fail("tlog-server did not start: %s" % open(log).read())
    line = p.stdout.readline().decode()
    if not line.startswith("listening on 127.0.0.1:"):
        p.kill()
        p.wait()
        return p, None, log
    base = "http://" + line.split()[-1]
    viewers.install(TLOG_SERVER, os.path.join(d, name + ".sqlite"), base)  # every urlopen below reads as it
    return p, base, log


def get(base, path, **params):
    url = base + path + ("?" + urllib.parse.urlencode(params) if params else "")
    try:
        with urllib.request.urlopen(url, timeout=60) as r:
            return r.status, r.read(), r.headers
    except urllib.error.HTTPError as e:
        return e.code, e.read(), e.headers


def sessions(base, **params):
    status, body, _ = get(base, "/api/v1/sessions", **params)
    check(status == 200, "sessions %r: %d %s" % (params, status, body[:300]))
    return json.loads(body)


def all_pages(base, **params):
    out, cursor = [], None
    while True:
        p = dict(params)
        if cursor:
            p["cursor"] = cursor
        page = sessions(base, **p)
        out += page["sessions"]
        cursor = page["next_cursor"]
        if cursor is None:
            return out


def msg(host, rec, ident, user, t, end=False):
    m = {"ver": "2.3", "host": host, "rec": rec, "user": user, "term": "xterm", "session": 7, "id": ident,
         "pos": (ident - 1) * 1000, "time": float(t + ident - 1), "timing": ">1", "in_txt": "", "in_bin": [],
         "out_txt": "x", "out_bin": []}
    if end:
        m["end"] = "exit"
    return json.dumps(m, separators=(",", ":"))


def ts(text):
    """2026-11-28T10:00:00Z as seconds."""
    import calendar
    import time
    return calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ"))


# (rec, host, user, start, messages): the weekend of 2026-11-28/29 and the
# week before it (Monday 2026-11-23 to Sunday 2026-11-29).
SESSIONS = [
    ("jd-fri", "ws1", "jdoe", "2026-11-27T23:00:00Z", 3),  # ends before the weekend: no
    ("jd-sat", "ws1", "jdoe", "2026-11-28T10:00:00Z", 3),
    ("jd-sun", "ws2", "jdoe", "2026-11-29T22:00:00Z", 2),
    ("jd-mon", "ws1", "jdoe", "2026-11-30T08:00:00Z", 2),  # after: no
    ("jd-late", "ws1", "jdoe", "2026-11-27T23:59:58Z", 4),  # runs into Saturday: overlaps
    ("ann-fs1", "fs1.nj.example.com", "ann", "2026-11-24T09:00:00Z", 2),
    ("ann-files1", "files1", "ann", "2026-11-25T09:00:00Z", 2),
    ("ann-fs9", "fs9.nj.example.com", "ann", "2026-11-26T09:00:00Z", 2),  # through the netgroup
    ("ann-files2", "files2", "ann", "2026-11-26T10:00:00Z", 2),  # through the netgroup
    ("ann-db1", "db1.nj.example.com", "ann", "2026-11-24T10:00:00Z", 2),  # not a file server
    ("ann-ny", "fs1.ny.example.com", "ann", "2026-11-24T11:00:00Z", 2),  # another datacenter
    ("ann-old", "fs1.nj.example.com", "ann", "2026-11-16T09:00:00Z", 2),  # the week before
    ("bob-fs1", "fs1.nj.example.com", "bob", "2026-11-24T12:00:00Z", 2),  # not an administrator
    ("ann-files10", "files10", "ann", "2026-11-25T12:00:00Z", 2),  # not "files1"
]


def main():
    require_root_ns()
    T = os.environ["TMPDIR"]
    private_etc(T)
    d = T
    # Configuration errors name the file, line and key; the server does not start.
    for text, key in (('{"host_groups": {"nj": "fs*"}}', "host_groups.nj"),
                      ('{"host_groups": {"nj": ["fs*", 3]}}', "host_groups.nj"),
                      ('{"host_groups": []}', "host_groups"),
                      ('{"user_groups": "yes"}', "user_groups"),
                      ('{"interrupted_after": -1}', "interrupted_after")):
        p, base, log = start(d, text, "bad")
        check(base is None and p.returncode == 1, "%s: started" % text)
        err = open(log).read()
        check(key in err and "bad.conf" in err, "%s: error does not name %s: %r" % (text, key, err))
        os.unlink(log)

    server, base, log = start(d, """{
        // The file servers of the New Jersey datacenter: globs, names, a netgroup.
        "host_groups": {"nj-fileservers": ["fs*.nj.example.com", "files1", "@nj-ipa-fs"],
                        "empty": []},
        "interrupted_after": 3600
    }""")
    check(base is not None, "server did not start: %s" % open(log).read())
    try:
        run(d, base, log)
    finally:
        server.terminate()
        server.wait(30)


def run(d, base, log):
    # tlog-audit's output for the corpus session: a failed password, then
    # pam_tlog's start event of rec 0badc0de-test on tlog-test-node (sshd,
    # from 192.0.2.7, audit session 1219).
    corpus = os.environ["AUDIT_CORPUS"]
    out = os.path.join(d, "audit.json")
    subprocess.run([os.environ["TLOG_AUDIT_BIN"], "-o", out, os.path.join(corpus, "session.log")], check=True,
                   timeout=120)
    with open(out, "rb") as f:
        events = f.read()
    parsed = [json.loads(l) for l in events.splitlines()]
    start_ev = [e for e in parsed if e.get("op") == "tlog-session-start"]
    check(len(start_ev) == 1 and start_ev[0].get("failed_auth_before"), "corpus start event: %r" % start_ev)
    status, r = post(base + "/api/v1/audit", events)
    check(status == 200 and r["failed"] == 0, "audit ingest: %d %r" % (status, r))

    body = []
    for rec, host, user, start, n in SESSIONS:
        for i in range(1, n + 1):
            body.append(msg(host, rec, i, user, ts(start)))
    t0 = ts("2026-12-04T21:00:00Z")
    body += [msg("tlog-test-node", "0badc0de-test", 1, "tlogtest", t0)]
    # A user NSS does not know: recorded without groups, logged once.
    body += [msg("ws1", "ghost-1", 1, "ghost", t0), msg("ws1", "ghost-2", 1, "ghost", t0)]
    status, r = post(base + "/api/v1/ingest", ("\n".join(body) + "\n").encode())
    check(status == 200 and r["failed"] == 0, "ingest: %d %r" % (status, r))
    status, r = post(base + "/api/v1/ingest", (msg("ws1", "ghost-3", 1, "ghost", t0) + "\n").encode())
    check(status == 200, "ingest: %d" % status)
    # A recording by our tlog-rec, ended: the recording user's groups.
    _, msgs, real_rec = record(d, "real", 40)
    status, r = post(base + "/api/v1/ingest", b"\n".join(msgs) + b"\n")
    check(status == 200, "tlog-rec's recording: %d %r" % (status, r))

    # "All sessions by John Doe this weekend": one request.
    got = sessions(base, user="jdoe", since="2026-11-28T00:00:00Z", until="2026-11-29T23:59:59Z")["sessions"]
    check([s["rec"] for s in got] == ["jd-late", "jd-sat", "jd-sun"], "John Doe's weekend: %r" % got)
    check(all(s["groups"] == ["jdoe"] for s in got), "jdoe's groups: %r" % got)
    # "Administrative sessions last week on the file servers of the New
    # Jersey datacenter": one request.
    got = sessions(base, group="nj-admins", host_group="nj-fileservers", since="2026-11-23T00:00:00Z",
                   until="2026-11-29T23:59:59Z", time="start")["sessions"]
    check(sorted(s["rec"] for s in got) == ["ann-files1", "ann-files2", "ann-fs1", "ann-fs9"],
          "NJ file servers' administrative sessions: %r" % [s["rec"] for s in got])
    check(all(s["groups"] == ["ann", "nj-admins"] for s in got), "ann's groups: %r" % got)

    # The audit trail's fields, and the filters on them.
    got = sessions(base, service="sshd", failed_auth="1")["sessions"]
    check([s["rec"] for s in got] == ["0badc0de-test"], "sshd after failed authentications: %r" % got)
    s = got[0]
    check((s["rhost"], s["tty"], s["ses"], s["failed_auth"]) == ("192.0.2.7", "ssh", 1219,
                                                                  len(start_ev[0]["failed_auth_before"])),
          "the start event's fields: %r" % s)
    check([x["rec"] for x in sessions(base, rhost="192.0.2.7", tty="ssh", ses="1219")["sessions"]] ==
          ["0badc0de-test"], "rhost/tty/ses")
    check(sessions(base, service="login")["sessions"] == [], "service=login")

    # States: tlog-rec's recording ended; the hand-written ones stopped
    # long ago without end (interrupted after an hour without a message).
    ended = sessions(base, state="ended")["sessions"]
    check([x["rec"] for x in ended] == [real_rec], "ended: %r" % ended)
    me = pwd.getpwuid(os.getuid()).pw_name
    want_groups = sorted({grp.getgrgid(g).gr_name for g in os.getgrouplist(me, pwd.getpwnam(me).pw_gid)})
    check(ended[0]["groups"] == want_groups, "%s's groups: %r, NSS says %r" % (me, ended[0]["groups"], want_groups))
    check(sessions(base, state="live")["sessions"] == [], "live sessions")
    interrupted = all_pages(base, state="interrupted", limit=5)
    check(len(interrupted) == len(SESSIONS) + 4, "interrupted: %d" % len(interrupted))

    # Every sort, both ways, paged by 3: each session once, in order.
    every = all_pages(base, limit=1000)
    check(len(every) == len(SESSIONS) + 5, "all: %d" % len(every))
    keys = {"start": lambda x: x["start_ms"], "end": lambda x: x["end_ms"],
            "duration": lambda x: x["duration_ms"], "bytes": lambda x: x["bytes"]}
    for name, key in keys.items():
        for desc in (False, True):
            want = sorted(every, key=lambda x: (key(x), x["host"], x["rec"]), reverse=desc)
            got = all_pages(base, sort=("-" if desc else "") + name, limit=3)
            check([(x["host"], x["rec"]) for x in got] == [(x["host"], x["rec"]) for x in want],
                  "sort=%s%s" % ("-" if desc else "", name))
    # A cursor of one sort is refused under another.
    cur = sessions(base, sort="bytes", limit=2)["next_cursor"]
    status, body, _ = get(base, "/api/v1/sessions", sort="end", cursor=cur)
    check(status == 400 and b"cursor" in body, "cursor under another sort: %d %s" % (status, body))

    # Bad requests name the parameter.
    for params, name in (({"host_group": "paris"}, "host_group"), ({"sort": "size"}, "sort"),
                         ({"state": "dead"}, "state"), ({"time": "both"}, "time"), ({"usr": "jdoe"}, "usr"),
                         ({"failed_auth": "yes"}, "failed_auth"), ({"since": "last week"}, "since"),
                         ({"ses": "-1"}, "ses"), ({"cursor": "zz"}, "cursor")):
        status, body, _ = get(base, "/api/v1/sessions", **params)
        check(status == 400 and name in json.loads(body)["error"], "%r: %d %s" % (params, status, body))
    check(sessions(base, host_group="empty")["sessions"] == [], "an empty host group matches nothing")
    # Values are data, never SQL or patterns: quotes, wildcards.
    for params in ({"user": "jdoe' OR '1'='1"}, {"user": "%"}, {"host": "fs*.nj.example.com"},
                   {"group": "nj-admins' --"}, {"service": "*"}):
        check(sessions(base, **params)["sessions"] == [], "%r matched sessions" % params)

    # The user NSS does not know: no groups, one log line for three sessions.
    ghosts = sessions(base, user="ghost")["sessions"]
    check(len(ghosts) == 3 and all(x["groups"] == [] for x in ghosts), "ghost: %r" % ghosts)
    text = open(log).read()
    check(text.count('groups of user "ghost"') == 1, "ghost's lookup failure logged %d times" %
          text.count('groups of user "ghost"'))

    # The audit events search: tlogtest's failed authentications, in time
    # order, as tlog-audit wrote them, paged by one.
    lines_by_key = {(e["serial"], e["type"]): l for e, l in zip(parsed, events.splitlines())}
    want = [lines_by_key[(e["serial"], e["type"])] for e in parsed
            if e.get("type") == "USER_AUTH" and e.get("acct") == "tlogtest"]
    check(want, "no USER_AUTH of tlogtest in the corpus")
    got, cursor = [], None
    while True:
        params = {"host": "tlog-test-node", "user": "tlogtest", "type": "USER_AUTH", "limit": 1}
        if cursor:
            params["cursor"] = cursor
        status, body, headers = get(base, "/api/v1/audit", **params)
        check(status == 200, "audit search: %d %s" % (status, body))
        got += body.splitlines()
        cursor = headers.get("Tlog-Next-Cursor")
        if not cursor:
            break
    check(got == want, "audit search: %r, want %r" % (got, want))
    status, body, _ = get(base, "/api/v1/audit", ses="1219", since="2026-12-04T00:00:00Z")
    check(status == 200 and len(body.splitlines()) == sum(1 for e in parsed if e.get("ses") == 1219),
          "audit by ses: %d" % len(body.splitlines()))
    status, body, _ = get(base, "/api/v1/audit", acct="tlogtest")
    check(status == 400 and b"acct" in body, "unknown audit parameter: %d %s" % (status, body))

    failures_before_session(base, parsed, events.splitlines(), start_ev[0])
    print("ok")


def trail(base, rec):
    """GET /api/v1/sessions/REC/audit, paged by one: its lines."""
    lines, cursor = [], None
    while True:
        params = {"limit": 1}
        if cursor:
            params["cursor"] = cursor
        status, body, headers = get(base, "/api/v1/sessions/%s/audit" % rec, **params)
        check(status == 200, "%s's audit events: %d %s" % (rec, status, body))
        lines += body.splitlines()
        cursor = headers.get("Tlog-Next-Cursor")
        if not cursor:
            return lines


def before_line(host, serial, time, raw):
    """The line of a failed authentication listed before the session: the
    event as stored, byte for byte, or null."""
    return (b'{"before_session":{"host":' + json.dumps(host).encode() + b',"serial":' + str(serial).encode() +
            b',"time":' + json.dumps(time).encode() + b',"event":' + (raw if raw is not None else b"null") + b"}}")


def failures_before_session(base, parsed, raw, start):
    """The failed authentications the start event lists are in the
    recording's audit events, in time order, marked, byte for byte; a
    listed one not stored is reported until it is; another host's event
    with the same serial and time is not joined; either arrival order."""
    # The corpus session (failures and start event posted together, the
    # recording after them). Its failure is in the login's audit session,
    # so the join by (host, ses) had it too: it comes once, marked.
    listed = [(f["serial"], f["time"]) for f in start["failed_auth_before"]]
    by_key = {(e["serial"], e["time"]): l for e, l in zip(parsed, raw) if e.get("type") == "USER_AUTH"}
    check(all(k in by_key for k in listed), "listed failures not in the corpus: %r" % listed)
    want = []
    for e, l in zip(parsed, raw):
        if (e["serial"], e["time"]) in listed and e.get("type") == "USER_AUTH":
            want.append(before_line("tlog-test-node", e["serial"], e["time"], l))
        elif e.get("rec") == "0badc0de-test" or (e.get("ses") == 1219 and "rec" not in e):
            want.append(l)
    got = trail(base, "0badc0de-test")
    check(got == want, "the corpus session's trail:\n%s\nwant\n%s" % (b"\n".join(got), b"\n".join(want)))

    # The same login on another host, its failure without an audit session
    # (sshd's before the login has one), delivered the other way round:
    # the recording, then the start event and the rest, the failure last.
    host, rec = "tlog-test-node-b", "0badc0de-late"
    copy = []
    for e in parsed:
        e = dict(e, host=host)
        if e.get("rec"):
            e["rec"] = rec
        if (e["serial"], e["time"]) in listed and e.get("type") == "USER_AUTH":
            e["ses"] = None
        copy.append((e, json.dumps(e, separators=(",", ":")).encode()))
    fails = [l for e, l in copy if (e["serial"], e["time"]) in listed and e.get("type") == "USER_AUTH"]
    rest = [l for e, l in copy if l not in fails]
    t0 = ts("2026-12-04T21:26:00Z")
    status, r = post(base + "/api/v1/ingest", (msg(host, rec, 1, "tlogtest", t0) + "\n").encode())
    check(status == 200 and r["failed"] == 0, "ingest: %d %r" % (status, r))
    status, r = post(base + "/api/v1/audit", b"\n".join(rest) + b"\n")
    check(status == 200 and r["failed"] == 0, "audit ingest: %d %r" % (status, r))
    joined = [l for e, l in copy if e.get("rec") == rec or (e.get("ses") == 1219 and "rec" not in e)]
    missing = [before_line(host, s, t, None) for s, t in listed]
    # The first host's events with the listed serials and times are stored:
    # another host's, not joined.
    got = trail(base, rec)
    check(got == missing + joined, "before the failure arrives:\n%s" % b"\n".join(got))
    status, r = post(base + "/api/v1/audit", b"\n".join(fails) + b"\n")
    check(status == 200 and r["created"] == len(fails), "failures: %d %r" % (status, r))
    got = trail(base, rec)
    want = [before_line(host, s, t, l) for (s, t), l in zip(listed, fails)] + joined
    check(got == want, "after the failure arrived:\n%s\nwant\n%s" % (b"\n".join(got), b"\n".join(want)))
    # The session keeps its count.
    s = sessions(base, host=host)["sessions"]
    check(len(s) == 1 and s[0]["failed_auth"] == len(listed), "%s's session: %r" % (host, s))


if __name__ == "__main__":
    try:
        main()
    except SystemExit:
        raise
    except Exception as e:  # noqa: BLE001 (reported as the test's failure)
        fail("%s: %s" % (type(e).__name__, e))
    sys.exit(0)
