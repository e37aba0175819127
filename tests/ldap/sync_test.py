"""tlog-policy sync and explain against a real slapd with a FreeIPA-shaped
tree: users, nested groups (member and memberOf), a group without gidNumber,
hosts and nested host groups, HBAC services and service groups, an HBAC rule
followed through seeAlso, a disabled rule, a malformed entry. Run in a
private mount namespace (passwd and group copies for explain and the YAML
twin).

usage: sync_test.py CASE   (env: SOURCE_ROOT, BUILD_ROOT, TLOG_POLICY)"""
import os
import re
import signal
import subprocess
import sys
import time

from tlogtest.namespace import add_users, require_root_ns, sh
from tlogtest.slapd import ROOT_PW, Dit, Slapd, free_port, make_ca
from tlogtest.terminal import check, fail, tmpdir

SRC = os.environ["SOURCE_ROOT"]
BUILD = os.environ["BUILD_ROOT"]
TP = os.environ["TLOG_POLICY"]
GEN = BUILD + "/ldap-schema"
S = "dc=example,dc=com"
HOST = "web1.example.com"
TIMEOUT = 1.0

USERS = [("alice", 7001), ("bob", 7002), ("carol", 7003), ("dave", 7004), ("backup", 7005), ("erin", 7006)]


def build_dit():
    d = Dit(S)
    u = {n: d.user(n, uid, uid) for n, uid in USERS}
    dba = d.group("dba", 8002, [u["carol"]])
    d.group("admins", 8001, [u["alice"], dba])  # carol is an admin through dba
    d.group("ops", 8003, [u["bob"]])
    d.group("contractors", None, [u["dave"]])    # no gidNumber: members only
    web1, db1 = d.host("web1.example.com", "hostsecret"), d.host("db1.example.com")
    dbs = d.hostgroup("databases", [db1])
    d.hostgroup("production", [web1, dbs])        # web1 directly, db1 nested
    for s in ("sshd", "su", "sudo", "sudo-i"):
        d.service(s)
    d.servicegroup("Sudo", [d.service_dn("sudo"), d.service_dn("sudo-i")])
    hb = d.hbac("contractors", [("memberUser", d.group_dn("contractors")), ("memberHost", web1),
                                ("memberService", d.service_dn("sshd")), ("ipaEnabledFlag", "TRUE")])
    d.rule("record-admins", [("ipaEnabledFlag", "TRUE"), ("tlogAction", "record"), ("tlogPriority", "10"),
                             ("memberUser", d.group_dn("admins")),
                             ("memberHost", f"cn=production,cn=hostgroups,cn=accounts,{S}"),
                             ("memberService", d.service_dn("sshd")), ("memberService", d.service_dn("su")),
                             ("tlogLogInput", "TRUE"), ("tlogWriter", "journal"), ("tlogAuditLevel", "session"),
                             ("tlogRetentionClass", "legal")])
    d.rule("exclude-backup-transfers", [("tlogAction", "exclude"), ("tlogPriority", "20"),
                                        ("memberUser", u["backup"]), ("hostCategory", "all"),
                                        ("serviceCategory", "all"), ("tlogSessionKind", "transfer")])
    d.rule("record-backup", [("tlogAction", "record"), ("memberUser", u["backup"]), ("hostCategory", "all")])
    d.rule("record-contractors", [("tlogAction", "record"), ("seeAlso", hb), ("tlogLogInput", "FALSE"), ("tlogLimitRate", "16384"),
                                  ("tlogLimitAction", "delay"), ("tlogAuditLevel", "login")])
    d.rule("record-everyone", [("tlogAction", "record"), ("ipaEnabledFlag", "FALSE"), ("userCategory", "all"), ("hostCategory", "all")])
    d.rule("ops-sudo", [("tlogAction", "record"), ("memberUser", d.group_dn("ops")), ("hostCategory", "all"),
                        ("memberService", f"cn=Sudo,cn=hbacservicegroups,cn=hbac,{S}")])
    d.rule("elsewhere", [("tlogAction", "record"), ("userCategory", "all"), ("memberHost", db1)])  # not this host
    d.rule("broken-action", [("tlogAction", "recrod"), ("userCategory", "all"), ("hostCategory", "all")])
    return d


