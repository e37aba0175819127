"""Our tlog-play reading from a server: -r es (tlog's Elasticsearch reader,
against tlog-server's _search) and -r server (tlog-server's own API).
"play": a recording made by our tlog-rec is ingested into a real
tlog-server; both readers play, export and search it exactly as the file;
Debian's tlog-play -r es and ours leave the same screen; --verify over the
server says intact, and a recording with one altered message (ingested as a
second recording) is reported at that message; -f shows messages ingested
after it started.
"errors": a server that is down, a recording it does not have, and servers
answering junk (a python http.server) each give exit status 1 and a message
naming the URL and what was wrong.
"https": a python https server with a private CA's certificate: refused
without --ca-file and with another CA's, played with the right one.
Environment: TLOG_SERVER, TLOG_REC, TLOG_PLAY (ours)."""
import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading

import server_play_test
from server_play_test import fail, need, play, post, record, start_server
from tlogtest.player import Tmux

TLOG_PLAY = os.environ["TLOG_PLAY"]


def ours(args, check=True, **env):
    """Our tlog-play without a terminal (exports, --verify, --search)."""
    r = subprocess.run([TLOG_PLAY, "--no-cache"] + args, capture_output=True, timeout=120,
                       env=dict(os.environ, TLOG_PLAY_CONF_TEXT="", **env))
    if check and r.returncode != 0:
        fail("tlog-play %s: exit %d: %r" % (" ".join(args), r.returncode, r.stderr[-500:]))
    return r


def ingest(base, lines):
    status, r = post(base + "/api/v1/ingest", b"\n".join(lines) + b"\n")
    if status != 200 or r["failed"] != 0:
        fail("ingest: %d %r" % (status, r))


def screen_of(command, last):
    """The 20 rows up to the one holding `last` that a player leaves in an
    80x24 tmux pane once it exits. (Debian's player writes a newline as it
    exits, which scrolls one more row; the rows above are the recording's.)"""
    t = Tmux(80, 24)
    try:
        t.start(command)
        t.wait_dead(60)
        rows = [line.rstrip() for line in t.screen().splitlines()]
    finally:
        t.kill()
    at = [i for i, row in enumerate(rows) if last in row]
    if not at or at[-1] < 19:
        fail("%s left no 20 rows up to %r:\n%s" % (command, last, "\n".join(rows)))
    return rows[at[-1] - 19:at[-1] + 1]


def tampered(msgs, id_):
    """The messages with the output text of message `id_` altered (valid
    JSON still, so the server takes it)."""
    out = []
    for m in msgs:
        o = json.loads(m)
        if o["id"] == id_:
            if not o.get("out_txt") or o["out_txt"].swapcase() == o["out_txt"]:
                fail("message %d has no output text to alter" % id_)
            o["out_txt"] = o["out_txt"].swapcase()
            m = json.dumps(o, ensure_ascii=False, separators=(",", ":")).encode()
        out.append(m)
    return out


