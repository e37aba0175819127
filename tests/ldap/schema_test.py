"""The LDAP schema in both OpenLDAP forms, loaded by a real slapd: the
.schema files through slapd.conf and the generated cn=config LDIF through
slapadd. Both accept the containers and the example rules, refuse malformed
values, and publish identical definitions; the 389-ds LDIF and the
ipa-ldap-updater file carry the same definitions; the shipped OpenLDAP ACL
lets an enrolled host read rules but not other entries' secrets.

usage: schema_test.py SOURCE_ROOT SCHEMA_BUILD_DIR"""
import re
import subprocess
import sys

from tlogtest.slapd import ROOT_PW, Slapd, suffixed
from tlogtest.terminal import check, tmpdir

SRC, GEN = sys.argv[1], sys.argv[2]
SCHEMA = SRC + "/ldap-schema"
SUFFIX = "dc=example,dc=com"
OUR_OIDS = ("2.25.320427777554911883085643036648203005597.", "2.16.840.1.113730.3.8.")

BASE = f"""dn: {SUFFIX}
objectClass: dcObject
objectClass: organization
dc: example
o: example

dn: cn=accounts,{SUFFIX}
objectClass: tlogContainer
cn: accounts

dn: cn=computers,cn=accounts,{SUFFIX}
objectClass: tlogContainer
cn: computers

dn: fqdn=web1.example.com,cn=computers,cn=accounts,{SUFFIX}
objectClass: device
objectClass: ipaHost
cn: web1
fqdn: web1.example.com
userPassword: hostsecret

dn: fqdn=rec.example.com,cn=computers,cn=accounts,{SUFFIX}
objectClass: device
objectClass: ipaHost
cn: rec
fqdn: rec.example.com
userPassword: recsecret

dn: cn=hostgroups,cn=accounts,{SUFFIX}
objectClass: tlogContainer
cn: hostgroups

dn: cn=tlog-servers,cn=hostgroups,cn=accounts,{SUFFIX}
objectClass: ipaHostGroup
cn: tlog-servers
member: fqdn=rec.example.com,cn=computers,cn=accounts,{SUFFIX}

dn: cn=users,cn=accounts,{SUFFIX}
objectClass: tlogContainer
cn: users

dn: uid=alice,cn=users,cn=accounts,{SUFFIX}
objectClass: inetOrgPerson
uid: alice
cn: alice
sn: alice
userPassword: alicesecret
"""


def norm(defn):
    """One definition with X-ORIGIN and whitespace differences removed."""
    defn = re.sub(r"\s*X-ORIGIN '[^']*'", "", defn.replace("$$", "$"))
    return re.sub(r"\s+", " ", defn).strip()


def defs_in_file(path, keys):
    out = set()
    for line in open(path):
        for k in keys:
            if line.lower().startswith(k.lower() + ":"):
                out.add(norm(line[len(k) + 1:]))
    return out


def published(slapd):
    """The server's subschema entry: our definitions as it reports them."""
    text = slapd.search("cn=Subschema", "(objectClass=*)", ["attributeTypes", "objectClasses"], scope="base")
    out = set()
    for line in text.splitlines():
        if ":" in line:
            v = line.split(":", 1)[1].strip()
            if v.startswith("( ") and any(v[2:].startswith(o) for o in OUR_OIDS):
                out.add(norm(v))
    return out


def load_and_check(slapd):
    slapd.modify(BASE)
    slapd.modify(suffixed(SCHEMA + "/containers.ldif", SUFFIX))
    slapd.modify(suffixed(SCHEMA + "/examples.ldif", SUFFIX))
    rules = slapd.search(f"cn=rules,cn=sessionrecording,{SUFFIX}", "(objectClass=tlogRecordingRule)", ["cn"])
    names = sorted(re.findall(r"^cn: (.*)$", rules, re.M))
    check(names == ["exclude-backup-transfers", "record-admins", "record-contractors", "record-everyone"],
          f"{slapd.form}: example rules not all stored: {names}")
    # The schema is in force: wrong syntax, unknown attributes and a rule
    # without cn are refused.
    for bad, why in [("tlogPriority: high", "non-integer priority"), ("tlogLogInput: yes", "non-boolean flag"),
                     ("tlogBogus: 1", "unknown attribute"), ("tlogAction: record\ntlogAction: exclude",
                                                            "two actions on a single-valued attribute")]:
        rc, out = slapd.modify(f"dn: cn=bad,cn=rules,cn=sessionrecording,{SUFFIX}\nobjectClass: tlogRecordingRule\n"
                               f"cn: bad\n{bad}\n", check_ok=False)
        check(rc != 0, f"{slapd.form}: slapd accepted a rule with a {why}: {out}")
    return published(slapd)


T = tmpdir()
# Form 1: the .schema files, as an OpenLDAP administrator with slapd.conf loads them.
with Slapd(T, [SCHEMA + "/freeipa-compat.schema", SCHEMA + "/tlog.schema"], form="schema", name="conf") as s1:
    from_conf = load_and_check(s1)
