"""Test certificate authorities made with the openssl command: CAs, server
and host (client) certificates, an expired one, a revoked one and the CRL.
`openssl ca` is used throughout because it alone (in OpenSSL 3.0) takes a
start and end date, which the expired certificate needs."""
import os
import subprocess


class CertError(Exception):
    pass


def _run(d, *args):
    r = subprocess.run(["openssl", *args], capture_output=True, timeout=120, cwd=d)
    if r.returncode != 0:
        raise CertError("openssl %s: %s" % (" ".join(args[:2]), r.stderr.decode(errors="replace")[-800:]))
    return r.stdout


class CA:
    """A CA in its own directory under `d`; files are absolute paths."""

    def __init__(self, d, name):
        self.dir = os.path.abspath(os.path.join(d, name))
        os.makedirs(os.path.join(self.dir, "new"), exist_ok=True)
        self.name = name
        self.cert = os.path.join(self.dir, "ca.pem")
        self.key = os.path.join(self.dir, "ca.key")
        self.crl = os.path.join(self.dir, "crl.pem")
        open(os.path.join(self.dir, "index.txt"), "w").close()
        with open(os.path.join(self.dir, "serial"), "w") as f:
            f.write("1000\n")
        with open(os.path.join(self.dir, "crlnumber"), "w") as f:
            f.write("1000\n")
        self.conf = os.path.join(self.dir, "ca.cnf")
        with open(self.conf, "w") as f:
            f.write("""[ca]
default_ca = ca_section
[ca_section]
dir = {d}
database = {d}/index.txt
new_certs_dir = {d}/new
serial = {d}/serial
crlnumber = {d}/crlnumber
default_md = sha256
default_crl_days = 30
policy = any_policy
unique_subject = no
copy_extensions = none
[any_policy]
commonName = supplied
[req]
distinguished_name = dn
[dn]
[ca_ext]
basicConstraints = critical,CA:true
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
""".format(d=self.dir))
        _run(self.dir, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-config", self.conf,
             "-extensions", "ca_ext", "-subj", "/CN=%s" % name, "-keyout", self.key, "-out", self.cert)
        self.gencrl()

    def issue(self, name, cn, dns=(), ips=(), usage="clientAuth", start=None, end=None):
        """A certificate and its key (mode 0600): (cert, key). `start` and
        `end` are openssl's YYYYMMDDHHMMSSZ; else valid from now for 30 days."""
        key = os.path.join(self.dir, name + ".key")
        csr = os.path.join(self.dir, name + ".csr")
        cert = os.path.join(self.dir, name + ".pem")
        ext = os.path.join(self.dir, name + ".ext")
        _run(self.dir, "req", "-newkey", "rsa:2048", "-nodes", "-config", self.conf, "-subj", "/CN=%s" % cn,
             "-keyout", key, "-out", csr)
        os.chmod(key, 0o600)
        alt = ["DNS:" + n for n in dns] + ["IP:" + i for i in ips]
        with open(ext, "w") as f:
            f.write("basicConstraints = CA:false\nkeyUsage = critical,digitalSignature,keyEncipherment\n"
                    "extendedKeyUsage = %s\n" % usage)
            if alt:
                f.write("subjectAltName = %s\n" % ",".join(alt))
        dates = ["-startdate", start, "-enddate", end] if start else ["-days", "30"]
        _run(self.dir, "ca", "-batch", "-config", self.conf, "-cert", self.cert, "-keyfile", self.key,
             "-in", csr, "-out", cert, "-extfile", ext, "-notext", *dates)
        return cert, key

    def revoke(self, cert):
        _run(self.dir, "ca", "-config", self.conf, "-cert", self.cert, "-keyfile", self.key, "-revoke", cert)
        self.gencrl()

    def gencrl(self):
        _run(self.dir, "ca", "-config", self.conf, "-cert", self.cert, "-keyfile", self.key, "-gencrl",
             "-out", self.crl)