def test_play():
    for prog in ("tlog-play", "script", "tmux"):
        need(prog)
    d = tempfile.mkdtemp(prefix="tlog-remote-play.")
    server = None
    try:
        log, msgs, rec = record(d, "alpha", 60)
        server, base = start_server(d)
        rbase = server_play_test.VIEWER.url(base)  # a viewer's token in it, as the players send it
        ingest(base, msgs)
        es = ["-r", "es", "--es-baseurl=%s/tlog/_search" % rbase, "--es-query=rec:" + rec]
        srv = ["-r", "server", "--server-url=" + rbase, "--server-rec=" + rec]

        # Exports and search: the same bytes as from the file.
        for fmt in ("text", "asciicast"):
            want = ours(["-i", log, "--export=" + fmt]).stdout
            for reader in (es, srv):
                got = ours(reader + ["--export=" + fmt]).stdout
                if got != want or b"alpha line 60" not in want:
                    fail("%s --export=%s differs from the file's:\n%r\n%r" % (reader[1], fmt, got[-300:],
                                                                             want[-300:]))
        want = ours(["-i", log, "--search=alpha line 4[0-9]"]).stdout
        if ours(srv + ["--search=alpha line 4[0-9]"]).stdout != want or want.count(b"\n") < 10:
            fail("--search over -r server differs from the file's: %r" % want)
        # --list: the recording, from the server, intact.
        listed = json.loads(ours(srv + ["--list", "--json"]).stdout)
        rows = listed["recordings"] if isinstance(listed, dict) else listed
        if len(rows) != 1 or rows[0]["rec"] != rec or rows[0]["source"] != "server" or rows[0]["file"] is not None:
            fail("--list --json over -r server: %r" % listed)
        # Playback under a terminal (-g end: no recorded delays): the same bytes.
        want = play([TLOG_PLAY, "--no-cache", "-i", log])
        for reader in (es, srv):
            got = play([TLOG_PLAY] + reader)
            if got != want:
                fail("playing with %s differs from the file:\n%r\n%r" % (reader[1], got[-300:], want[-300:]))

        # Debian's tlog-play -r es and ours: the same screen.
        theirs = screen_of("tlog-play -g end %s" % " ".join(es), "alpha done")
        mine = screen_of("%s --exit-at-end -g end %s" % (TLOG_PLAY, " ".join(es)), "alpha done")
        if theirs != mine or not any("alpha line 60" in line for line in mine):
            fail("screens differ:\n--- Debian's tlog-play\n%s\n--- ours\n%s" % ("\n".join(theirs), "\n".join(mine)))

        # --verify: intact; a second recording, one of whose messages was
        # altered before it was ingested, is reported at that message.
        r = ours(srv + ["--verify"])
        if b"intact" not in r.stdout:
            fail("--verify over -r server: %r" % r.stdout)
        _, msgs_b, rec_b = record(d, "beta", 40)
        ingest(base, tampered(msgs_b, 5))
        r = ours(["-r", "server", "--server-url=" + rbase, "-m", rec_b, "--verify"], check=False)
        out = r.stdout.decode()
        if r.returncode != 1 or ": intact" in out or "message id 5" not in out or base not in out:
            fail("--verify of the altered recording: exit %d, %r %r" % (r.returncode, out, r.stderr))
        if "messages.log" in out + r.stderr.decode():
            fail("--verify names the private copy: %r" % out)

        # The same recording id from a second host: refused without
        # --server-host, which then picks the one to play.
        host = json.loads(msgs[0])["host"]
        other = []
        for m in msgs:
            o = json.loads(m)
            o["host"] = "other-" + host
            other.append(json.dumps(o, ensure_ascii=False, separators=(",", ":")).encode())
        ingest(base, other)
        r = ours(srv + ["--export=text"], check=False)
        if r.returncode != 1 or b"more than one host" not in r.stderr or b"--server-host" not in r.stderr:
            fail("a recording id from two hosts: exit %d, %r" % (r.returncode, r.stderr))
        if ours(srv + ["--server-host=" + host, "--export=text"]).stdout != ours(["-i", log, "--export=text"]).stdout:
            fail("--server-host did not play that host's recording")

        # -f: messages ingested after the player started are played.
        log2, msgs2, rec2 = record(d, "delta", 60)
        text = ""
        for k, m in enumerate(msgs2):
            text += json.loads(m).get("out_txt", "")
            if "delta line 30\r\n" in text:
                break
        first, rest = msgs2[:k + 1], msgs2[k + 1:]
        if not rest:
            fail("the follow recording has nothing after line 30")
        ingest(base, first)
        t = Tmux(80, 24)
        try:
            t.start("%s --no-cache -f -r server --server-url=%s --server-rec=%s" % (TLOG_PLAY, rbase, rec2))
            t.wait_for("delta line 30", 60)
            screen = t.screen()
            if "delta line 60" in screen:
                fail("-f showed messages not ingested yet:\n" + screen)
            # Ingested in pieces: each reaches the player through the
            # server's stream as it is committed.
            for i in range(0, len(rest), 3):
                ingest(base, rest[i:i + 3])
            t.wait_for("delta done", 60)
        finally:
            t.kill()
        # The stream ended with the recording (the request is logged when
        # its response is over), and pages were not polled meanwhile.
        with open(os.path.join(d, "server.log")) as f:
            # Request lines only (not the plain HTTP notice at start).
            log = [e for e in (json.loads(l) for l in f if l.startswith("{")) if "route" in e]
        streamed = [l for l in log if l["route"] == "/api/v1/sessions/{rec}/stream" and l["status"] == 200]
        pages = [l for l in log if l["path"] == "/api/v1/sessions/%s/messages" % rec2]
        if len(streamed) != 1 or len(pages) > 2:
            fail("-f -r server: %d streams, %d page requests (expected 1 stream, its first page(s))"
                 % (len(streamed), len(pages)))
        # q quits at once while the stream waits for more.
        log3, msgs3, rec3 = record(d, "epsilon", 60)
        ingest(base, msgs3[:-1])  # not its end
        t = Tmux(80, 24)
        try:
            t.start("%s --no-cache -f -r server --server-url=%s --server-rec=%s" % (TLOG_PLAY, rbase, rec3))
            t.wait_for("epsilon line 50", 60)
            t.keys("q")
            t.wait_dead(10)
        finally:
            t.kill()
        print("ok: -r es and -r server play, export, search and verify as the file; Debian's screen matches; "
              "-f follows the server's stream; q quits while it waits")
    finally:
        if server is not None:
            server.kill()
            server.wait()
        shutil.rmtree(d, True)


