"""Retention classes from LDAP (retention_ldap: tlogRetentionPolicy entries
under cn=retention,cn=sessionrecording and the recording rules'
tlogRetentionClass) against a real directory, read by tlog-server bound as
an enrolled host: slapd with the shipped schema and OpenLDAP ACL, or
389-ds (FreeIPA's directory) with the FreeIPA-form schema and the ACIs of
ldap-schema/freeipa/75-tlog-sessionrecording.update:

- `retention show --json`: the directory's classes beside the file's, with
  their DNs; a class the file defines too keeps the file's; a class with
  no tlogRetentionDays is skipped and named; rules map to their classes,
  a disabled rule too (its recordings are still kept by its class);
- `retention run --now` past the short limit: a directory rule's recording
  purged, a class on legal hold (tlogRetentionHold) held, a rule naming a
  class configured nowhere kept ("class not configured", never the
  default), a long class kept, a recording without a rule by the file's
  default; the same from the API (POST /api/v1/retention/run, dry run);
- the class entry added to the directory later: the next run applies it;
- the directory stopped: the command exits 3 and the API answers 503, both saying
  nothing was decided or purged, and nothing is;
- a bad retention_ldap file stops the server and the command, named.

usage: retention_ldap_test.py slapd|389ds   (env: TLOG_SERVER, SOURCE_ROOT, BUILD_ROOT;
389ds: root, in a private mount namespace)"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

from tlogtest import server as servers
from tlogtest import viewer as viewers
from tlogtest.dirsrv import Dirsrv
from tlogtest.slapd import Dit, Slapd, shipped_acl, suffixed
from tlogtest.terminal import check, fail

TLOG_SERVER = os.environ["TLOG_SERVER"]
SRC = os.environ["SOURCE_ROOT"]
GEN = os.environ["BUILD_ROOT"] + "/ldap-schema"
S = "dc=example,dc=com"
WAIT = 120  # seconds any awaited condition may take on a busy machine
T0 = 1796000000  # the recordings' last message, seconds
DAY = 86400

# rec -> the rule its start event names ("" none)
RECS = {"rec-short": "r-short", "rec-frozen": "r-frozen", "rec-ghost": "r-ghost", "rec-legal": "r-legal",
        "rec-old": "r-old", "rec-none": "", "rec-filerule": "r-file"}


def write(path, text, mode=0o644):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


def build_dit(suffix_entry=True):
    dit = Dit(S)
    if not suffix_entry:
        dit.entries = dit.entries[1:]  # dscreate made it
    dit.host("rec.example.com", "hostsecret")
    container = "cn=retention,cn=sessionrecording," + S
    for name in ("retention", "access"):  # as ldap-schema/containers.ldif adds them
        dit.entries.append("dn: cn=%s,cn=sessionrecording,%s\nobjectClass: tlogContainer\ncn: %s\n" % (name, S, name))

    def cls(name, attrs):
        dit.entries.append("dn: cn=%s,%s\nobjectClass: tlogRetentionPolicy\ncn: %s\n" % (name, container, name) +
                           "".join("%s: %s\n" % kv for kv in attrs))
    cls("short", [("tlogRetentionDays", "1")])
    cls("frozen", [("tlogRetentionDays", "1"), ("tlogRetentionHold", "TRUE")])
    cls("legal", [("tlogRetentionDays", "3650"), ("description", "kept ten years")])
    cls("broken", [("description", "no days")])
    cls("routine", [("tlogRetentionDays", "1")])  # also in the file (30 days): the file's is used
    for rule, klass, extra in (("r-short", "short", []), ("r-frozen", "frozen", []), ("r-ghost", "ghost", []),
                               ("r-legal", "legal", []), ("r-old", "short", [("ipaEnabledFlag", "FALSE")])):
        dit.rule(rule, [("userCategory", "all"), ("hostCategory", "all"), ("tlogRetentionClass", klass)] + extra)
    return dit


class OpenLdap:
    """slapd with the shipped schema and OpenLDAP ACL."""

    def __init__(self, d):
        self.server = Slapd(d, [GEN + "/freeipa-compat.ldif", GEN + "/tlog.ldif"]).start()
        self.uri = self.server.uri
        try:
            self.server.modify(build_dit().ldif())
            shipped_acl(self.server, SRC, WAIT)
        except BaseException:
            self.server.stop()
            raise

    def add(self, ldif):
        self.server.modify(ldif)

    def stop(self):
        self.server.stop()


class Ds389:
    """389-ds with the FreeIPA-form schema and the update file's ACIs, each
    on its entry, as ipa-ldap-updater adds them."""

    def __init__(self, d):
        self.server = Dirsrv(d, S)
        self.server.start()
        self.uri = self.server.uri
        try:
            self._load()
        except BaseException:
            self.server.stop()
            raise

    def _load(self):
        self.server.load_schema(GEN + "/59tlog-freeipa-compat.ldif")
        self.server.load_schema(GEN + "/60tlog.ldif")
        self.add(build_dit(suffix_entry=False).ldif())
        upd = suffixed(SRC + "/ldap-schema/freeipa/75-tlog-sessionrecording.update", S)
        acis = re.findall(r"(?m)^dn: (.*)\n(?:#.*\n)*add:aci:(.*)$", upd)
        check(any("tlogRetentionPolicy" in aci for _, aci in acis), "no ACI for the retention classes")
        for dn, aci in acis:
            rc, out = self.server.ldap("ldapmodify", "dn: %s\nchangetype: modify\nadd: aci\naci: %s\n" % (dn, aci))
            check(rc == 0, "389-ds refused the ACI on %s: %s" % (dn, out))

    def add(self, ldif):
        rc, out = self.server.ldap("ldapadd", ldif)
        check(rc == 0, "389-ds refused: %s\n%s" % (out, ldif[:2000]))

    def stop(self):
        self.server.stop()


def msg(rec, ident):
    m = {"ver": "2.3", "host": "rec.example.com", "rec": rec, "user": "alice", "term": "xterm", "session": 7,
         "id": ident, "pos": (ident - 1) * 1000, "time": T0 - 2 + ident, "timing": ">1", "in_txt": "",
         "in_bin": [], "out_txt": "x", "out_bin": []}
    return json.dumps(m, separators=(",", ":"))


def start_event(rec, serial, rule):
    ev = {"serial": serial, "time": "2026-11-29T00:00:00.000Z", "host": "rec.example.com", "ses": 900 + serial,
          "rec": rec, "type": "USER_START", "op": "tlog-session-start", "acct": "alice"}
    if rule:
        ev["rule"] = rule
    return json.dumps(ev)


class Server:
    def __init__(self, d, conf):
        self.log = os.path.join(d, "server.log")
        self.p, self.port = servers.start([TLOG_SERVER, "--config", conf], self.log, WAIT)
        self.token = viewers.issue(TLOG_SERVER, json.load(open(conf))["database"], config=conf)

    def request(self, method, path, body=None, token=True):
        headers = {"Content-Type": "application/json" if path.startswith("/api/v1/retention")
                   else "application/x-ndjson"}
        status, _, data = servers.request(self.port, method, path, body, headers, self.token if token else None,
                                          timeout=WAIT)
        return status, data

    def events(self, name):
        with open(self.log, errors="replace") as f:
            return [e for e in (json.loads(x) for x in f if x.startswith("{")) if e.get("event") == name]

    def stop(self):
        servers.stop(self.p)


def cmd(conf, *args, expect=0):
    r = subprocess.run([TLOG_SERVER, "--config", conf, *args], capture_output=True, text=True, timeout=WAIT)
    check(r.returncode == expect, "tlog-server %s: exit %d, expected %d: %s %s" % (" ".join(args), r.returncode,
                                                                                expect, r.stdout, r.stderr))
    return r.stdout, r.stderr


def outcomes(report):
    return {i["rec"]: i["outcome"] for i in report["items"]}


def main():
    if len(sys.argv) != 2 or sys.argv[1] not in ("slapd", "389ds"):
        fail("usage: retention_ldap_test.py slapd|389ds")
    d = tempfile.mkdtemp(prefix="tlog-retention-ldap-test.")
    os.chmod(d, 0o755)
    directory = None
    server = None
    try:
        directory = {"slapd": OpenLdap, "389ds": Ds389}[sys.argv[1]](d)
        pw = write(os.path.join(d, "host.pw"), "hostsecret\n", 0o600)
        ldap = write(os.path.join(d, "ldap.yaml"),
                     "uri: %s\nbase: %s\ntimeout: 2\nbind: {method: simple, dn: 'fqdn=rec.example.com,"
                     "cn=computers,cn=accounts,%s', password_file: %s}\n" % (directory.uri, S, S, pw))
        db = os.path.join(d, "db.sqlite")
        conf = write(os.path.join(d, "server.conf"), json.dumps({
            "database": db, "listen": "127.0.0.1:0", "plain_http": "loopback",
            "access_rules": viewers.access_file(d), "retention_ldap": ldap,
            "retention": {"routine": {"days": 30}, "file-only": {"days": 7}},
            "retention_default": "routine", "retention_rules": {"r-file": "file-only"}}))

        # What a run goes by: the directory's classes with their DNs.
        out, err = cmd(conf, "retention", "show", "--json")
        show = json.loads(out)
        classes = {c["name"]: c for c in show["classes"]}
        check(set(classes) == {"routine", "file-only", "short", "frozen", "legal"}, "classes: %r" % show)
        check(classes["routine"]["days"] == 30 and classes["routine"]["source"] == conf,
              "the file's routine is used: %r" % classes["routine"])
        check(classes["frozen"]["hold"] and classes["frozen"]["source"] ==
              "ldap:///cn=frozen,cn=retention,cn=sessionrecording," + S, "frozen: %r" % classes["frozen"])
        check(classes["legal"]["days"] == 3650 and not classes["legal"]["hold"], "legal: %r" % classes["legal"])
        check(show["rules"] == {"r-short": "short", "r-frozen": "frozen", "r-ghost": "ghost", "r-legal": "legal",
                                "r-old": "short", "r-file": "file-only"}, "rules: %r" % show["rules"])
        check(show["default"] == "routine" and show["ldap"] == directory.uri, "show: %r" % show)
        notes = "\n".join(show["notes"])
        for want in ("cn=broken,cn=retention,cn=sessionrecording,%s: attribute 'tlogRetentionDays': missing" % S,
                     "class routine is also in the configuration file",
                     "rule r-ghost names class ghost, configured nowhere"):
            check(want in notes and want in err, "note %r missing: %r / %r" % (want, notes, err))
        out, _ = cmd(conf, "retention", "show")
        check("class frozen: 1 days, purge, on legal hold (ldap:///cn=frozen," in out and
              "rule r-ghost: class ghost (not configured: kept)" in out, "retention show: %r" % out)

        server = Server(d, conf)
        body = "".join(msg(rec, i) + "\n" for rec in RECS for i in (1, 2))
        status, r = server.request("POST", "/api/v1/ingest", body.encode(), token=False)
        check(status == 200, "ingest: %d %r" % (status, r))
        events = "".join(start_event(rec, n + 1, rule) + "\n" for n, (rec, rule) in enumerate(RECS.items()))
        status, r = server.request("POST", "/api/v1/audit", events.encode(), token=False)
        check(status == 200, "audit: %d %r" % (status, r))

        # The API's dry run reads the directory too (its clock is now: every
        # class's limit is past but legal's and routine's).
        status, r = server.request("POST", "/api/v1/retention/run", b'{"dry_run": true}')
        check(status == 200, "API dry run: %d %r" % (status, r))
        got = outcomes(json.loads(r))
        check(got.get("rec-short") == "would purge" and got.get("rec-frozen") == "held" and
              got.get("rec-ghost") == "class not configured" and "rec-legal" not in got, "API dry run: %r" % got)
        check(any(e.get("outcome") == "read" and e.get("server") == directory.uri for e in
                  server.events("retention_ldap")), "no retention_ldap event: %r" % server.events("retention_ldap"))

        # Two days past the last message: the one-day classes are past.
        now = str(T0 + 2 * DAY)
        out, _ = cmd(conf, "retention", "run", "--now", now, "--json")
        got = outcomes(json.loads(out))
        check(got == {"rec-short": "purged", "rec-old": "purged", "rec-frozen": "held",
                      "rec-ghost": "class not configured"}, "run: %r" % got)
        stones = {json.loads(x)["rec"]: json.loads(x) for x in cmd(conf, "retention", "tombstones", "--json")[0].split()}
        check(set(stones) == {"rec-short", "rec-old"} and stones["rec-short"]["class"] == "short",
              "tombstones: %r" % stones)

        # The class added to the directory: the next run applies it to the
        # recordings already decided as of it.
        directory.add("dn: cn=ghost,cn=retention,cn=sessionrecording,%s\nobjectClass: tlogRetentionPolicy\n"
                     "cn: ghost\ntlogRetentionDays: 1\n" % S)
        out, _ = cmd(conf, "retention", "run", "--now", now, "--json")
        got = outcomes(json.loads(out))
        check(got == {"rec-ghost": "purged", "rec-frozen": "held"}, "run after adding ghost: %r" % got)
        # Eight days on: file-only (7 days, by the file's retention_rules) too.
        out, _ = cmd(conf, "retention", "run", "--now", str(T0 + 8 * DAY), "--json")
        got = outcomes(json.loads(out))
        check(got == {"rec-filerule": "purged", "rec-frozen": "held"}, "run at 8 days: %r" % got)

        # The directory down: nothing decided or purged, said.
        directory.stop()
        before = cmd(conf, "retention", "tombstones", "--json")[0]
        _, err = cmd(conf, "retention", "run", "--now", str(T0 + 40 * DAY), expect=3)
        check("retention_ldap " + ldap in err and "nothing decided or purged" in err, "directory down: %r" % err)
        _, err = cmd(conf, "retention", "show", expect=3)
        check("nothing decided or purged" in err, "show, directory down: %r" % err)
        status, r = server.request("POST", "/api/v1/retention/run", b'{}')
        check(status == 503 and b"nothing decided or purged" in r, "API, directory down: %d %r" % (status, r))
        check(any(e.get("outcome") == "failed" for e in server.events("retention_ldap")),
              "no failed retention_ldap event")
        check(cmd(conf, "retention", "tombstones", "--json")[0] == before, "a run without the directory purged")
        server.stop()
        server = None

        # A bad retention_ldap file: named by the server and the command.
        bad = write(os.path.join(d, "bad.conf"), json.dumps({"database": db, "listen": "127.0.0.1:0",
                                                             "plain_http": "loopback",
                                                             "retention_ldap": d + "/no-such-ldap.yaml"}))
        r = subprocess.run([TLOG_SERVER, "--config", bad], capture_output=True, text=True, timeout=WAIT)
        check(r.returncode == 1 and d + "/no-such-ldap.yaml" in r.stderr, "server, bad file: %r" % r.stderr)
        _, err = cmd(bad, "retention", "run", expect=1)
        check(d + "/no-such-ldap.yaml" in err, "run, bad file: %r" % err)
        print("ok: retention classes from LDAP (%s)" % sys.argv[1])
    finally:
        if server:
            server.stop()
        if directory:
            directory.stop()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