# The same rules as tlog-rules.yaml(5), in the order sync merges them (by cn).
YAML_TWIN = """default: exclude
hostgroups:
  production: [web1.example.com, db1.example.com]
rules:
  - name: elsewhere
    action: record
    users: all
    hosts: [db1.example.com]
  - name: exclude-backup-transfers
    action: exclude
    priority: 20
    users: [backup]
    sessions: [transfer]
  - name: ops-sudo
    action: record
    groups: [ops]
    services: [sudo, sudo-i]
  - name: record-admins
    action: record
    priority: 10
    groups: [admins, dba]
    hostgroups: [production]
    services: [sshd, su]
    settings: {input: true, writer: journal}
    audit: session
    retention: legal
  - name: record-backup
    action: record
    users: [backup]
  - name: record-contractors
    action: record
    users: [dave]
    hosts: [web1.example.com]
    services: [sshd]
    settings: {input: false, rate_limit: {rate: 16384, action: delay}}
    audit: login
  - name: record-everyone
    action: record
    enabled: false
    users: all
"""

# user, service, session kind -> recorded?, deciding rule
MATRIX = [
    ("alice", "sshd", "interactive", True, "record-admins"),
    ("alice", "sudo", "interactive", False, None),
    ("carol", "su", "interactive", True, "record-admins"),      # nested group
    ("bob", "sudo-i", "command", True, "ops-sudo"),            # service group
    ("bob", "sshd", "interactive", False, None),
    ("dave", "sshd", "interactive", True, "record-contractors"),  # HBAC rule via seeAlso
    ("dave", "su", "interactive", False, None),
    ("backup", "sshd", "transfer", False, "exclude-backup-transfers"),
    ("backup", "sshd", "interactive", True, "record-backup"),
    ("erin", "sshd", "interactive", False, None),             # disabled rule and other host only
]


def tp(*args, timeout=60, env=None):
    t0 = time.monotonic()
    r = subprocess.run([TP] + list(args), capture_output=True, text=True, timeout=timeout,
                       env=dict(os.environ, **(env or {})))
    return r.returncode, r.stdout, r.stderr, time.monotonic() - t0


def write(path, text, mode=0o644):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


def ldap_conf(T, uris, extra="", name="ldap.yaml", timeout=TIMEOUT):
    path = f"{T}/{name}"
    uri = "[" + ", ".join(uris) + "]"
    write(path, f"uri: {uri}\nbase: {S}\nhost: {HOST}\ntimeout: {timeout}\n{extra}")
    return path


def start(T, tls=False, name="slapd"):
    s = Slapd(T, [GEN + "/freeipa-compat.ldif", GEN + "/tlog.ldif"], tls=tls, name=name).start()
    s.modify(build_dit().ldif())
    return s


def setup_system(T):
    require_root_ns()
    add_users(T, [(n, uid, uid, "/home/" + n, "/bin/sh") for n, uid in USERS])
    # The directory's groups as NSS would give them (sssd): nested members flattened.
    with open(T + "/group", "a") as f:
        f.write("admins:x:8001:alice,carol\ndba:x:8002:carol\nops:x:8003:bob\n")
    write(T + "/rules.yaml", "default: exclude\n")


def sync(T, conf, out=None, env=None):
    return tp("sync", "--rules", T + "/rules.yaml", "--ldap", conf, "--output", out or T + "/policy.cache",
              env=env)


def explain(T, conf, user, service, kind):
    rc, out, err, _ = tp("explain", user, "--host", HOST, "--service", service, "--session", kind,
                         "--rules", T + "/rules.yaml", "--ldap", conf)
    check(rc == 0, f"explain {user} {service} {kind}: {err}")
    return out