class Junk(http.server.BaseHTTPRequestHandler):
    """Answers every GET with the body and status the path's first part
    names: /html/..., /nohits/..., /repeat/..., /fail/..."""

    def do_GET(self):
        kind = self.path.split("/")[1]
        status, body = {
            "html": (200, b"<html><body>It works!</body></html>\n"),
            "nohits": (200, b'{"took":1,"timed_out":false}\n'),
            "badhit": (200, b'{"hits":{"hits":[{"_id":"x"}]}}\n'),
            "repeat": (200, b'{"ver":"2.3","host":"h","rec":"r","id":0}\n'),
            "fail": (500, b"internal trouble\x1b[31m here\n"),
        }.get(kind, (404, b"nothing\n"))
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def expect_error(args, *wanted):
    r = ours(args, check=False)
    err = r.stderr.decode(errors="replace")
    if r.returncode != 1 or any(w not in err for w in wanted):
        fail("tlog-play %s: exit %d, %r (expected %r)" % (" ".join(args), r.returncode, err, wanted))
    if "\x1b" in err:
        fail("tlog-play %s printed the server's control characters: %r" % (" ".join(args), err))


def test_errors():
    d = tempfile.mkdtemp(prefix="tlog-remote-errors.")
    server = junk = None
    try:
        # Down: a port nothing listens on.
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        down = "http://127.0.0.1:%d" % port
        expect_error(["-r", "server", "--server-url=" + down, "-m", "r1", "--export=text"], down, "cannot connect")
        expect_error(["-r", "es", "--es-baseurl=%s/tlog/_search" % down, "--es-query=rec:r1", "--export=text"],
                     down + "/tlog/_search?q=rec%3Ar1", "cannot connect")
        # A recording the server does not have: 404, named.
        server, base = start_server(d)
        rbase = server_play_test.VIEWER.url(base)  # a viewer's token in it, as the players send it
        expect_error(["-r", "server", "--server-url=" + rbase, "-m", "no-such-rec", "--export=text"],
                     base + "/api/v1/sessions/no-such-rec/messages", "HTTP 404", "no recording")
        # No credentials, or a wrong token: 401, the token never shown.
        expect_error(["-r", "server", "--server-url=" + base, "-m", "no-such-rec", "--export=text"], "HTTP 401")
        bad = rbase.replace(server_play_test.VIEWER.token, "f" * 64)
        expect_error(["-r", "server", "--server-url=" + bad, "-m", "no-such-rec", "--export=text"], "HTTP 401")
        r = ours(["-r", "server", "--server-url=" + rbase, "-m", "no-such-rec", "--export=text"], check=False)
        if server_play_test.VIEWER.token.encode() in r.stderr:
            fail("the token in the URL was printed: %r" % r.stderr)
        expect_error(["-r", "es", "--es-baseurl=%s/tlog/_search" % rbase, "--es-query=rec:no-such-rec",
                      "--export=text"], "no messages of the search")
        # Credentials in the URL are used, never shown.
        expect_error(["-r", "server", "--server-url=http://auditor:s3cret@127.0.0.1:%d" % port, "-m", "r1",
                      "--export=text"], "cannot connect")
        r = ours(["-r", "server", "--server-url=http://auditor:s3cret@127.0.0.1:%d" % port, "-m", "r1"], check=False)
        if b"s3cret" in r.stderr:
            fail("the password in the URL was printed: %r" % r.stderr)
        # Bad URLs are refused before anything is asked.
        r = ours(["-r", "es", "--es-baseurl=http://x/_search?q=1", "--es-query=rec:a"], check=False)
        if r.returncode != 2 or b"no query" not in r.stderr:
            fail("a base URL with a query: %d %r" % (r.returncode, r.stderr))
        r = ours(["-r", "server", "--server-url=ftp://x", "-m", "a"], check=False)
        if r.returncode != 2 or b"not an http" not in r.stderr:
            fail("an ftp URL: %d %r" % (r.returncode, r.stderr))
        # Servers answering junk.
        junk = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Junk)
        threading.Thread(target=junk.serve_forever, daemon=True).start()
        j = "http://127.0.0.1:%d" % junk.server_address[1]
        expect_error(["-r", "server", "--server-url=%s/html" % j, "-m", "r1", "--export=text"],
                     j + "/html/api/v1/sessions/r1/messages", "not a JSON message")
        expect_error(["-r", "es", "--es-baseurl=%s/html/_search" % j, "--es-query=rec:r1", "--export=text"],
                     j + "/html/_search", "not JSON", "It works!")
        expect_error(["-r", "es", "--es-baseurl=%s/nohits/_search" % j, "--es-query=rec:r1", "--export=text"],
                     "no hits.hits array")
        expect_error(["-r", "es", "--es-baseurl=%s/badhit/_search" % j, "--es-query=rec:r1", "--export=text"],
                     "hit #0 has no _source")
        expect_error(["-r", "server", "--server-url=%s/repeat" % j, "-m", "r", "--export=text"],
                     "message id 0 is not after")
        expect_error(["-r", "server", "--server-url=%s/fail" % j, "-m", "r", "--export=text"],
                     "HTTP 500", "internal trouble")
        print("ok: a server down, a missing recording and junk answers are errors naming the URL")
    finally:
        if junk is not None:
            junk.shutdown()
        if server is not None:
            server.kill()
            server.wait()
        shutil.rmtree(d, True)


