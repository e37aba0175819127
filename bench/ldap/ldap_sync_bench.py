#!/usr/bin/env python3
"""Sets up the LDAP sync benchmark (bench/README.md, "ldap"): a local slapd
holding 50,000 users, 1,100 groups (100 groups each nesting 10 of the
other 1,000, each of those with 50 users), 20 host groups and 10,000
recording rules, and the same rules as a YAML file with the groups as an
/etc/group copy (nested members flattened, as SSSD would give them).

usage: ldap_sync_bench.py setup DIR   (prints the commands to time; slapd stays running)
       ldap_sync_bench.py stop DIR
Needs slapd, slapadd (Debian slapd) and a build (BUILD_ROOT, default ./build)."""
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests"))
from tlogtest.slapd import Dit, Slapd  # noqa: E402

S = "dc=example,dc=com"
HOST = "web1.example.com"
USERS, CHILD_GROUPS, PARENT_GROUPS, PER_CHILD, RULES, HOSTGROUPS = 50000, 1000, 100, 50, 10000, 20


def build(d):
    dit = Dit(S)
    users = [dit.user(f"u{i:05d}", 100000 + i, 100000 + i) for i in range(USERS)]
    child_members = {}
    for g in range(CHILD_GROUPS):
        members = [users[(g * PER_CHILD + k) % USERS] for k in range(PER_CHILD)]
        child_members[g] = [f"u{(g * PER_CHILD + k) % USERS:05d}" for k in range(PER_CHILD)]
        dit.group(f"c{g:04d}", 200000 + g, members)
    group_lines = [f"c{g:04d}:x:{200000 + g}:{','.join(child_members[g])}\n" for g in range(CHILD_GROUPS)]
    for p in range(PARENT_GROUPS):
        kids = [p * 10 + k for k in range(10)]
        dit.group(f"p{p:03d}", 300000 + p, [dit.group_dn(f"c{k:04d}") for k in kids])
        flat = sorted({u for k in kids for u in child_members[k]})
        group_lines.append(f"p{p:03d}:x:{300000 + p}:{','.join(flat)}\n")
    hosts = [dit.host(f"h{i:03d}.example.com") for i in range(200)] + [dit.host(HOST)]
    for h in range(HOSTGROUPS):
        dit.hostgroup(f"hg{h:02d}", hosts[h * 10:(h + 1) * 10] + ([hosts[-1]] if h % 2 == 0 else []))
    for s in ("sshd", "su", "sudo"):
        dit.service(s)
    yaml = ["default: exclude\nhostgroups:\n"]
    for h in range(HOSTGROUPS):
        names = [f"h{i:03d}.example.com" for i in range(h * 10, (h + 1) * 10)] + ([HOST] if h % 2 == 0 else [])
        yaml.append(f"  hg{h:02d}: [{', '.join(names)}]\n")
    yaml.append("rules:\n")
    rules = []
    for r in range(RULES):
        name = f"r{r:05d}"
        attrs = [("tlogAction", "exclude" if r % 10 == 0 else "record"), ("tlogPriority", str(r % 7))]
        y = [f"  - name: {name}\n    action: {'exclude' if r % 10 == 0 else 'record'}\n    priority: {r % 7}\n"]
        if r % 3 == 0:
            g = f"p{r % PARENT_GROUPS:03d}"
            attrs.append(("memberUser", dit.group_dn(g)))
            y.append(f"    groups: [{g}, {', '.join(f'c{(r % PARENT_GROUPS) * 10 + k:04d}' for k in range(10))}]\n")
        elif r % 3 == 1:
            g = f"c{r % CHILD_GROUPS:04d}"
            attrs.append(("memberUser", dit.group_dn(g)))
            y.append(f"    groups: [{g}]\n")
        else:
            u = f"u{(r * 7) % USERS:05d}"
            attrs.append(("memberUser", users[(r * 7) % USERS]))
            y.append(f"    users: [{u}]\n")
        if r % 2 == 0:
            attrs.append(("hostCategory", "all"))
        else:
            attrs.append(("memberHost", f"cn=hg{r % HOSTGROUPS:02d},cn=hostgroups,cn=accounts,{S}"))
            y.append(f"    hostgroups: [hg{r % HOSTGROUPS:02d}]\n")
        attrs.append(("memberService", dit.service_dn("sshd")))
        y.append("    services: [sshd]\n")
        dit.rule(name, attrs)
        rules.append((name, "".join(y)))
    # sync merges directory rules by cn; the YAML lists them in that order
    yaml += [y for _, y in sorted(rules)]
    with open(d + "/rules.yaml", "w") as f:
        f.write("".join(yaml))
    with open("/etc/group") as src, open(d + "/group", "w") as f:
        f.write(src.read() + "".join(group_lines))
    with open(d + "/local.yaml", "w") as f:
        f.write("default: exclude\n")
    return dit.ldif()


def setup(d):
    os.makedirs(d, exist_ok=True)
    gen = os.environ.get("BUILD_ROOT", "build") + "/ldap-schema"
    s = Slapd(d, [gen + "/freeipa-compat.ldif", gen + "/tlog.ldif"])
    t0 = time.monotonic()
    with open(d + "/dit.ldif", "w") as f:
        f.write(build(d))
    r = subprocess.run(["slapadd", "-q", "-F", s.dir + "/slapd.d", "-b", S, "-l", d + "/dit.ldif"],
                       capture_output=True, text=True)
    if r.returncode:
        sys.exit("slapadd: " + r.stderr[-2000:])
    s.start()
    with open(d + "/slapd.pid.bench", "w") as f:
        f.write(str(s.proc.pid))
    with open(d + "/ldap.yaml", "w") as f:
        f.write(f"uri: {s.uri}\nbase: {S}\nhost: {HOST}\ntimeout: 10\npage_size: 1000\n")
    tp = os.path.abspath(os.environ.get("BUILD_ROOT", "build") + "/policy/tlog-policy")
    print(f"ready in {time.monotonic() - t0:.0f} s; slapd pid {s.proc.pid}")
    print(f"sync:    {tp} sync --rules {d}/local.yaml --ldap {d}/ldap.yaml --output {d}/ldap.cache")
    print(f"compile: {tp} compile --rules {d}/rules.yaml --output {d}/yaml.cache --host {HOST}"
          f"   (with {d}/group bind-mounted over /etc/group)")
    s.proc = None  # keep it running after this script exits


def stop(d):
    with open(d + "/slapd.pid.bench") as f:
        pid = int(f.read())
    os.kill(pid, signal.SIGTERM)


{"setup": setup, "stop": stop}[sys.argv[1]](os.path.abspath(sys.argv[2]))
