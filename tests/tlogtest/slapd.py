"""A real OpenLDAP slapd for the LDAP tests: started on 127.0.0.1 (a free
port) and an ldapi socket under the test's directory, with the schema in
either form (the cn=config LDIF through slapadd, or the .schema files
through a slapd.conf), optionally StartTLS/ldaps with a test CA. Stopped by
PID. Never touches the host's slapd (/etc/ldap/slapd.d is not read)."""
import os
import socket
import subprocess
import time
import urllib.parse

from tlogtest.namespace import stop_process
from tlogtest.terminal import check, fail

SYSTEM_SCHEMA = "/etc/ldap/schema"
BASE_SCHEMAS = ["core", "cosine", "inetorgperson", "nis"]
ROOT_PW = "secret"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(cmd, input=None, timeout=60):
    r = subprocess.run(cmd, input=input, capture_output=True, text=True, timeout=timeout)
    return r.returncode, r.stdout, r.stderr


def make_ca(d, host="127.0.0.1"):
    """A CA and a server certificate for `host` (IP SAN and localhost)."""
    os.makedirs(d, exist_ok=True)
    cmds = [
        f"openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=tlog-test-ca -keyout {d}/ca.key -out {d}/ca.crt",
        f"openssl req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout {d}/server.key -out {d}/server.csr",
        f"printf 'subjectAltName=IP:{host},DNS:localhost\\n' > {d}/san.ext",
        f"openssl x509 -req -in {d}/server.csr -CA {d}/ca.crt -CAkey {d}/ca.key -CAcreateserial -days 2 "
        f"-extfile {d}/san.ext -out {d}/server.crt",
        f"chmod 644 {d}/server.key",
    ]
    for c in cmds:
        r = subprocess.run(c, shell=True, capture_output=True, text=True)
        if r.returncode:
            fail(f"{c}: {r.stderr}")
    return d + "/ca.crt"


