"""Real 389-ds (FreeIPA's directory server) with the 389-ds form of the
schema (389ds/59tlog-freeipa-compat.ldif, 389ds/60tlog.ldif) and the ACI of
freeipa/75-tlog-sessionrecording.update: an enrolled host's bind reads the
recording rules and nothing else, and cannot change them; tlog-policy sync
bound as the host reads them."""
import os
import re
import subprocess

from tlogtest.dirsrv import Dirsrv
from tlogtest.namespace import require_root_ns
from tlogtest.slapd import Dit, suffixed
from tlogtest.terminal import check, tmpdir

SRC, BUILD, TP = os.environ["SOURCE_ROOT"], os.environ["BUILD_ROOT"], os.environ["TLOG_POLICY"]
GEN = BUILD + "/ldap-schema"
S = "dc=example,dc=com"
HOST = "web1.example.com"

require_root_ns()
T = tmpdir()
ds = Dirsrv(T, S)
with ds:
    ds.load_schema(GEN + "/59tlog-freeipa-compat.ldif")
    ds.load_schema(GEN + "/60tlog.ldif")
    d = Dit(S)
    d.entries = d.entries[1:]  # dscreate made the suffix entry
    alice = d.user("alice", 7001, 7001)
    d.group("admins", 8001, [alice])
    host = d.host(HOST, "hostsecret")
    rec_host = d.host("rec.example.com", "recsecret")
    d.hostgroup("tlog-servers", [rec_host])
    d.rule("ds-record-all", [("tlogAction", "record"), ("userCategory", "all"), ("hostCategory", "all"),
                          ("tlogLogInput", "TRUE")])
    d.rule("ds-admins", [("tlogAction", "record"), ("memberUser", d.group_dn("admins")),
                             ("hostCategory", "all"), ("tlogPriority", "5")])
    rc, out = ds.ldap("ldapadd", d.ldif())
    check(rc == 0, "389-ds refused the FreeIPA-shaped tree: " + out)
    for f in ("containers.ldif", "examples.ldif"):
        text = suffixed(f"{SRC}/ldap-schema/{f}", S)
        if f == "containers.ldif":  # cn=sessionrecording and cn=rules exist already (Dit)
            text = "\n\n".join(e for e in text.split("\n\n") if "cn=retention" in e or "cn=access" in e)
        rc, out = ds.ldap("ldapadd", text)
        check(rc == 0, f"389-ds refused {f}: {out}")
    # The ACIs exactly as the ipa-ldap-updater file carries them, each on its entry.
    upd = suffixed(f"{SRC}/ldap-schema/freeipa/75-tlog-sessionrecording.update", S)
    acis = re.findall(r"(?m)^dn: (.*)\n(?:#.*\n)*add:aci:(.*)$", upd)
    check(len(acis) == 2, f"expected two ACIs in the update file, got {len(acis)}")
    for dn, aci in acis:
        rc, out = ds.ldap("ldapmodify", f"dn: {dn}\nchangetype: modify\nadd: aci\naci: {aci}\n")
        check(rc == 0, f"389-ds refused the ACI on {dn}: " + out)

    def as_host(base, filt="(objectClass=*)", attrs=()):
        r = subprocess.run(["ldapsearch", "-LLL", "-o", "ldif-wrap=no", "-x", "-H", ds.uri, "-D", host, "-w",
                            "hostsecret", "-b", base, filt] + list(attrs), capture_output=True, text=True)
        return r.returncode, r.stdout

    rc, out = as_host(f"cn=rules,cn=sessionrecording,{S}", "(objectClass=tlogRecordingRule)",
                      ["cn", "tlogAction", "memberUser", "tlogLogInput"])
    names = sorted(re.findall(r"(?m)^cn: (.*)$", out))
    check(rc == 0 and "ds-admins" in names and "ds-record-all" in names and "record-admins" in names and "tlogLogInput: TRUE" in out,
          f"the host cannot read the rules ({rc}):\n{out}")
    for base in (f"cn=users,cn=accounts,{S}", f"cn=groups,cn=accounts,{S}", f"cn=computers,cn=accounts,{S}"):
        rc, out = as_host(base)
        check("dn:" not in out, f"the host reads {base}, which the rules ACI does not grant:\n{out}")
    rc, out = as_host(f"cn=access,cn=sessionrecording,{S}", "(objectClass=*)", ["tlogViewer", "memberUser", "cn"])
    check("dn:" not in out, "the host sees the viewer access entries or their container:\n" + out)
    r = subprocess.run(["ldapsearch", "-LLL", "-o", "ldif-wrap=no", "-x", "-H", ds.uri, "-D", rec_host, "-w",
                        "recsecret", "-b", f"cn=access,cn=sessionrecording,{S}", "(objectClass=tlogViewerAccess)",
                        "tlogViewer", "tlogAccessRight"], capture_output=True, text=True)
    check(r.returncode == 0 and "tlogViewer: cn=auditors" in r.stdout and "tlogAccessRight: play" in r.stdout,
          f"the recording server (host group tlog-servers) cannot read the viewer access entries:\n{r.stdout}{r.stderr}")
    rc, out = ds.ldap("ldapmodify", f"dn: cn=ds-record-all,cn=rules,cn=sessionrecording,{S}\nchangetype: modify\n"
                      "replace: ipaEnabledFlag\nipaEnabledFlag: FALSE\n", dn=host, pw="hostsecret")
    check(rc != 0 and "Insufficient access" in out, "the host changed a rule:\n" + out)
    # tlog-policy sync bound as the host: the rules come through the ACI.
    with open(T + "/pw", "w") as f:
        f.write("hostsecret\n")
    os.chmod(T + "/pw", 0o600)
    with open(T + "/ldap.yaml", "w") as f:
        f.write(f"uri: {ds.uri}\nbase: {S}\nhost: {HOST}\ntimeout: 2\n"
                f"bind: {{method: simple, dn: '{host}', password_file: {T}/pw}}\n")
    with open(T + "/rules.yaml", "w") as f:
        f.write("default: exclude\n")
    r = subprocess.run([TP, "sync", "--rules", T + "/rules.yaml", "--ldap", T + "/ldap.yaml", "--output",
                        T + "/policy.cache"], capture_output=True, text=True, timeout=60)
    check(r.returncode == 0 and "synced 5 rules" in r.stdout, f"sync as the host: {r.stdout}{r.stderr}")
    rc = subprocess.run([TP, "lookup-cache", "nobody-in-particular", "9999", "9999", T + "/policy.cache"],
                        capture_output=True, text=True)
    check(rc.returncode == 0 and "ds-record-all" in rc.stdout, "ds-record-all is not in force: " + rc.stdout)
print("ok: 389-ds with the FreeIPA-form schema and ACI")