def case_matrix():
    T = tmpdir()
    setup_system(T)
    with start(T) as s:
        conf = ldap_conf(T, [s.uri], "page_size: 2\n")  # several pages for every search
        rc, out, err, _ = sync(T, conf)
        check(rc == 0, f"sync failed: {out}{err}")
        check("synced 7 rules" in out, "sync did not merge 7 rules (8 entries, one malformed):\n" + out + err)
        check(re.search(r"cn=broken-action,cn=rules,cn=sessionrecording,dc=example,dc=com: attribute 'tlogAction': "
                        r"expected record or exclude, got 'recrod'; entry skipped", err),
              "the malformed entry is not logged with its DN and attribute:\n" + err)
        for user, service, kind, rec, rule in MATRIX:
            ex = explain(T, conf, user, service, kind)
            check(("decision: record" if rec else "decision: exclude") in ex,
                  f"{user} {service} {kind}: expected {'record' if rec else 'exclude'}:\n{ex}")
            if rule:
                check(f"'{rule}'" in ex, f"{user} {service} {kind}: expected rule {rule}:\n{ex}")
            check(f"record-admins (record, priority 10, ldap cn=record-admins,cn=rules,cn=sessionrecording,{S})"
                  in ex, "explain does not name the LDAP rule by its DN:\n" + ex)
            # The compiled cache gives the same per-user answer (nss_tlog's view).
        for user, uid in USERS:
            rc, out, _, _ = tp("lookup-cache", user, str(uid), str(uid), T + "/policy.cache")
            expect = any(u == user and rec for u, _, _, rec, _ in MATRIX)
            check((rc == 0) == expect, f"cache: {user} {'not ' if expect else ''}expected recorded: {out}")
        # The shipped example configuration is valid.
        rc, out, err, _ = tp("check", T + "/rules.yaml", "--ldap", SRC + "/examples/rules/ldap.yaml")
        check(rc == 0 and "2 servers, base dc=example,dc=com, bind gssapi, StartTLS" in out,
              f"examples/rules/ldap.yaml: {out}{err}")
        # A local rule shows as a file rule beside the LDAP ones.
        write(T + "/rules.yaml", "default: exclude\nrules:\n  - name: local-erin\n    action: record\n    users: [erin]\n")
        ex = explain(T, conf, "erin", "sshd", "interactive")
        check("decision: record" in ex and f"local-erin (record, priority 0, file {T}/rules.yaml:3" in ex,
              "explain does not show the local rule with its file and line:\n" + ex)
        rc, out, err, _ = sync(T, conf)
        check(rc == 0 and "and 1 from" in out, f"sync with a local rule: {out}{err}")
        rc, out, _, _ = tp("lookup-cache", "erin", "7006", "7006", T + "/policy.cache")
        check(rc == 0 and "local-erin" in out, "the local rule is not in the merged cache: " + out)


def case_same_cache():
    """YAML and LDAP forms of the same rules compile to byte-identical caches."""
    T = tmpdir()
    setup_system(T)
    env = {"SOURCE_DATE_EPOCH": "1700000000"}
    with start(T) as s:
        conf = ldap_conf(T, [s.uri])
        rc, out, err, _ = sync(T, conf, T + "/from-ldap.cache", env=env)
        check(rc == 0, f"sync: {out}{err}")
    write(T + "/rules.yaml", YAML_TWIN)
    rc, out, err, _ = tp("compile", "--rules", T + "/rules.yaml", "--output", T + "/from-yaml.cache", "--host", HOST,
                         env=env)
    check(rc == 0, f"compile: {out}{err}")
    a, b = open(T + "/from-ldap.cache", "rb").read(), open(T + "/from-yaml.cache", "rb").read()
    if a != b:
        _, sa, _, _ = tp("show-cache", T + "/from-ldap.cache")
        _, sb, _, _ = tp("show-cache", T + "/from-yaml.cache")
        fail(f"caches differ ({len(a)} vs {len(b)} bytes)\n--- ldap\n{sa}\n--- yaml\n{sb}")


def cache_kept(T, before, rc, err, elapsed, limit, what):
    check(rc == 1, f"{what}: sync returned {rc}, expected 1:\n{err}")
    check(elapsed < limit, f"{what}: sync took {elapsed:.1f} s, more than {limit} s")
    check(open(T + "/policy.cache", "rb").read() == before, f"{what}: the cache was changed")
    check(re.search(r"not replaced, the last good rules stay in force \(\d+ s old \(compiled \d+\)\)", err),
          f"{what}: the log does not say the last good cache stays and how old it is:\n{err}")


