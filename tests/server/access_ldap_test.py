"""tlog-server's access rules from LDAP (tlogViewerAccess entries under
cn=access,cn=sessionrecording) against a real directory, root, in a private
mount namespace (passwd and group copies: the recorded users' groups come
from NSS at ingest, as for the local file's rules).

usage: access_ldap_test.py slapd|389ds   (env: TLOG_SERVER, SOURCE_ROOT, BUILD_ROOT)

slapd: a real slapd with the FreeIPA-shaped tree (tlogtest.slapd.Dit):
- viewers by user DN, through a group, through a group nested in a
  tlogViewer group, through a cycle of groups (a user named as a group is
  no viewer); recordings by user, by user group (nested), both in one
  entry, by host, by host group (nested), all: each viewer's sessions
  search is exactly its reach; a recording outside it answers `messages`
  and `export` exactly as a server without it; `manage` from LDAP opens
  /metrics;
- a disabled entry gives nothing; malformed entries (unknown right, no
  host, no viewer) are skipped and named by DN in the log, the others work;
- the local file's rules and the directory's apply together;
- SIGHUP re-reads the directory (and the file: one with an error keeps
  the former rules); the refresh interval re-reads it without a signal;
- the directory stopped: the last good rules are kept ("failed", "kept"),
  past access_ldap_max_stale dropped ("dropped"; the local file's still
  work), back when slapd is back; started with the directory refusing or
  not answering: the server listens, the file's rules work, and reads
  the directory once it answers;
- `access show --json` (exit 2 with the directory down);
- ldap-schema/openldap-acl.ldif as shipped: bound as a host of the host
  group tlog-servers the server reads every entry; as another host it is told the access base is not visible (no rule);
- configuration errors name the file or key and stop the server.
389ds: a real 389-ds with the FreeIPA-form schema and the shipped ACIs,
bound as a host of tlog-servers: a user viewer, a nested group viewer, a
nested host group; bound as another host: "access base not visible", no rule."""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

from tlogtest import server as servers
from tlogtest import viewer as viewers
from tlogtest.dirsrv import Dirsrv
from tlogtest.namespace import add_users, require_root_ns
from tlogtest.slapd import Dit, Slapd, shipped_acl, suffixed
from tlogtest.terminal import check, fail

TLOG_SERVER = os.environ["TLOG_SERVER"]
SRC = os.environ["SOURCE_ROOT"]
GEN = os.environ["BUILD_ROOT"] + "/ldap-schema"
S = "dc=example,dc=com"
WAIT = 120  # seconds any awaited condition may take on a busy machine

# rec -> (host, recorded user)
RECS = {
    "r-alice-ws1": ("ws1.example.com", "alice"),
    "r-bob-nj": ("fs1.nj.example.com", "bob"),
    "r-carol-db": ("db1.nj.example.com", "carol"),
    "r-dave-ny": ("fs1.ny.example.com", "dave"),
    "r-erin-ws1": ("ws1.example.com", "erin"),
}
RECORDED = ["alice", "bob", "carol", "dave", "erin"]
ACCOUNTS = ["v-user", "v-grp", "v-nested", "v-loop", "v-host", "v-mixed", "v-all", "v-mgr", "v-disabled",
            "v-badright", "v-nohost", "v-union", "v-local", "v-none"]
# A viewer named as a tlogViewer group (no account): a group gives its
# members access, never a user who bears its name.
VIEWERS = ACCOUNTS + ["loop-b"]
# Groups, the same in the directory and in NSS (as SSSD shows a FreeIPA
# client): name -> (gid, member users, member groups). NSS lists only the
# direct members, so a nested group counts only if the server follows it.
GROUPS = {
    "rec-dba": (3200, ["carol"], []),
    "rec-ops": (3201, ["alice"], ["rec-dba"]),
    "viewers-a": (3202, ["v-grp"], []),
    "viewers-inner": (3203, ["v-nested"], []),
    "viewers-outer": (3204, [], ["viewers-inner"]),
    "loop-a": (3205, ["v-loop"], ["loop-b"]),  # a cycle: followed once, not forever
    "loop-b": (3206, [], ["loop-a"]),
}

LOCAL_RULES = """version: 1
rules:
  - name: local bob
    viewers: {users: [v-local]}
    recordings: {users: [bob]}
    rights: [search, view]
  - name: local workstations
    viewers: {users: [v-union]}
    recordings: {hosts: ["ws1*"]}
    rights: [search, view]
"""
BAD_LOCAL_RULES = LOCAL_RULES.replace("rights: [search, view]\n", "rights: [search, read]\n", 1)