def make_ca(d, name):
    """A CA and a certificate it signed for 127.0.0.1; (ca.pem, cert, key)."""
    def run(*args):
        r = subprocess.run(["openssl", *args], capture_output=True, timeout=60, cwd=d)
        if r.returncode != 0:
            fail("openssl %s: %r" % (args[0], r.stderr[-500:]))
    ca, ca_key = name + "-ca.pem", name + "-ca.key"
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=%s test CA" % name,
        "-keyout", ca_key, "-out", ca)
    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", name + ".key",
        "-out", name + ".csr")
    with open(os.path.join(d, name + ".ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\n")
    run("x509", "-req", "-in", name + ".csr", "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-days", "2",
        "-extfile", name + ".ext", "-out", name + ".pem")
    return tuple(os.path.join(d, x) for x in (ca, name + ".pem", name + ".key"))


def test_https():
    """-r server over https: the server's certificate is verified against
    the system's CAs (refused: a private CA signed it), or --ca-file's
    (played as the file); another CA's file is refused too."""
    import ssl
    need("openssl")
    d = tempfile.mkdtemp(prefix="tlog-remote-https.")
    httpd = None
    try:
        log, msgs, rec = record(d, "epsilon", 30)
        ca, cert, key = make_ca(d, "server")
        other_ca, _, _ = make_ca(d, "other")

        class Messages(http.server.BaseHTTPRequestHandler):
            """tlog-server's messages route over the recording's lines."""

            def do_GET(self):
                path, _, query = self.path.partition("?")
                params = dict(p.split("=", 1) for p in query.split("&") if "=" in p)
                if path != "/api/v1/sessions/%s/messages" % rec:
                    self.send_response(404)
                    self.end_headers()
                    return
                after = int(params.get("after", "0"))
                body = b"".join(m + b"\n" for m in msgs if json.loads(m)["id"] > after)
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Messages)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        url = "https://127.0.0.1:%d" % httpd.server_address[1]
        srv = ["-r", "server", "--server-url=" + url, "--server-rec=" + rec, "--export=text"]
        expect_error(srv, url + "/api/v1/sessions/", "certificate does not verify", "--ca-file")
        expect_error(srv + ["--ca-file=" + other_ca], "certificate does not verify", other_ca)
        want = ours(["-i", log, "--export=text"]).stdout
        got = ours(srv + ["--ca-file=" + ca]).stdout
        if got != want or b"epsilon line 30" not in got:
            fail("-r server over https differs from the file:\n%r\n%r" % (got[-300:], want[-300:]))
        # Without --ca-file the system's store is used (OpenSSL's default
        # paths, which SSL_CERT_FILE moves): the CA put there is trusted.
        if ours(srv, SSL_CERT_FILE=ca).stdout != want:
            fail("-r server over https did not trust the CA of the system's store (SSL_CERT_FILE)")
        print("ok: https is verified: refused without the CA, played with --ca-file")
    finally:
        if httpd is not None:
            httpd.shutdown()
        shutil.rmtree(d, True)


if __name__ == "__main__":
    {"play": test_play, "errors": test_errors, "https": test_https}[sys.argv[1]]()