def case_outage():
    """SIGSTOP and kill: sync returns within the timeout, the last good cache stays."""
    T = tmpdir()
    setup_system(T)
    with start(T) as s:
        outage_steps(T, s)


def outage_steps(T, s):
    conf = ldap_conf(T, [s.uri])
    rc, out, err, _ = sync(T, conf)
    check(rc == 0, f"first sync: {out}{err}")
    before = open(T + "/policy.cache", "rb").read()
    os.kill(s.proc.pid, signal.SIGSTOP)
    try:
        rc, out, err, el = sync(T, conf)
        cache_kept(T, before, rc, err, el, TIMEOUT * 3 + 1, "slapd stopped")
        check("Timed out" in err or "timeout" in err.lower(), "the log does not say the server timed out:\n" + err)
    finally:
        os.kill(s.proc.pid, signal.SIGCONT)
    # The watchdog: a whole sync is bounded by `deadline`, whatever the per-operation timeout.
    os.kill(s.proc.pid, signal.SIGSTOP)
    try:
        conf_slow = ldap_conf(T, [s.uri], "deadline: 2\n", name="slow.yaml", timeout=30)
        rc, out, err, el = sync(T, conf_slow)
        cache_kept(T, before, rc, err, el, 6, "deadline")
        check("(deadline) and was stopped" in err, "the watchdog did not say it stopped the sync:\n" + err)
    finally:
        os.kill(s.proc.pid, signal.SIGCONT)
    # Killed in the middle of a sync: stop it while sync is reading, then kill it.
    p = subprocess.Popen([TP, "sync", "--rules", T + "/rules.yaml", "--ldap", conf, "--output", T + "/policy.cache"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    os.kill(s.proc.pid, signal.SIGSTOP)
    time.sleep(0.2)
    os.kill(s.proc.pid, signal.SIGKILL)
    s.proc.wait()
    s.proc = None
    t0 = time.monotonic()
    out, err = p.communicate(timeout=30)
    check(time.monotonic() - t0 < TIMEOUT * 3 + 1, "sync hung after the server was killed")
    if p.returncode == 0:
        before = open(T + "/policy.cache", "rb").read()  # it finished before the stop: a good cache
    else:
        cache_kept(T, before, p.returncode, err, 0, 1, "slapd killed mid-sync")
    # Server gone: connection refused, fast.
    rc, out, err, el = sync(T, conf)
    cache_kept(T, before, rc, err, el, TIMEOUT * 3 + 1, "slapd gone")
    # No cache at all and no server: the documented safe default.
    os.unlink(T + "/policy.cache")
    rc, out, err, el = sync(T, conf)
    check(rc == 1 and "no cache existed" in err and "default record" in err, "no-cache fallback not logged:\n" + err)
    rc, out, _, _ = tp("lookup-cache", "erin", "7006", "7006", T + "/policy.cache")
    check(rc == 0 and "(default)" in out, "without a cache and LDAP, a user is not recorded by default: " + out)


def case_failover_tls():
    """Failover to the second server; StartTLS and ldaps with the CA verified,
    a wrong CA refused; SASL EXTERNAL over ldapi; simple bind with a password file."""
    T = tmpdir()
    setup_system(T)
    with start(T, tls=True) as s:
        dead = f"ldap://127.0.0.1:{free_port()}/"
        rc, out, err, _ = sync(T, ldap_conf(T, [dead, s.uri]))
        check(rc == 0 and s.uri in out, f"failover to the second server: {out}{err}")
        good = f"tls: {{starttls: true, ca_file: {s.ca}}}\n"
        rc, out, err, _ = sync(T, ldap_conf(T, [s.uri], good))
        check(rc == 0, f"StartTLS with the right CA: {out}{err}")
        rc, out, err, _ = sync(T, ldap_conf(T, [s.ldaps], f"tls: {{ca_file: {s.ca}}}\n"))
        check(rc == 0, f"ldaps with the right CA: {out}{err}")
        other = make_ca(T + "/other-ca")
        before = open(T + "/policy.cache", "rb").read()
        for uri, extra in [(s.uri, f"tls: {{starttls: true, ca_file: {other}}}\n"),
                           (s.ldaps, f"tls: {{ca_file: {other}}}\n")]:
            rc, out, err, _ = sync(T, ldap_conf(T, [uri], extra))
            check(rc == 1 and "certificate" in err.lower(), f"{uri} with a wrong CA was not refused:\n{out}{err}")
            check(open(T + "/policy.cache", "rb").read() == before, "a refused server changed the cache")
        rc, out, err, _ = sync(T, ldap_conf(T, [s.ldapi], "bind: {method: external}\n"))
        check(rc == 0, f"SASL EXTERNAL over ldapi: {out}{err}")
        write(T + "/pw", "hostsecret\n", 0o600)
        simple = f"bind: {{method: simple, dn: '{Dit(S).host_dn(HOST)}', password_file: {T}/pw}}\n"
        rc, out, err, _ = sync(T, ldap_conf(T, [s.uri], simple))
        check(rc == 0, f"simple bind as the host: {out}{err}")
        os.chmod(T + "/pw", 0o644)
        rc, out, err, _ = sync(T, ldap_conf(T, [s.uri], simple))
        check(rc == 1 and "readable by others" in err, f"a world-readable password file was used:\n{err}")
        write(T + "/pw", "wrong\n", 0o600)
        rc, out, err, _ = sync(T, ldap_conf(T, [s.uri], simple))
        check(rc == 1 and "Invalid credentials" in err, f"a wrong password was not refused:\n{err}")


def case_manage():
    """tlog-policy ldap add|mod|del|show|find|enable|disable|add-member|remove-member, --json."""
    import json
    T = tmpdir()
    setup_system(T)
    with start(T) as s:
        write(T + "/admin.pw", ROOT_PW + "\n", 0o600)
        conf = ldap_conf(T, [s.uri])
        admin = ["--ldap", conf, "--bind", "simple", "--bind-dn", s.rootdn, "--password-file", T + "/admin.pw"]

        def ldap(*args, ok=True):
            rc, out, err, _ = tp("ldap", *args, *admin)
            check((rc == 0) == ok, f"ldap {' '.join(args)}: rc {rc}\n{out}{err}")
            return out + err

        r = json.loads(ldap("add", "cli-rule", "--action", "record", "--priority", "5", "--group", "ops",
                            "--hostgroup", "production", "--service", "sshd", "--input", "true",
                            "--session", "interactive", "--audit", "login", "--json"))
        check(r["dn"] == f"cn=cli-rule,cn=rules,cn=sessionrecording,{S}" and r["enabled"] is True
              and r["priority"] == 5 and r["groups"] == ["ops"] and r["hostgroups"] == ["production"]
              and r["services"] == ["sshd"] and r["settings"] == {"input": True} and r["sessions"] == ["interactive"]
              and r["audit"] == "login", f"ldap add --json: {r}")
        check(json.loads(ldap("show", "cli-rule", "--json")) == r, "show --json differs from what add returned")
        check("  action: record" in ldap("show", "cli-rule"), "show prints no action line")
        for bad, why in [(["--action", "recrod"], "expected record or exclude"),
                         (["--action", "record", "--user", "nosuchuser"], "no user 'nosuchuser'"),
                         (["--action", "record", "--session", "shell"], "expected interactive, command or transfer"),
                         (["--action", "record", "--hbac-rule", "nosuchrule"], "no HBAC rule 'nosuchrule'")]:
            out = ldap("add", "bad-rule", *bad, ok=False)
            check(why in out, f"ldap add {bad}: expected '{why}':\n{out}")
        ldap("show", "bad-rule", ok=False)  # nothing half-written
        r = json.loads(ldap("mod", "cli-rule", "--priority", "7", "--writer", "file", "--json"))
        check(r["priority"] == 7 and r["settings"]["writer"] == "file", f"mod: {r}")
        check(json.loads(ldap("disable", "cli-rule", "--json"))["enabled"] is False, "disable")
        check(json.loads(ldap("enable", "cli-rule", "--json"))["enabled"] is True, "enable")
        r = json.loads(ldap("add-member", "cli-rule", "--user", "erin", "--json"))
        check(r["users"] == ["erin"] and r["groups"] == ["ops"], f"add-member: {r}")
        r = json.loads(ldap("remove-member", "cli-rule", "--group", "ops", "--json"))
        check(r["users"] == ["erin"] and r["groups"] == [], f"remove-member: {r}")
        found = json.loads(ldap("find", "cli", "--json"))
        check([x["name"] for x in found] == ["cli-rule"], f"find cli: {found}")
        check(len(json.loads(ldap("find", "--json"))) == 9, "find without text does not list every rule")
        # The rule is in force after a sync: erin is recorded through sshd on web1.
        rc, out, err, _ = sync(T, conf)
        check(rc == 0, f"sync: {out}{err}")
        ex = explain(T, conf, "erin", "sshd", "interactive")
        check("decision: record" in ex and "'cli-rule'" in ex, "the managed rule is not in force:\n" + ex)
        # The host's own bind reads but cannot write.
        write(T + "/host.pw", "hostsecret\n", 0o600)
        rc, out, err, _ = tp("ldap", "disable", "cli-rule", "--ldap", conf, "--bind", "simple", "--bind-dn",
                             Dit(S).host_dn(HOST), "--password-file", T + "/host.pw")
        check(rc == 1 and "Insufficient access" in err, f"the host's bind changed a rule: {out}{err}")
        ldap("del", "cli-rule")
        ldap("show", "cli-rule", ok=False)


def case_gssapi():
    """SASL GSSAPI with the host keytab, as FreeIPA clients bind: a real MIT
    KDC, slapd with its service keytab mapping host/FQDN to the host entry,
    the rules readable by that entry only."""
    from tlogtest.kdc import REALM, Kdc
    T = tmpdir()
    setup_system(T)
    kdc = Kdc(T)
    kdc.principal("ldap/localhost", T + "/ldap.keytab")
    kdc.principal(f"host/{HOST}", T + "/host.keytab")
    os.chmod(T + "/ldap.keytab", 0o600)
    host_dn = Dit(S).host_dn(HOST)
    try:
        kdc.start()
        s = Slapd(T, [GEN + "/freeipa-compat.ldif", GEN + "/tlog.ldif"],
                  config_extra="olcSaslHost: localhost\nolcSaslRealm: " + REALM + "\n"
                  "olcAuthzRegexp: {0}\"^uid=host/([^,]+)(,cn=[^,]+)?,cn=gssapi,cn=auth$\" \"" +
                  "fqdn=$1,cn=computers,cn=accounts," + S + "\"\n",
                  env=dict(kdc.env, KRB5_KTNAME=T + "/ldap.keytab")).start()
        try:
            s.modify(build_dit().ldif())
            # Only the host entry may read the rules.
            acl = (f"dn: olcDatabase={{1}}mdb,cn=config\nchangetype: modify\nadd: olcAccess\n"
                   f"olcAccess: {{0}}to dn.subtree=\"cn=sessionrecording,{S}\" by dn.exact=\"{host_dn}\" read "
                   f"by * none\n")
            r = subprocess.run(["ldapmodify", "-Y", "EXTERNAL", "-H", s.ldapi], input=acl, capture_output=True,
                               text=True)
            check(r.returncode == 0, "ACL: " + r.stderr)
            uri = f"ldap://localhost:{s.port}/"
            env = {"KRB5_CONFIG": kdc.conf}
            conf = ldap_conf(T, [uri], f"bind: {{method: gssapi, keytab: {T}/host.keytab}}\n")
            rc, out, err, _ = sync(T, conf, env=env)
            check(rc == 0 and "synced 7 rules" in out, f"GSSAPI bind with the host keytab: {out}{err}")
            before = open(T + "/policy.cache", "rb").read()
            # Anonymous, or another host's key: the rules are hidden. That is an
            # error (the cache stays), never an empty rule set.
            kdc.principal("host/other.example.com", T + "/other.keytab")
            for name, extra in [("anon.yaml", ""),
                                ("other.yaml", f"bind: {{method: gssapi, keytab: {T}/other.keytab}}\n")]:
                rc, out, err, _ = sync(T, ldap_conf(T, [uri], extra, name=name), env=env)
                check(rc == 1 and "is not visible to this bind" in err, f"{name}: hidden rules not refused: {out}{err}")
                check(open(T + "/policy.cache", "rb").read() == before, f"{name}: the cache was changed")
            # No usable key at all: the bind fails, the cache stays.
            conf = ldap_conf(T, [uri], f"bind: {{method: gssapi, keytab: {T}/missing.keytab}}\n", name="bad.yaml")
            rc, out, err, _ = sync(T, conf, env=env)
            check(rc == 1 and "SASL GSSAPI bind" in err, f"GSSAPI without a keytab: {out}{err}")
            check(open(T + "/policy.cache", "rb").read() == before, "a failed GSSAPI bind changed the cache")
        finally:
            s.stop()
    finally:
        kdc.stop()


def case_plain_bases():
    """A plain OpenLDAP layout (ou=people, RFC 2307 posixGroup with memberUid,
    hosts as cn=, rules under ou=recording) named by `bases:`."""
    T = tmpdir()
    setup_system(T)
    ldif = f"""dn: {S}
objectClass: dcObject
objectClass: organization
dc: example
o: example
""" + "".join(f"""
dn: ou={ou},{S}
objectClass: organizationalUnit
ou: {ou}
""" for ou in ("people", "groups", "hosts", "hostgroups", "recording")) + "".join(f"""
dn: uid={n},ou=people,{S}
objectClass: inetOrgPerson
objectClass: posixAccount
uid: {n}
cn: {n}
sn: {n}
uidNumber: {uid}
gidNumber: {uid}
homeDirectory: /home/{n}
""" for n, uid in USERS) + f"""
dn: cn=dba,ou=groups,{S}
objectClass: posixGroup
cn: dba
gidNumber: 8002
memberUid: carol
memberUid: bob

dn: cn={HOST},ou=hosts,{S}
objectClass: device
cn: {HOST}

dn: cn=web,ou=hostgroups,{S}
objectClass: groupOfNames
cn: web
member: cn={HOST},ou=hosts,{S}

dn: cn=record-dba,ou=recording,{S}
objectClass: tlogRecordingRule
cn: record-dba
tlogAction: record
memberUser: cn=dba,ou=groups,{S}
memberHost: cn=web,ou=hostgroups,{S}

dn: cn=record-erin,ou=recording,{S}
objectClass: tlogRecordingRule
cn: record-erin
tlogAction: record
memberUser: uid=erin,ou=people,{S}
hostCategory: all
"""
    with Slapd(T, [GEN + "/freeipa-compat.ldif", GEN + "/tlog.ldif"]) as s:
        s.modify(ldif)
        bases = (f"bases:\n  rules: ou=recording,{S}\n  users: ou=people,{S}\n  groups: ou=groups,{S}\n"
                 f"  hosts: ou=hosts,{S}\n  hostgroups: ou=hostgroups,{S}\n")
        conf = ldap_conf(T, [s.uri], bases)
        rc, out, err, _ = sync(T, conf)
        check(rc == 0 and "synced 2 rules" in out, f"sync with plain bases: {out}{err}")
        for user, uid, rec in [("carol", 7003, True), ("bob", 7002, True), ("erin", 7006, True),
                               ("alice", 7001, False)]:
            rc, out, _, _ = tp("lookup-cache", user, str(uid), str(uid), T + "/policy.cache")
            check((rc == 0) == rec, f"{user}: expected {'recorded' if rec else 'not recorded'}: {out}")
        # Without bases: the FreeIPA layout is not there, sync says so and keeps the cache.
        rc, out, err, _ = sync(T, ldap_conf(T, [s.uri], name="ipa.yaml"))
        check(rc == 1 and "is not visible to this bind" in err, f"missing FreeIPA layout not refused: {out}{err}")


CASES = {"plain_bases": case_plain_bases, "gssapi": case_gssapi, "manage": case_manage, "matrix": case_matrix, "same_cache": case_same_cache, "outage": case_outage,
         "failover_tls": case_failover_tls}
CASES[sys.argv[1]]()
print("ok", sys.argv[1])