ALL = set(RECS)
WS1 = {"r-alice-ws1", "r-erin-ws1"}
# What each viewer may search (and view) with every entry in force.
REACH = {
    "v-user": {"r-alice-ws1"},
    "v-grp": {"r-alice-ws1", "r-carol-db"},
    "v-nested": {"r-bob-nj", "r-carol-db"},
    "v-loop": {"r-erin-ws1"},
    "v-host": WS1,
    "v-mixed": {"r-dave-ny", "r-carol-db"},
    "v-all": ALL,
    "v-union": {"r-dave-ny"} | WS1,
    "v-local": {"r-bob-nj"},
}
EXPORT = {"v-all": ALL}
# The entries from the directory in force (enabled, well-formed).
# The rules from the directory in force: one per enabled, well-formed
# entry, two for the entry whose memberUser names both a user and a group
# (alternatives, as in FreeIPA; a rule's lists must all match).
LOADED = 10


def reach(v):
    return REACH.get(v, set())


def build_dit(d):
    """The directory: users, nested groups, hosts, a nested host group and
    the access entries. Returns {short name: DN} of the access entries."""
    u = {n: d.user(n, 3000 + i, 3000 + i) for i, n in enumerate(RECORDED + ACCOUNTS)}
    g = {}
    for name in ("rec-dba", "rec-ops", "viewers-inner", "viewers-outer", "viewers-a"):  # members first
        gid, users, groups = GROUPS[name]
        g[name] = d.group(name, gid, [u[x] for x in users] + [g[x] for x in groups])
    g["loop-a"] = d.group("loop-a", GROUPS["loop-a"][0], [u["v-loop"], d.group_dn("loop-b")])
    g["loop-b"] = d.group("loop-b", GROUPS["loop-b"][0], [g["loop-a"]])
    h = {host: d.host(host) for host in sorted({host for host, _ in RECS.values()})}
    nj_db = d.hostgroup("nj-db", [h["db1.nj.example.com"]])
    nj = d.hostgroup("nj", [h["fs1.nj.example.com"], nj_db])
    # The recording server's own entry, in the host group the shipped ACL
    # lets read the access entries, and another host.
    d.hostgroup("tlog-servers", [d.host("rec.example.com", "recsecret")])
    d.host("other.example.com", "othersecret")
    everywhere = [("userCategory", "all"), ("hostCategory", "all")]
    e = {
        # play is view; rights are case-insensitive
        "by-user": d.access("by-user", [("ipaEnabledFlag", "TRUE"), ("tlogViewer", u["v-user"]),
                                        ("tlogAccessRight", "play"), ("tlogAccessRight", "search"),
                                        ("memberUser", u["alice"]), ("hostCategory", "all")]),
        "by-group": d.access("by-group", [("tlogViewer", g["viewers-a"]), ("tlogAccessRight", "search"),
                                          ("tlogAccessRight", "view"), ("memberUser", g["rec-ops"]),
                                          ("hostCategory", "all")]),
        "nested-viewers": d.access("nested-viewers", [("tlogViewer", g["viewers-outer"]),
                                                      ("tlogAccessRight", "SEARCH"), ("tlogAccessRight", "Play"),
                                                      ("userCategory", "all"), ("memberHost", nj)]),
        "loop": d.access("loop", [("tlogViewer", g["loop-b"]), ("tlogAccessRight", "search"),
                                  ("tlogAccessRight", "view"), ("memberUser", u["erin"]), ("hostCategory", "all")]),
        "mixed": d.access("mixed", [("tlogViewer", u["v-mixed"]), ("tlogAccessRight", "search"),
                                    ("tlogAccessRight", "view"), ("memberUser", u["dave"]),
                                    ("memberUser", g["rec-dba"]), ("memberHost", h["fs1.ny.example.com"]),
                                    ("memberHost", nj_db)]),
        "by-host": d.access("by-host", [("tlogViewer", u["v-host"]), ("tlogAccessRight", "search"),
                                        ("tlogAccessRight", "view"), ("userCategory", "all"),
                                        ("memberHost", h["ws1.example.com"])]),
        "all": d.access("all", [("tlogViewer", u["v-all"]), ("tlogAccessRight", "search"),
                                ("tlogAccessRight", "play"), ("tlogAccessRight", "export")] + everywhere),
        "manager": d.access("manager", [("tlogViewer", u["v-mgr"]), ("tlogAccessRight", "manage")] + everywhere),
        "union": d.access("union", [("tlogViewer", u["v-union"]), ("tlogAccessRight", "search"),
                                    ("tlogAccessRight", "view"), ("memberUser", u["dave"]),
                                    ("hostCategory", "all")]),
        "disabled": d.access("disabled", [("ipaEnabledFlag", "FALSE"), ("tlogViewer", u["v-disabled"]),
                                          ("tlogAccessRight", "search"), ("tlogAccessRight", "view")] + everywhere),
        "bad-right": d.access("bad-right", [("tlogViewer", u["v-badright"]), ("tlogAccessRight", "search"),
                                            ("tlogAccessRight", "frobnicate")] + everywhere),
        "no-host": d.access("no-host", [("tlogViewer", u["v-nohost"]), ("tlogAccessRight", "search"),
                                        ("tlogAccessRight", "view"), ("memberUser", u["alice"])]),
        "no-viewer": d.access("no-viewer", [("tlogAccessRight", "search"), ("tlogAccessRight", "view")] +
                              everywhere),
    }
    return e