def wait_answering(server, seconds, errors_log, what):
    """Waits until `server.uri` answers a root DSE search; fails naming
    `what` with the end of `errors_log` if the process exits first or the
    time runs out (the process is stopped then)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            fail(f"{what} exited with {server.proc.returncode}: " + open(errors_log).read()[-2000:])
        rc, _, _ = run(["ldapsearch", "-x", "-H", server.uri, "-b", "", "-s", "base", "-o", "nettimeout=2"],
                       timeout=10)
        if rc == 0:
            return server
        time.sleep(0.05)
    server.stop()
    fail(f"{what} did not answer within {seconds} s")


class Slapd:
    """form: 'cnconfig' (schema LDIF loaded with slapadd -n0) or 'schema'
    (slapd.conf including the .schema files). schemas: paths of our schema
    files in that form (ldif or .schema), loaded after the system ones."""

    def __init__(self, T, schemas, form="cnconfig", suffix="dc=example,dc=com", tls=False, name="slapd",
                 config_extra="", env=None):
        self.config_extra = config_extra  # lines for the cn=config entry (olcSaslHost, olcAuthzRegexp, ...)
        self.env = env
        self.dir = os.path.join(T, name)
        os.makedirs(self.dir + "/db", exist_ok=True)
        self.suffix = suffix
        self.rootdn = "cn=admin," + suffix
        self.port = free_port()
        self.uri = f"ldap://127.0.0.1:{self.port}/"
        self.sock = self.dir + "/ldapi"
        self.ldapi = "ldapi://" + urllib.parse.quote(self.sock, safe="")
        self.tls_port = free_port() if tls else None
        self.ldaps = f"ldaps://127.0.0.1:{self.tls_port}/" if tls else None
        self.ca = make_ca(self.dir + "/tls") if tls else None
        self.form = form
        self.proc = None
        if form == "cnconfig":
            self._cnconfig(schemas, tls)
        elif form == "schema":
            self._conf(schemas, tls)
        else:
            fail("unknown slapd form " + form)

    def _tls_lines(self, key_prefix):
        d = self.dir + "/tls"
        names = {"olc": ("olcTLSCACertificateFile: ", "olcTLSCertificateFile: ", "olcTLSCertificateKeyFile: "),
                 "conf": ("TLSCACertificateFile ", "TLSCertificateFile ", "TLSCertificateKeyFile ")}[key_prefix]
        return f"{names[0]}{d}/ca.crt\n{names[1]}{d}/server.crt\n{names[2]}{d}/server.key\n"

    def _cnconfig(self, schemas, tls):
        parts = ["dn: cn=config\nobjectClass: olcGlobal\ncn: config\n"
                 f"olcPidFile: {self.dir}/slapd.pid\n" + (self._tls_lines("olc") if tls else "") + self.config_extra,
                 "dn: cn=module{0},cn=config\nobjectClass: olcModuleList\ncn: module{0}\n"
                 "olcModulePath: /usr/lib/ldap\nolcModuleLoad: back_mdb\nolcModuleLoad: memberof\n",
                 "dn: cn=schema,cn=config\nobjectClass: olcSchemaConfig\ncn: schema\n"]
        for s in [f"{SYSTEM_SCHEMA}/{n}.ldif" for n in BASE_SCHEMAS] + list(schemas):
            with open(s) as f:
                parts.append("".join(l for l in f if not l.startswith("#")).strip() + "\n")
        parts.append("dn: olcDatabase={-1}frontend,cn=config\nobjectClass: olcDatabaseConfig\n"
                     "objectClass: olcFrontendConfig\nolcDatabase: {-1}frontend\nolcSizeLimit: unlimited\n")
        parts.append("dn: olcDatabase={0}config,cn=config\nobjectClass: olcDatabaseConfig\nolcDatabase: {0}config\n"
                     "olcAccess: {0}to * by dn.exact=gidNumber=%d+uidNumber=%d,cn=peercred,cn=external,cn=auth manage"
                     " by * break\n" % (os.getgid(), os.getuid()))
        parts.append(self._mdb_ldif())
        # memberOf on users, as FreeIPA's memberOf plugin keeps it.
        parts.append("dn: olcOverlay={0}memberof,olcDatabase={1}mdb,cn=config\nobjectClass: olcOverlayConfig\n"
                     "objectClass: olcMemberOf\nolcOverlay: {0}memberof\nolcMemberOfGroupOC: groupOfNames\n")
        conf = self.dir + "/config.ldif"
        with open(conf, "w") as f:
            f.write("\n".join(p for p in parts))
        os.makedirs(self.dir + "/slapd.d", exist_ok=True)
        rc, out, err = run(["slapadd", "-n0", "-F", self.dir + "/slapd.d", "-l", conf])
        if rc:
            fail(f"slapadd -n0 refused the configuration ({conf}): {out}{err}")
        self.args = ["-F", self.dir + "/slapd.d"]

    def _mdb_ldif(self):
        return (f"dn: olcDatabase={{1}}mdb,cn=config\nobjectClass: olcDatabaseConfig\nobjectClass: olcMdbConfig\n"
                f"olcDatabase: {{1}}mdb\nolcDbDirectory: {self.dir}/db\nolcSuffix: {self.suffix}\n"
                f"olcRootDN: {self.rootdn}\nolcRootPW: {ROOT_PW}\nolcDbMaxSize: 1073741824\n"
                "olcSizeLimit: unlimited\nolcLimits: {0}* size.prtotal=unlimited size.pr=1000 size=unlimited\n"
                "olcAccess: {0}to * by * read\n"
                "olcDbIndex: objectClass,member,memberUser,memberHost,uid,cn eq\n")

    def _conf(self, schemas, tls):
        lines = [f"include {SYSTEM_SCHEMA}/{n}.schema" for n in BASE_SCHEMAS] + [f"include {s}" for s in schemas]
        lines += [f"pidfile {self.dir}/slapd.pid", "modulepath /usr/lib/ldap", "moduleload back_mdb"]
        if tls:
            lines.append(self._tls_lines("conf").strip())
        lines += ["sizelimit unlimited", "database mdb", f"directory {self.dir}/db", f'suffix "{self.suffix}"',
                  f'rootdn "{self.rootdn}"', f"rootpw {ROOT_PW}", "maxsize 1073741824", "access to * by * read",
                  "index objectClass,member,memberUser,memberHost,uid,cn eq"]
        conf = self.dir + "/slapd.conf"
        with open(conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        rc, out, err = run(["slaptest", "-u", "-f", conf])
        if rc:
            fail(f"slaptest refused {conf}: {out}{err}")
        self.args = ["-f", conf]

    def start(self):
        urls = f"{self.uri} {self.ldapi}" + (f" {self.ldaps}" if self.ldaps else "")
        self.log = open(self.dir + "/slapd.log", "w")
        self.proc = subprocess.Popen(["/usr/sbin/slapd", "-d", "0", "-h", urls] + self.args,
                                     stdout=self.log, stderr=subprocess.STDOUT, env=self.env)
        return wait_answering(self, 30, self.dir + "/slapd.log", "slapd")

    def stop(self):
        if self.proc:
            stop_process(self.proc, 15)
        self.proc = None

    def __enter__(self):
        # `with Slapd(...).start() as s:` must not start a second server
        return self if self.proc else self.start()

    def __exit__(self, *exc):
        self.stop()

    def modify(self, ldif, add=True, check_ok=True):
        """ldapadd (or ldapmodify) as the root DN; returns (rc, output)."""
        cmd = ["ldapadd" if add else "ldapmodify", "-x", "-H", self.uri, "-D", self.rootdn, "-w", ROOT_PW]
        rc, out, err = run(cmd, input=ldif)
        if check_ok and rc:
            fail(f"{' '.join(cmd[:1])} failed ({rc}): {out}{err}\n--- input:\n{ldif[:2000]}")
        return rc, out + err

    def search(self, base, filt="(objectClass=*)", attrs=(), scope="sub"):
        rc, out, err = run(["ldapsearch", "-LLL", "-x", "-H", self.uri, "-D", self.rootdn, "-w", ROOT_PW,
                            "-o", "ldif-wrap=no", "-b", base, "-s", scope, filt] + list(attrs))
        check(rc == 0, f"ldapsearch {base} {filt}: {err}")
        return out


def suffixed(path, suffix):
    """An LDIF file of ldap-schema/ with $SUFFIX replaced."""
    with open(path) as f:
        return f.read().replace("$SUFFIX", suffix)


def shipped_acl(slapd, source_root, timeout=120):
    """Loads ldap-schema/openldap-acl.ldif as shipped into `slapd`, then a
    site's closing rules after it (passwords for binds only; nothing else
    of cn=sessionrecording), as tests/ldap/schema_test.py checks them."""
    site = ("dn: olcDatabase={1}mdb,cn=config\nchangetype: modify\nadd: olcAccess\n"
            "olcAccess: {4}to attrs=userPassword by anonymous auth by * none\n"
            "olcAccess: {5}to dn.subtree=\"cn=sessionrecording,%s\" by * none\n" % slapd.suffix)
    for ldif in (suffixed(source_root + "/ldap-schema/openldap-acl.ldif", slapd.suffix), site):
        r = subprocess.run(["ldapmodify", "-Y", "EXTERNAL", "-H", slapd.ldapi], input=ldif, capture_output=True,
                           text=True, timeout=timeout)
        check(r.returncode == 0, "slapd refused the ACL: " + r.stderr)


class Dit:
    """LDIF for a FreeIPA-shaped tree (cn=accounts, cn=hbac,
    cn=sessionrecording with its rules and, once used, access) on a plain slapd with freeipa-compat loaded. Each
    method appends entries; `ldif()` returns them in an order ldapadd takes."""

    def __init__(self, suffix="dc=example,dc=com"):
        self.s = suffix
        self.entries = []
        for dn, oc in [(suffix, None), (f"cn=accounts,{suffix}", "tlogContainer"),
                       (f"cn=users,cn=accounts,{suffix}", "tlogContainer"),
                       (f"cn=groups,cn=accounts,{suffix}", "tlogContainer"),
                       (f"cn=computers,cn=accounts,{suffix}", "tlogContainer"),
                       (f"cn=hostgroups,cn=accounts,{suffix}", "tlogContainer"),
                       (f"cn=hbac,{suffix}", "tlogContainer"),
                       (f"cn=hbacservices,cn=hbac,{suffix}", "tlogContainer"),
                       (f"cn=hbacservicegroups,cn=hbac,{suffix}", "tlogContainer"),
                       (f"cn=sessionrecording,{suffix}", "tlogContainer"),
                       (f"cn=rules,cn=sessionrecording,{suffix}", "tlogContainer")]:
            if oc is None:
                dc = suffix.split(",")[0].split("=")[1]
                self.entries.append(f"dn: {dn}\nobjectClass: dcObject\nobjectClass: organization\ndc: {dc}\no: {dc}\n")
            else:
                self.entries.append(f"dn: {dn}\nobjectClass: {oc}\ncn: {dn.split(',')[0][3:]}\n")

    def user(self, name, uid, gid):
        dn = f"uid={name},cn=users,cn=accounts,{self.s}"
        self.entries.append(f"dn: {dn}\nobjectClass: inetOrgPerson\nobjectClass: posixAccount\n"
                            f"uid: {name}\ncn: {name}\nsn: {name}\nuidNumber: {uid}\ngidNumber: {gid}\n"
                            f"homeDirectory: /home/{name}\n")
        return dn

    def group(self, name, gid, members):
        dn = self.group_dn(name)
        g = f"objectClass: extensibleObject\ngidNumber: {gid}\n" if gid is not None else ""
        m = "".join(f"member: {x}\n" for x in members) or f"member: {self.s}\n"
        self.entries.append(f"dn: {dn}\nobjectClass: ipaUserGroup\n{g}cn: {name}\n{m}")
        return dn

    def group_dn(self, name):
        return f"cn={name},cn=groups,cn=accounts,{self.s}"

    def host(self, fqdn, password=None):
        dn = self.host_dn(fqdn)
        pw = f"userPassword: {password}\n" if password else ""
        self.entries.append(f"dn: {dn}\nobjectClass: device\nobjectClass: ipaHost\ncn: {fqdn}\nfqdn: {fqdn}\n{pw}")
        return dn

    def host_dn(self, fqdn):
        return f"fqdn={fqdn},cn=computers,cn=accounts,{self.s}"

    def hostgroup(self, name, members):
        dn = f"cn={name},cn=hostgroups,cn=accounts,{self.s}"
        self.entries.append(f"dn: {dn}\nobjectClass: ipaHostGroup\ncn: {name}\n" +
                            "".join(f"member: {x}\n" for x in members))
        return dn

    def service(self, name):
        dn = self.service_dn(name)
        self.entries.append(f"dn: {dn}\nobjectClass: ipaHBACService\ncn: {name}\n")
        return dn

    def service_dn(self, name):
        return f"cn={name},cn=hbacservices,cn=hbac,{self.s}"

    def servicegroup(self, name, members):
        dn = f"cn={name},cn=hbacservicegroups,cn=hbac,{self.s}"
        self.entries.append(f"dn: {dn}\nobjectClass: ipaHBACServiceGroup\ncn: {name}\n" +
                            "".join(f"member: {x}\n" for x in members))
        return dn

    def hbac(self, name, attrs):
        dn = f"cn={name},cn=hbac,{self.s}"
        self.entries.append(f"dn: {dn}\nobjectClass: ipaHBACRule\ncn: {name}\naccessRuleType: allow\n" +
                            "".join(f"{k}: {v}\n" for k, v in attrs))
        return dn

    def rule(self, name, attrs):
        dn = self.rule_dn(name)
        self.entries.append(f"dn: {dn}\nobjectClass: tlogRecordingRule\ncn: {name}\n" +
                            "".join(f"{k}: {v}\n" for k, v in attrs))
        return dn

    def rule_dn(self, name):
        return f"cn={name},cn=rules,cn=sessionrecording,{self.s}"

    def access(self, name, attrs):
        """A tlogViewerAccess entry (the server's access rules) under
        cn=access,cn=sessionrecording; that container is added with the
        first one. attrs: [(attribute, value)]."""
        container = f"cn=access,cn=sessionrecording,{self.s}"
        if not any(e.startswith(f"dn: {container}\n") for e in self.entries):
            self.entries.append(f"dn: {container}\nobjectClass: tlogContainer\ncn: access\n")
        dn = self.access_dn(name)
        self.entries.append(f"dn: {dn}\nobjectClass: tlogViewerAccess\ncn: {name}\n" +
                            "".join(f"{k}: {v}\n" for k, v in attrs))
        return dn

    def access_dn(self, name):
        return f"cn={name},cn=access,cn=sessionrecording,{self.s}"

    def ldif(self):
        return "\n".join(self.entries)
