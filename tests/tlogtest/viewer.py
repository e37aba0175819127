"""A viewer for tests that read from tlog-server: an access rules file
giving the test auditor every right over every recording (server_args()),
an API token issued with `tlog-server viewer-token issue` on the server's
database, sent by every urllib request of the test (install()) and put into
the base URLs given to tlog-play (url()), as Debian's tlog-play sends it
through libcurl."""

import base64
import os
import subprocess
import urllib.parse
import urllib.request

VIEWER = "tlog-test-auditor"


RULES = """# The tests' auditor sees everything (tests/tlogtest/viewer.py).
rules:
  - name: test auditor
    viewers: {users: [%s]}
    recordings: {users: all}
    rights: all
"""


def access_file(d, text=None):
    """Writes an access rules file into directory `d` (default: the test
    auditor may do everything); its path."""
    path = os.path.join(d, "server-access.yaml")
    with open(path, "w") as f:
        f.write(text if text is not None else RULES % VIEWER)
    return path


def server_args(d):
    """tlog-server's options for the access rules of access_file(d)."""
    return ["--access-rules", access_file(d)]


def issue(server_bin, database, user=VIEWER, expires=None, config=None):
    """A new token of `user` (the token, as printed once)."""
    args = [server_bin]
    if config:
        args += ["--config", config]
    args += ["--database", database, "viewer-token", "issue", user]
    if expires is not None:
        args += ["--expires", str(expires)]
    r = subprocess.run(args, capture_output=True, text=True, timeout=120)
    if r.returncode != 0 or len(r.stdout.strip()) != 64:
        raise RuntimeError("viewer-token issue %s failed (%d): %s" % (user, r.returncode, r.stderr))
    return r.stdout.strip()


class _Auth(urllib.request.BaseHandler):
    """Adds the token of the request's server (by host:port; else the last
    one installed) to every GET without an Authorization: the reads. A POST
    (ingest, sign-in) goes as the test wrote it: a viewer's token is no
    host's ingest token, and the server refuses it there."""
    handler_order = 100

    def __init__(self):
        self.by_netloc, self.default = {}, None

    def http_request(self, req):
        token = self.by_netloc.get(urllib.parse.urlsplit(req.full_url).netloc, self.default)
        if token and req.get_method() == "GET" and not req.has_header("Authorization"):
            req.add_unredirected_header("Authorization", "Bearer " + token)
        return req

    https_request = http_request


_AUTH = _Auth()


class Viewer:
    def __init__(self, user, token):
        self.user, self.token = user, token

    def headers(self):
        return {"Authorization": "Bearer " + self.token}

    def basic(self):
        return "Basic " + base64.b64encode(("%s:%s" % (self.user, self.token)).encode()).decode()

    def url(self, base):
        """`base` with USER:TOKEN@ in its authority."""
        p = urllib.parse.urlsplit(base)
        netloc = "%s:%s@%s" % (self.user, self.token, p.netloc.rsplit("@", 1)[-1])
        return urllib.parse.urlunsplit(p._replace(netloc=netloc))


def install(server_bin, database, base=None, user=VIEWER, config=None, context=None):
    """Issues a token and makes every urllib.request.urlopen of this process
    send it: to the server at `base` (http://HOST:PORT), and to any other
    server whose token was not installed; the Viewer. `context`: the SSL
    context HTTPS requests use (urlopen given a context of its own builds
    another opener, without the token)."""
    v = Viewer(user, issue(server_bin, database, user, config=config))
    if base:
        _AUTH.by_netloc[urllib.parse.urlsplit(base).netloc] = v.token
    _AUTH.default = v.token
    handlers = [_AUTH] + ([urllib.request.HTTPSHandler(context=context)] if context else [])
    urllib.request.install_opener(urllib.request.build_opener(*handlers))
    return v