def nss_users(d):
    """The recorded users and the viewers in the namespace's passwd and
    group, with the groups of GROUPS (direct members only)."""
    add_users(d, [(n, 3000 + i, 3000 + i, "/nonexistent", "/bin/sh") for i, n in enumerate(RECORDED + ACCOUNTS)])
    with open(os.path.join(d, "group"), "a") as f:  # bind-mounted over /etc/group
        for name, (gid, users, _) in GROUPS.items():
            f.write("%s:x:%d:%s\n" % (name, gid, ",".join(users)))
    r = subprocess.run(["id", "-Gn", "carol"], capture_output=True, text=True)
    check(r.stdout.split() == ["carol", "rec-dba"], "NSS does not see the test's groups: %r" % r.stdout)


def write(path, text, mode=0o644):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


def ldap_yaml(d, name, uri, extra=""):
    return write(os.path.join(d, name), "uri: %s\nbase: %s\ntimeout: 2\n%s" % (uri, S, extra))


def msg(host, rec, ident, user):
    m = {"ver": "2.3", "host": host, "rec": rec, "user": user, "term": "xterm", "session": 7, "id": ident,
         "pos": (ident - 1) * 1000, "time": 1796000000.0 + ident, "timing": ">1", "in_txt": "", "in_bin": [],
         "out_txt": "x", "out_bin": []}
    return json.dumps(m, separators=(",", ":"))


