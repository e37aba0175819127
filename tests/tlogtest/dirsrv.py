"""A real 389 Directory Server (Debian's 389-ds-base, FreeIPA's directory)
for the LDAP tests: `dscreate from-file` with a copy of defaults.inf whose
paths all lie under the test's directory and with_systemd = 0 (so it never
calls systemctl nor touches /etc/dirsrv), then ns-slapd in the foreground,
stopped by PID. No ACIs: only the Directory Manager reads until a test adds
some."""
import os
import shutil
import subprocess

from tlogtest.slapd import free_port, wait_answering
from tlogtest.terminal import check, fail

ROOT_DN = "cn=Directory Manager"
ROOT_PW = "Secret-389-ds"
NAME = "tlogtest"


class Dirsrv:
    def __init__(self, T, suffix="dc=example,dc=com"):
        check(shutil.which("dscreate") and os.path.exists("/usr/sbin/ns-slapd"), "389-ds-base is not installed")
        self.suffix = suffix
        self.p = P = os.path.join(T, "dirsrv")
        self.port = free_port()
        self.uri = f"ldap://127.0.0.1:{self.port}/"
        os.makedirs(P + "/share/dirsrv/inf")
        with open("/usr/share/dirsrv/inf/defaults.inf") as f:
            lines = []
            for line in f:
                if line.startswith("with_systemd"):
                    line = "with_systemd = 0\n"
                for old, new in (("= /tmp", "/tmp"), ("= /etc", "/etc"), ("= /var", "/var"), ("= /run", "/run"),
                                 ("= /dev/shm", "/shm")):
                    if old in line and not line.lstrip().startswith(";"):
                        line = line.replace(old, "= " + P + new, 1)
                        break
                lines.append(line)
        with open(P + "/share/dirsrv/inf/defaults.inf", "w") as f:
            f.writelines(lines)
        # ns-slapd drops to dirsrv at once: every directory it uses must exist, owned by it.
        for d in ("etc/dirsrv", f"var/log/dirsrv/slapd-{NAME}", f"var/lib/dirsrv/slapd-{NAME}/db",
                  f"var/lib/dirsrv/slapd-{NAME}/bak", f"var/lib/dirsrv/slapd-{NAME}/ldif", "run/dirsrv",
                  f"run/lock/dirsrv/slapd-{NAME}", f"shm/slapd-{NAME}", "tmp"):
            os.makedirs(os.path.join(P, d), exist_ok=True)
        for src in ("schema", "config"):
            if os.path.isdir("/etc/dirsrv/" + src):
                shutil.copytree("/etc/dirsrv/" + src, f"{P}/etc/dirsrv/{src}", dirs_exist_ok=True)
        subprocess.run(["chown", "-R", "dirsrv:dirsrv", P], check=True)
        subprocess.run(["chmod", "-R", "u+rwX,go+rX", P], check=True)
        d = T
        while d != "/":  # dirsrv must traverse the test's directories
            os.chmod(d, os.stat(d).st_mode | 0o005)
            d = os.path.dirname(d)
        with open(P + "/inst.inf", "w") as f:
            f.write(f"[general]\nfull_machine_name = localhost\nstart = False\nstrict_host_checking = False\n"
                    f"[slapd]\ninstance_name = {NAME}\nport = {self.port}\nsecure_port = {free_port()}\n"
                    f"self_sign_cert = False\nroot_password = {ROOT_PW}\n"
                    f"[backend-userroot]\nsuffix = {suffix}\nsample_entries = no\ncreate_suffix_entry = yes\n")
        # PREFIX makes lib389 read our defaults.inf (paths under P, no systemd).
        r = subprocess.run(["dscreate", "from-file", P + "/inst.inf"], capture_output=True, text=True, timeout=300,
                           env=dict(os.environ, PREFIX=P))
        rc, out, err = r.returncode, r.stdout, r.stderr
        if rc:
            log = f"{P}/var/log/dirsrv/slapd-{NAME}/errors"
            fail(f"dscreate failed: {out}{err}" + (open(log).read()[-2000:] if os.path.exists(log) else ""))
        self.proc = None

    def start(self):
        self.log = open(self.p + "/ns-slapd.out", "w")
        self.proc = subprocess.Popen(["/usr/sbin/ns-slapd", "-D", f"{self.p}/etc/dirsrv/slapd-{NAME}", "-i",
                                      f"{self.p}/run/dirsrv/slapd-{NAME}.pid", "-d", "0"],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        return wait_answering(self, 60, f"{self.p}/var/log/dirsrv/slapd-{NAME}/errors", "ns-slapd")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def __enter__(self):
        return self if self.proc else self.start()

    def __exit__(self, *exc):
        self.stop()

    def ldap(self, tool, ldif, dn=ROOT_DN, pw=ROOT_PW):
        r = subprocess.run([tool, "-x", "-H", self.uri, "-D", dn, "-w", pw], input=ldif, capture_output=True,
                           text=True, timeout=60)
        return r.returncode, r.stdout + r.stderr

    def load_schema(self, path):
        """A 389-ds cn=schema LDIF (99user style), added online with ldapmodify."""
        mods = []
        for line in open(path):
            for key in ("attributeTypes", "objectClasses"):
                if line.startswith(key + ":"):
                    mods.append(f"add: {key}\n{line.rstrip()}\n-\n")
        rc, out = self.ldap("ldapmodify", "dn: cn=schema\nchangetype: modify\n" + "".join(mods))
        check(rc == 0, f"389-ds refused {path}: {out}")
