"""A real MIT Kerberos KDC (Debian's krb5-kdc) for the GSSAPI tests: its
own realm, database and krb5.conf under the test's directory (KRB5_CONFIG,
KRB5_KDC_PROFILE), on 127.0.0.1, stopped by PID. The host's /etc/krb5.conf
and keytab are never read."""
import os
import socket
import subprocess
import time

from tlogtest.slapd import free_port
from tlogtest.terminal import check, fail

REALM = "TLOGTEST.EXAMPLE"


class Kdc:
    def __init__(self, T):
        self.dir = d = os.path.join(T, "kdc")
        os.makedirs(d)
        self.port = free_port()
        self.conf = d + "/krb5.conf"
        with open(self.conf, "w") as f:
            f.write(f"[libdefaults]\n default_realm = {REALM}\n dns_lookup_kdc = false\n dns_lookup_realm = false\n"
                    f" rdns = false\n dns_canonicalize_hostname = false\n udp_preference_limit = 1\n"
                    f"[realms]\n {REALM} = {{\n  kdc = 127.0.0.1:{self.port}\n }}\n")
        self.kdcconf = d + "/kdc.conf"
        with open(self.kdcconf, "w") as f:
            f.write(f"[kdcdefaults]\n kdc_ports = {self.port}\n kdc_tcp_ports = {self.port}\n"
                    f"[realms]\n {REALM} = {{\n  database_name = {d}/principal\n  key_stash_file = {d}/stash\n"
                    f"  acl_file = {d}/kadm5.acl\n }}\n[logging]\n kdc = FILE:{d}/kdc.log\n")
        open(d + "/kadm5.acl", "w").close()
        self.env = dict(os.environ, KRB5_CONFIG=self.conf, KRB5_KDC_PROFILE=self.kdcconf)
        self._run(["kdb5_util", "create", "-s", "-r", REALM, "-P", "tlogtest-master"])
        self.proc = None

    def _run(self, cmd):
        r = subprocess.run(cmd, capture_output=True, text=True, env=self.env, timeout=60)
        if r.returncode:
            fail(f"{' '.join(cmd)}: {r.stdout}{r.stderr}")
        return r.stdout

    def principal(self, name, keytab):
        """Adds NAME@REALM with a random key and writes it to `keytab`."""
        self._run(["kadmin.local", "-r", REALM, "-q", f"addprinc -randkey {name}"])
        self._run(["kadmin.local", "-r", REALM, "-q", f"ktadd -k {keytab} {name}"])

    def start(self):
        self.out = open(self.dir + "/krb5kdc.out", "w")
        self.proc = subprocess.Popen(["krb5kdc", "-n", "-r", REALM], env=self.env, stdout=self.out,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            check(self.proc.poll() is None, "krb5kdc exited: " + open(self.dir + "/krb5kdc.out").read()[-1000:])
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        fail("krb5kdc did not listen within 20 s")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