class Server:
    """tlog-server with `conf` (a dict) written to NAME.conf, its stderr
    (the JSON log lines) in NAME.log, tokens for every viewer."""

    def __init__(self, d, name, conf):
        self.name = name
        self.log = os.path.join(d, name + ".log")
        self.conf = write(os.path.join(d, name + ".conf"), json.dumps(conf))
        self.database = conf["database"]
        t0 = time.monotonic()
        self.p, self.port = servers.start([TLOG_SERVER, "--config", self.conf], self.log, WAIT, name)
        self.started_in = time.monotonic() - t0
        # The directory is read before the server listens: logged by now.
        self.at_start = self.events()
        self.tokens = {v: viewers.issue(TLOG_SERVER, self.database, v) for v in VIEWERS}

    def log_text(self):
        with open(self.log, errors="replace") as f:
            return f.read()

    def events(self, event="access_ldap", result=None):
        out = []
        for line in self.log_text().splitlines():
            try:
                e = json.loads(line)
            except ValueError:
                continue
            if isinstance(e, dict) and e.get("event") == event and (result is None or e.get("result") == result):
                out.append(e)
        return out

    def wait_event(self, after, event="access_ldap", result=None, timeout=WAIT):
        """The first `event` line (of `result`, if given) past the first
        `after` lines of that event; fails after `timeout` s."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            check(self.p.poll() is None, "%s exited: %s" % (self.name, self.log_text()[-3000:]))
            got = self.events(event)[after:]
            for e in got:
                if result is None or e.get("result") == result:
                    return e
            time.sleep(0.1)
        fail("%s: no %s %s line within %d s; log:\n%s" % (self.name, event, result or "", timeout,
                                                            self.log_text()[-3000:]))

    def reload(self):
        """SIGHUP; waits for both lines it gives: (the directory's, the
        file's)."""
        n, f = len(self.events()), len(self.events("access_reload"))
        self.p.send_signal(signal.SIGHUP)
        return self.wait_event(n), self.wait_event(f, "access_reload")

    def request(self, viewer, method, path, body=None):
        """(status, content type, body)."""
        status, headers, data = servers.request(self.port, method, path, body,
                                                token=self.tokens[viewer] if viewer else None, timeout=WAIT)
        return status, headers.get("Content-Type"), data

    def ingest(self):
        body = "".join(msg(h, rec, i, u) + "\n" for rec, (h, u) in RECS.items() for i in (1, 2, 3))
        status, _, r = self.request(None, "POST", "/api/v1/ingest", body.encode())
        check(status == 200 and json.loads(r)["created"] == 3 * len(RECS), "%s: ingest: %d %r" % (self.name, status, r))

    def recs(self, viewer):
        status, _, body = self.request(viewer, "GET", "/api/v1/sessions?limit=1000")
        check(status == 200, "%s: %s: sessions: %d %r" % (self.name, viewer, status, body))
        return {x["rec"] for x in json.loads(body)["sessions"]}

    def expect(self, viewer, want, when):
        got = self.recs(viewer)
        check(got == want, "%s, %s: %s searches %r, expected %r" % (self.name, when, viewer, sorted(got), sorted(want)))

    def stop(self):
        servers.stop(self.p)


def server_conf(d, name, ldap, refresh, max_stale, key=None):
    conf = {"database": os.path.join(d, name + ".sqlite"), "listen": "127.0.0.1:0", "plain_http": "loopback",
            "user_groups": True, "access_rules": os.path.join(d, "server-access.yaml"), "access_ldap": ldap,
            "access_ldap_refresh": refresh, "access_ldap_max_stale": max_stale}
    if key:
        conf.update(checkpoint_key=key, checkpoint_interval=1)
    return conf


def check_loaded(s, e, dns, uri):
    """The "loaded" line: the server, the count, each malformed entry named
    by its DN with the attribute at fault."""
    check(e.get("server", "").rstrip("/") == uri.rstrip("/") and e.get("rules") == LOADED,
          "%s: loaded line %r (expected %d rules from %s)" % (s.name, e, LOADED, uri))
    skipped = e.get("skipped")
    check(isinstance(skipped, list) and len(skipped) == 3, "%s: skipped %r (expected 3 entries)" % (s.name, skipped))

    def about(name):
        hits = [x for x in skipped if x.lower().startswith(dns[name].lower() + ":")]
        check(len(hits) == 1 and hits[0].endswith("entry skipped"), "%s: skipped %r: %s not named once" %
              (s.name, skipped, dns[name]))
        return hits[0]

    bad = about("bad-right")
    check("'tlogAccessRight'" in bad and "frobnicate" in bad, "the unknown right: %r" % bad)
    nohost = about("no-host")
    check("'memberHost'" in nohost or "'hostCategory'" in nohost, "no memberHost: %r" % nohost)
    check("'tlogViewer'" in about("no-viewer"), "no tlogViewer: %r" % skipped)


def check_reach(s, absent, when):
    """Case 1-3: searches exactly in reach; a recording outside answers
    messages and export as a missing one; /metrics only with manage."""
    for v in VIEWERS:
        s.expect(v, reach(v), when)
    for v in ("v-user", "v-grp", "v-nested", "v-loop", "v-mixed", "v-all", "v-union", "loop-b", "v-local",
              "v-disabled", "v-badright", "v-none"):
        for rec in RECS:
            for route, scope in (("messages", reach(v)), ("export", EXPORT.get(v, set()))):
                path = "/api/v1/sessions/%s/%s" % (rec, route)
                got = s.request(v, "GET", path)
                if rec in scope:
                    check(got[0] in (200, 409), "%s %s %s in reach: %r" % (s.name, v, path, got[:2]))
                else:
                    want = absent.request(v, "GET", path)
                    check(got == want and want[0] == 404,
                          "%s %s %s outside the reach: %r, a missing recording: %r" % (s.name, v, path, got, want))
    for v in VIEWERS:
        status, _, _ = s.request(v, "GET", "/metrics")
        check(status == (200 if v == "v-mgr" else 403), "%s %s: /metrics %d" % (s.name, v, status))


def access_show(conf):
    r = subprocess.run([TLOG_SERVER, "--config", conf, "access", "show", "--json"], capture_output=True, text=True,
                       timeout=WAIT)
    try:
        doc = json.loads(r.stdout)
    except ValueError:
        fail("access show --json printed no JSON (%d): %r %r" % (r.returncode, r.stdout, r.stderr))
    return r.returncode, doc, r.stderr


def check_show(conf, dns, uri, rules_file):
    """Case 7, the directory up."""
    rc, doc, err = access_show(conf)
    check(rc == 0, "access show: %d %s" % (rc, err))
    by_source = {r.get("source"): r for r in doc["rules"]}
    want = {"ldap:///" + dns[n] for n in ("by-user", "by-group", "nested-viewers", "loop", "mixed", "by-host",
                                          "all", "manager", "union")}
    ldap_sources = {x for x in by_source if x and x.startswith("ldap:///")}
    check({x.lower() for x in ldap_sources} == {x.lower() for x in want},
          "access show: LDAP rules %r, expected %r" % (sorted(ldap_sources), sorted(want)))
    check(sum(1 for r in doc["rules"] if r.get("source", "").startswith("ldap:///")) == LOADED,
          "access show: %d rules from the directory expected: %r" % (LOADED, doc["rules"]))
    # memberUser with a user and a group: two rules, each with the hosts
    # (a host and a nested host group's, flattened).
    mixed = sorted(({k: sorted(v) for k, v in r["recordings"].items()} for r in doc["rules"]
                    if r["source"].lower() == ("ldap:///" + dns["mixed"]).lower()), key=lambda x: sorted(x))
    hosts = ["db1.nj.example.com", "fs1.ny.example.com"]
    check(mixed == [{"groups": ["rec-dba"], "hosts": hosts}, {"hosts": hosts, "users": ["dave"]}],
          "access show: the entry mixed: %r" % mixed)
    files = [x for x in by_source if x and x.startswith(rules_file + ":")]
    check(len(files) == 2, "access show: the file's rules: %r" % list(by_source))
    user = [r for src, r in by_source.items() if src.lower() == ("ldap:///" + dns["by-user"]).lower()][0]
    check(user["viewers"].get("users") == ["v-user"] and user["recordings"].get("users") == ["alice"] and
          set(user["rights"]) == {"search", "view"} and user.get("name") == "by-user",
          "access show: the entry by-user: %r" % user)
    everything = [r for src, r in by_source.items() if src.lower() == ("ldap:///" + dns["all"]).lower()][0]
    check(everything["recordings"].get("users") == "all" and set(everything["rights"]) == {"search", "view", "export"},
          "access show: the entry all: %r" % everything)
    for name in ("bad-right", "no-host", "no-viewer"):
        check(any(x.lower().startswith(dns[name].lower() + ":") for x in doc["skipped"]),
              "access show: %s not among the skipped %r" % (dns[name], doc["skipped"]))
    check(doc["ldap"] is not None and doc["ldap"].get("server", "").rstrip("/") == uri.rstrip("/"),
          "access show: ldap %r" % doc["ldap"])


def check_show_down(conf, rules_file):
    rc, doc, err = access_show(conf)
    check(rc == 2, "access show with the directory down: exit %d (expected 2) %s" % (rc, err))
    sources = [r.get("source", "") for r in doc["rules"]]
    check(len(sources) == 2 and all(x.startswith(rules_file + ":") for x in sources),
          "access show with the directory down: rules from %r" % sources)
    check(doc["ldap"] is not None and doc["ldap"].get("error"), "access show: ldap %r" % doc["ldap"])


def check_bad_config(d, good_ldap):
    """A missing or malformed ldap.yaml, or a bad interval, stops the
    server with a message naming the file or key."""
    base = server_conf(d, "bad", good_ldap, 300, 86400)
    bad_yaml = write(os.path.join(d, "bad-ldap.yaml"), "uri: ldap://127.0.0.1:1/\nbase: %s\nfrobnicate: 1\n" % S)
    for what, change, named in (("a missing ldap.yaml", {"access_ldap": d + "/no-such-ldap.yaml"},
                                 [d + "/no-such-ldap.yaml"]),
                                ("an ldap.yaml with an unknown key", {"access_ldap": bad_yaml},
                                 [bad_yaml, "frobnicate"]),
                                ("access_ldap_refresh 0", {"access_ldap_refresh": 0}, ["access_ldap_refresh"]),
                                ("access_ldap_refresh 86401", {"access_ldap_refresh": 86401}, ["access_ldap_refresh"]),
                                ("access_ldap_max_stale -1", {"access_ldap_max_stale": -1},
                                 ["access_ldap_max_stale"])):
        conf = write(os.path.join(d, "bad.conf"), json.dumps(dict(base, **change)))
        err = os.path.join(d, "bad.err")
        with open(err, "wb") as ef:
            p = subprocess.Popen([TLOG_SERVER, "--config", conf], stdout=subprocess.PIPE, stderr=ef)
        line = p.stdout.readline().decode()  # "listening on ..." or the end: the server exited
        if line:
            p.kill()
        rc = p.wait(WAIT)
        p.stdout.close()
        text = open(err).read()
        check(not line and rc != 0 and all(x in text for x in named),
              "%s: exit %d, stdout %r, stderr %r (expected a refusal naming %s)" % (what, rc, line, text, named))


def host_bind(d, uri, name, secret):
    """An ldap.yaml binding as host NAME.example.com."""
    pw = write(os.path.join(d, name + ".pw"), secret + "\n", 0o600)
    return ldap_yaml(d, name + "-ldap.yaml", uri, "bind: {method: simple, dn: 'fqdn=%s.example.com,cn=computers,"
                     "cn=accounts,%s', password_file: %s}\n" % (name, S, pw))


def check_shipped_acl(d, dit, dns):
    """ldap-schema/openldap-acl.ldif as shipped, with a site's closing rules
    after it (as tests/ldap/schema_test.py): the server bound as a host of
    tlog-servers reads every entry; bound as another host, no rule."""
    slapd = Slapd(d, [GEN + "/freeipa-compat.ldif", GEN + "/tlog.ldif"], name="acl-slapd").start()
    servers = []
    try:
        slapd.modify(dit.ldif())
        shipped_acl(slapd, SRC, WAIT)
        rec = Server(d, "acl-rec", server_conf(d, "acl-rec", host_bind(d, slapd.uri, "rec", "recsecret"), 3600, 86400))
        servers.append(rec)
        check(len(rec.at_start) == 1, "acl-rec: %s" % rec.log_text()[-3000:])
        check_loaded(rec, rec.at_start[0], dns, slapd.uri)
        rec.ingest()
        for v in VIEWERS:
            rec.expect(v, reach(v), "the shipped ACL, bound as a host of tlog-servers")
        other = Server(d, "acl-other", server_conf(d, "acl-other", host_bind(d, slapd.uri, "other", "othersecret"),
                                                   3600, 86400))
        servers.append(other)
        # Another host does not see the access container: the server says
        # so (not "no entry"), and no directory rule is in force.
        first = other.at_start[0] if len(other.at_start) == 1 else {}
        check(first.get("result") == "failed" and "access base" in first.get("error", "") and
              "not visible" in first.get("error", ""), "the shipped ACL, bound as another host: %r" % other.at_start)
        other.ingest()
        for v in VIEWERS:
            other.expect(v, {"v-local": {"r-bob-nj"}, "v-union": WS1}.get(v, set()), "the shipped ACL, another host")
        print("ok: the shipped OpenLDAP ACL; another host's bind: %s" % json.dumps(first))
    finally:
        for x in servers:
            x.stop()
        slapd.stop()


def case_slapd(d):
    nss_users(d)
    dit = Dit(S)
    dns = build_dit(dit)
    slapd = Slapd(d, [GEN + "/freeipa-compat.ldif", GEN + "/tlog.ldif"]).start()
    servers = []
    try:
        slapd.modify(dit.ldif())
        rules_file = write(os.path.join(d, "server-access.yaml"), LOCAL_RULES)
        ldap = ldap_yaml(d, "ldap.yaml", slapd.uri)
        check_bad_config(d, ldap)
        key = os.path.join(d, "checkpoint.key")
        subprocess.run([TLOG_SERVER, "keygen", "--out", key], check=True, capture_output=True, timeout=WAIT)
        # M re-reads only on SIGHUP (an hour's refresh); E: the same rules, no
        # recording; R: a 2 s refresh, the rules dropped 8 s after the last good
        # read (the first failed read comes within 2 s, give or take a second).
        m = Server(d, "main", server_conf(d, "main", ldap, 3600, 86400, key))
        servers.append(m)
        e = Server(d, "empty", server_conf(d, "empty", ldap, 3600, 86400, key))
        servers.append(e)
        r = Server(d, "refresh", server_conf(d, "refresh", ldap, 2, 8))
        servers.append(r)
        for s in (m, e, r):
            check(len(s.at_start) == 1 and s.at_start[0].get("result") == "loaded",
                  "%s: one loaded line before listening expected: %s" % (s.name, s.log_text()[-3000:]))
            check_loaded(s, s.at_start[0], dns, slapd.uri)
        m.ingest()
        r.ingest()
        # Cases 1 to 3.
        check_reach(m, e, "at start")
        # Case 7.
        check_show(m.conf, dns, slapd.uri, rules_file)

        # Case 4: the entry by-user deleted; M sees it after SIGHUP only, R
        # at its next refresh. Then added back: R without a signal.
        m.expect("v-user", {"r-alice-ws1"}, "before the change")
        # A periodic read logs "loaded" only when the rules changed: the
        # next such line after a change is the change.
        r_loaded = len(r.events(result="loaded"))
        slapd.modify("dn: %s\nchangetype: delete\n" % dns["by-user"], add=False)
        got, _ = m.reload()
        check(got["result"] == "loaded" and got["rules"] == LOADED - 1, "main: after SIGHUP: %r" % got)
        m.expect("v-user", set(), "by-user deleted, SIGHUP")
        m.expect("v-grp", reach("v-grp"), "by-user deleted, SIGHUP")
        got = r.wait_event(r_loaded, result="loaded")
        check(got["rules"] == LOADED - 1, "refresh: after the delete: %r" % got)
        r.expect("v-user", set(), "by-user deleted, refreshed")
        r_loaded = len(r.events(result="loaded"))
        slapd.modify([x for x in dit.entries if x.startswith("dn: %s\n" % dns["by-user"])][0])
        got = r.wait_event(r_loaded, result="loaded")
        check(got["rules"] == LOADED, "refresh: the entry added back: %r" % got)
        r.expect("v-user", {"r-alice-ws1"}, "by-user added back, refreshed without SIGHUP")
        m.expect("v-user", set(), "by-user added back, no SIGHUP (refresh 3600 s)")
        got, _ = m.reload()
        check(got["result"] == "loaded" and got["rules"] == LOADED, "main: after SIGHUP: %r" % got)
        m.expect("v-user", {"r-alice-ws1"}, "by-user added back, SIGHUP")

        # SIGHUP also re-reads the file; one with an error keeps the former rules.
        write(rules_file, BAD_LOCAL_RULES)
        _, got = m.reload()
        check(got["result"] == "kept the former rules" and rules_file in got.get("error", ""),
              "main: a bad file on SIGHUP: %r" % got)
        m.expect("v-local", {"r-bob-nj"}, "a bad file on SIGHUP")
        m.expect("v-user", {"r-alice-ws1"}, "a bad file on SIGHUP")
        write(rules_file, LOCAL_RULES.replace("users: [bob]", "users: [bob, dave]"))
        _, got = m.reload()
        check(got["result"] == "loaded", "main: the file fixed, SIGHUP: %r" % got)
        m.expect("v-local", {"r-bob-nj", "r-dave-ny"}, "the file changed, SIGHUP")
        write(rules_file, LOCAL_RULES)
        check(m.reload()[1]["result"] == "loaded", "the file put back")
        m.expect("v-local", {"r-bob-nj"}, "the file put back, SIGHUP")

        # Case 5: slapd stopped. M keeps the last good rules; R drops them
        # past max_stale (8 s), keeps the file's, and takes them back.
        dropped_before = len(r.events(result="dropped"))
        r_before = len(r.events())
        slapd.stop()
        got, _ = m.reload()
        check(got["result"] == "failed" and got.get("kept") == LOADED and got.get("error"),
              "main: slapd stopped, SIGHUP: %r" % got)
        for v in ("v-user", "v-grp", "v-nested", "v-local", "v-union"):
            m.expect(v, reach(v), "slapd stopped, the last good rules kept")
        got = r.wait_event(r_before)
        check(got["result"] == "failed" and got.get("kept") == LOADED,
              "refresh: the first failure keeps the rules: %r" % got)
        got = r.wait_event(dropped_before, result="dropped")
        check(isinstance(got.get("stale_s"), (int, float)) and got["stale_s"] >= 8 and got.get("error"),
              "refresh: dropped %r" % got)
        for v in ("v-user", "v-grp", "v-nested", "v-all"):
            r.expect(v, set(), "past max_stale")
        r.expect("v-local", {"r-bob-nj"}, "past max_stale")
        r.expect("v-union", WS1, "past max_stale (the file's rule only)")
        status, _, _ = r.request("v-mgr", "GET", "/metrics")
        check(status == 403, "refresh: manage from LDAP past max_stale: /metrics %d" % status)
        n = len(r.events())
        slapd.start()
        r.wait_event(n, result="loaded")
        for v in VIEWERS:
            r.expect(v, reach(v), "slapd back")

        # Case 6: the server started with the directory refusing (a 2 s
        # refresh: it reads the directory once slapd is back), then not answering.
        slapd.stop()
        check_show_down(m.conf, rules_file)
        with socket.socket() as mute:  # accepts connections (the backlog), never answers
            mute.bind(("127.0.0.1", 0))
            mute.listen(16)
            for label, uri in (("refused", slapd.uri), ("mute", "ldap://127.0.0.1:%d/" % mute.getsockname()[1])):
                conf = server_conf(d, "down-" + label, ldap_yaml(d, label + "-ldap.yaml", uri),
                                   2 if label == "refused" else 3600, 86400)
                down = Server(d, "down-" + label, conf)
                servers.append(down)
                took = down.started_in
                failed = down.at_start
                check(len(failed) == 1 and failed[0].get("result") == "failed" and failed[0].get("error") and
                      failed[0].get("kept", 0) == 0, "%s: before listening: %s" % (down.name, down.log_text()[-2000:]))
                # timeout 2 s per operation: connect, bind and a search or two
                check(took < 30, "%s: listening after %.1f s" % (down.name, took))
                down.ingest()
                for v in ("v-user", "v-grp", "v-all"):
                    down.expect(v, set(), "the directory %s at start" % label)
                down.expect("v-local", {"r-bob-nj"}, "the directory %s at start" % label)
                down.expect("v-union", WS1, "the directory %s at start" % label)
                if label == "refused":
                    n = len(down.events())
                    slapd.start()
                    down.wait_event(n, result="loaded")
                    for v in VIEWERS:
                        down.expect(v, reach(v), "the directory back after a start without it")
                    slapd.stop()
                down.stop()
                print("ok: started with the directory %s in %.1f s" % (label, took))
    finally:
        for s in servers:
            s.stop()
        slapd.stop()
    check_shipped_acl(d, dit, dns)
    print("ok: access rules from slapd")


def case_389ds(d):
    """A real 389-ds (FreeIPA's directory) with the FreeIPA-form schema and
    the ACIs of ldap-schema/freeipa/75-tlog-sessionrecording.update: the
    server binds as a host of the host group tlog-servers and reads the
    entries; bound as another host it reads none (the file's rules only)."""
    nss_users(d)
    ds = Dirsrv(d, S)
    servers = []
    with ds:
        ds.load_schema(GEN + "/59tlog-freeipa-compat.ldif")
        ds.load_schema(GEN + "/60tlog.ldif")
        dit = Dit(S)
        dit.entries = dit.entries[1:]  # dscreate made the suffix entry
        u = {n: dit.user(n, 3000 + i, 3000 + i) for i, n in enumerate(RECORDED + ACCOUNTS)}
        inner = dit.group("viewers-inner", 3203, [u["v-nested"]])
        outer = dit.group("viewers-outer", 3204, [inner])
        h = {host: dit.host(host) for host in sorted({host for host, _ in RECS.values()})}
        nj_db = dit.hostgroup("nj-db", [h["db1.nj.example.com"]])
        nj = dit.hostgroup("nj", [h["fs1.nj.example.com"], nj_db])
        dit.hostgroup("tlog-servers", [dit.host("rec.example.com", "recsecret")])
        dit.host("other.example.com", "othersecret")
        dit.access("by-user", [("ipaEnabledFlag", "TRUE"), ("tlogViewer", u["v-user"]), ("tlogAccessRight", "play"),
                               ("tlogAccessRight", "search"), ("memberUser", u["alice"]), ("hostCategory", "all")])
        dit.access("nested-viewers", [("ipaEnabledFlag", "TRUE"), ("tlogViewer", outer), ("tlogAccessRight", "search"),
                                      ("tlogAccessRight", "view"), ("userCategory", "all"), ("memberHost", nj)])
        dit.access("off", [("ipaEnabledFlag", "FALSE"), ("tlogViewer", u["v-all"]), ("tlogAccessRight", "search"),
                           ("userCategory", "all"), ("hostCategory", "all")])
        rc, out = ds.ldap("ldapadd", dit.ldif())
        check(rc == 0, "389-ds refused the tree: " + out)
        # The ACIs exactly as the ipa-ldap-updater file carries them, each on its entry.
        upd = suffixed(f"{SRC}/ldap-schema/freeipa/75-tlog-sessionrecording.update", S)
        acis = re.findall(r"(?m)^dn: (.*)\n(?:#.*\n)*add:aci:(.*)$", upd)
        check(any(dn.startswith("cn=access,") for dn, _ in acis), "no ACI on cn=access in the update file")
        # FreeIPA lets every bound identity read accounts' names and members
        # (its "System: Read ..." permissions); a bare 389-ds needs it said.
        acis.append((f"cn=accounts,{S}", '(targetattr = "objectClass || cn || uid || member || memberOf || fqdn || '
                     'gidNumber")(version 3.0; acl "test: bound identities read accounts, as in FreeIPA"; '
                     'allow (read, search, compare) userdn = "ldap:///all";)'))
        for dn, aci in acis:
            rc, out = ds.ldap("ldapmodify", f"dn: {dn}\nchangetype: modify\nadd: aci\naci: {aci}\n")
            check(rc == 0, f"389-ds refused the ACI on {dn}: " + out)
        write(os.path.join(d, "server-access.yaml"), LOCAL_RULES)

        try:
            s = Server(d, "ds", server_conf(d, "ds", host_bind(d, ds.uri, "rec", "recsecret"), 3600, 86400))
            servers.append(s)
            loaded = s.at_start
            check(len(loaded) == 1 and loaded[0].get("result") == "loaded" and loaded[0].get("rules") == 2 and
                  not loaded[0].get("skipped"), "389-ds: before listening %r; log: %s" % (loaded, s.log_text()[-3000:]))
            s.ingest()
            want = {"v-user": {"r-alice-ws1"}, "v-nested": {"r-bob-nj", "r-carol-db"}, "v-local": {"r-bob-nj"},
                    "v-union": WS1}
            for v in VIEWERS:
                s.expect(v, want.get(v, set()), "389-ds, bound as a tlog-servers host")
            o = Server(d, "ds-other", server_conf(d, "ds-other", host_bind(d, ds.uri, "other", "othersecret"), 3600,
                                                  86400))
            servers.append(o)
            # The access container is hidden from other hosts: the server
            # says so (not "no entry"), and no directory rule is in force.
            first = o.at_start[0] if len(o.at_start) == 1 else {}
            check(first.get("result") == "failed" and "access base" in first.get("error", "") and
                  "not visible" in first.get("error", ""), "389-ds bound as a host outside tlog-servers: %r" % o.at_start)
            o.ingest()
            for v in VIEWERS:
                o.expect(v, {"v-local": {"r-bob-nj"}, "v-union": WS1}.get(v, set()), "389-ds, bound as another host")
            print("ok: another host's bind: %s" % json.dumps(first))
        finally:
            for s in servers:
                s.stop()
    print("ok: access rules from 389-ds")


def main():
    require_root_ns()
    if len(sys.argv) != 2 or sys.argv[1] not in ("slapd", "389ds"):
        fail("usage: access_ldap_test.py slapd|389ds")
    d = os.environ["TMPDIR"]
    os.chmod(d, 0o755)
    {"slapd": case_slapd, "389ds": case_389ds}[sys.argv[1]](d)


if __name__ == "__main__":
    main()