# Form 2: the generated cn=config LDIF, as slapd.d (Debian's default) loads it.
with Slapd(T, [GEN + "/freeipa-compat.ldif", GEN + "/tlog.ldif"], form="cnconfig", name="cnconfig") as s2:
    from_cnconfig = load_and_check(s2)
    # The shipped ACL, applied over ldapi as the configuration's manager.
    acl = suffixed(SCHEMA + "/openldap-acl.ldif", SUFFIX)
    r = subprocess.run(["ldapmodify", "-Y", "EXTERNAL", "-H", s2.ldapi], input=acl, capture_output=True, text=True)
    check(r.returncode == 0, f"openldap-acl.ldif refused: {r.stderr}")
    # The site's own rules after ours, as in a real directory: passwords only
    # for binding, the recording subtree closed to everyone else.
    site = (f"dn: olcDatabase={{1}}mdb,cn=config\nchangetype: modify\nadd: olcAccess\n"
            f"olcAccess: {{5}}to attrs=userPassword by anonymous auth by * none\n"
            f"olcAccess: {{6}}to dn.subtree=\"cn=sessionrecording,{SUFFIX}\" by * none\n")
    r = subprocess.run(["ldapmodify", "-Y", "EXTERNAL", "-H", s2.ldapi], input=site, capture_output=True, text=True)
    check(r.returncode == 0, f"site ACL refused: {r.stderr}")
    host = f"fqdn=web1.example.com,cn=computers,cn=accounts,{SUFFIX}"

    def as_host(base, attrs=(), dn=host, pw="hostsecret", hidden=False):
        r = subprocess.run(["ldapsearch", "-LLL", "-x", "-H", s2.uri, "-D", dn, "-w", pw, "-b", base]
                           + list(attrs), capture_output=True, text=True)
        # A base the ACL hides answers noSuchObject (32), as if absent.
        check(r.returncode == (32 if hidden else 0), f"host search of {base}: {r.returncode} {r.stderr}")
        return r.stdout

    out = as_host(f"cn=rules,cn=sessionrecording,{SUFFIX}", ["cn", "tlogAction", "memberUser"])
    check("cn: record-admins" in out and "tlogAction: record" in out, "the host cannot read the rules:\n" + out)
    out = as_host(f"uid=alice,cn=users,cn=accounts,{SUFFIX}", ["userPassword", "uid"])
    check("userPassword" not in out and "uid: alice" in out, "the host reads a user's password or not her uid:\n"
          + out)
    # Who may view whose recordings: the recording server (host group
    # tlog-servers) reads it, another host does not.
    access = f"cn=access,cn=sessionrecording,{SUFFIX}"
    out = as_host(access, ["tlogViewer", "tlogAccessRight", "userCategory"],
                  dn=f"fqdn=rec.example.com,cn=computers,cn=accounts,{SUFFIX}", pw="recsecret")
    check("tlogViewer: cn=auditors" in out and "tlogAccessRight: play" in out,
          "the recording server cannot read the viewer access entries:\n" + out)
    out = as_host(access, ["tlogViewer", "tlogAccessRight", "memberUser", "cn"], hidden=True)
    check("dn:" not in out, "another host sees the viewer access entries or their container:\n" + out)
    # A user bind reads no rules (the test database otherwise lets everyone read).
    r = subprocess.run(["ldapsearch", "-LLL", "-x", "-H", s2.uri, "-D", f"uid=alice,cn=users,cn=accounts,{SUFFIX}",
                        "-w", "alicesecret", "-b", f"cn=rules,cn=sessionrecording,{SUFFIX}", "tlogAction"],
                       capture_output=True, text=True)
    check("tlogAction" not in r.stdout, "a user reads the rules' attributes through the host ACL:\n" + r.stdout)

ndefs = sum(len(re.findall(r"(?m)^(attributetype|objectclass) ", open(f"{SCHEMA}/{n}.schema").read()))
            for n in ("tlog", "freeipa-compat"))
check(len(from_conf) == ndefs, f"expected {ndefs} tlog/compat definitions published, got {len(from_conf)}")
check(from_conf == from_cnconfig, "the .schema and cn=config forms differ:\n" +
      "\n".join(sorted(from_conf ^ from_cnconfig)))
# The 389-ds and ipa-ldap-updater forms define the same.
ours = {d for d in from_conf if d.startswith("( 2.25.")}
ds = defs_in_file(GEN + "/60tlog.ldif", ["attributeTypes", "objectClasses"])
ipa = defs_in_file(GEN + "/70-tlog-schema.update", ["add:attributeTypes", "add:objectClasses"])
check(ds == ours, "60tlog.ldif differs from what slapd publishes:\n" + "\n".join(sorted(ds ^ ours)))
check(ipa == ours, "70-tlog-schema.update differs from what slapd publishes:\n" + "\n".join(sorted(ipa ^ ours)))
compat = defs_in_file(GEN + "/59tlog-freeipa-compat.ldif", ["attributeTypes", "objectClasses"])
check(len(compat) == len(from_conf) - len(ours), "the 389-ds compat LDIF is incomplete")
print("schema: both OpenLDAP forms load, agree, accept the examples; 389-ds and FreeIPA forms agree; ACL holds")
