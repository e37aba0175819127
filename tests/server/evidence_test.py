"""tlog-server export and tlog-evidence-verify: three recordings by our
tlog-rec are ingested by a server holding a checkpoint key (one checkpoint
of three entries at its clean shutdown); one is exported, the directory is
copied where the server never wrote and checked there by
tlog-evidence-verify with only the public key (no configuration, no
database, an empty environment), by `sha256sum -c SHA256SUMS` and by
`openssl pkeyutl -verify` of the statement, and played by tlog-play -r
file. Then copies of it, altered, are each refused naming what failed: a
message changed (and the manifest not), a message changed with the
manifest updated to match, the manifest's hash changed, the inclusion
proof changed, the checkpoint's time changed, the wrong key given.
Environment: TLOG_SERVER, TLOG_REC, TLOG_PLAY, TLOG_EVIDENCE_VERIFY."""
import hashlib
import json
import os
import shutil
import subprocess
import tempfile

from server_play_test import TLOG_SERVER, fail, post, record
from verify_test import start_server, stop

TLOG_PLAY = os.environ["TLOG_PLAY"]
VERIFY = os.environ["TLOG_EVIDENCE_VERIFY"]


def run_verify(d, key):
    """The verifier alone: an empty environment, another working directory."""
    r = subprocess.run([VERIFY, d, "--key", key], capture_output=True, text=True, timeout=120, env={},
                       cwd="/")
    return r.returncode, r.stdout


def rewrite_manifest(d, name):
    with open(os.path.join(d, "manifest.json")) as f:
        m = json.load(f)
    with open(os.path.join(d, name), "rb") as f:
        m["files"][name] = hashlib.sha256(f.read()).hexdigest()
    with open(os.path.join(d, "manifest.json"), "w") as f:
        json.dump(m, f)


def altered(base, name, fn, fix_manifest=False):
    d = base + "." + name.replace("/", "_")
    shutil.copytree(base, d)
    fn(d)
    if fix_manifest:
        rewrite_manifest(d, fix_manifest)
    return d


def change_message(d):
    p = os.path.join(d, "messages.jsonl")
    with open(p, "rb") as f:
        lines = f.read().split(b"\n")
    lines[5] = lines[5].replace(b"line", b"LINE", 1)
    with open(p, "wb") as f:
        f.write(b"\n".join(lines))


def change_json(d, name, key, fn):
    p = os.path.join(d, name)
    with open(p) as f:
        o = json.load(f)
    o[key] = fn(o[key])
    with open(p, "w") as f:
        json.dump(o, f)


def main():
    d = tempfile.mkdtemp(prefix="tlog-server-evidence.")
    server = None
    try:
        db = os.path.join(d, "db.sqlite")
        key = os.path.join(d, "checkpoint.key")
        subprocess.run([TLOG_SERVER, "keygen", "--out", key], check=True, capture_output=True, timeout=60)
        conf = os.path.join(d, "server.conf")
        with open(conf, "w") as f:
            json.dump({"database": db, "checkpoint_key": key}, f)
        recs = []
        for name in ("one", "two", "three"):
            _, msgs, rec = record(d, name, 60)
            recs.append((rec, msgs))
        server, base = start_server(d)
        for rec, msgs in recs:
            status, r = post(base + "/api/v1/ingest", b"\n".join(msgs) + b"\n")
            if status != 200 or r["created"] != len(msgs):
                fail("ingest: %d %r" % (status, r))
        stop(server)
        server = None

        rec, msgs = recs[1]
        out = os.path.join(d, "export")
        r = subprocess.run([TLOG_SERVER, "export", "--config", conf, "--rec", rec, "--out", out],
                           capture_output=True, text=True, timeout=120)
        if r.returncode != 0 or "%d messages (%d covered by checkpoint 1)" % (len(msgs), len(msgs)) not in r.stdout:
            fail("export: %d %r %r" % (r.returncode, r.stdout, r.stderr))
        with open(os.path.join(out, "messages.jsonl"), "rb") as f:
            if f.read() != b"\n".join(msgs) + b"\n":
                fail("the exported messages are not the recording's bytes")
        with open(os.path.join(out, "entry.json")) as f:
            entry = json.load(f)
        if entry["tree_size"] != 3 or len(entry["proof"]) != (1 if entry["leaf"] == 2 else 2):
            fail("entry.json: expected a proof in a tree of 3: %r" % entry)

        # Elsewhere: a directory and a key copied out, nothing else.
        away = tempfile.mkdtemp(prefix="tlog-evidence-away.")
        try:
            ev = os.path.join(away, "evidence")
            shutil.copytree(out, ev)
            pub = os.path.join(away, "server.pub")
            shutil.copy(key + ".pub", pub)
            rc, text = run_verify(ev, pub)
            if rc != 0 or "evidence verified" not in text or text.count("OK      ") != 5:
                fail("verifying the export offline: %d %r" % (rc, text))
            r = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=ev, capture_output=True, text=True,
                               timeout=60)
            if r.returncode != 0:
                fail("sha256sum -c: %r" % r.stdout)
            r = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", pub, "-rawin", "-in",
                                "checkpoint.statement", "-sigfile", "checkpoint.sig"], cwd=ev,
                               capture_output=True, text=True, timeout=60)
            if r.returncode != 0 or "Signature Verified Successfully" not in r.stdout:
                fail("openssl pkeyutl -verify: %d %r %r" % (r.returncode, r.stdout, r.stderr))
            r = subprocess.run([TLOG_PLAY, "-r", "file", "-i", os.path.join(ev, "messages.jsonl"), "--export",
                                "text"], capture_output=True, timeout=60)
            if r.returncode != 0 or b"two line 60" not in r.stdout:
                fail("tlog-play of the exported messages: %d %r" % (r.returncode, r.stderr))

            cases = [
                ("a message changed", altered(ev, "msg", change_message),
                 ["FAILED  manifest.json hashes: SHA-256 differs from the manifest: messages.jsonl",
                  "FAILED  messages.jsonl against the entry: their hash is not the checkpoint's"]),
                ("a message changed, the manifest too", altered(ev, "msg-manifest", change_message, "messages.jsonl"),
                 ["OK      manifest.json hashes",
                  "FAILED  messages.jsonl against the entry: their hash is not the checkpoint's",
                  "FAILED  messages.jsonl integrity chain: broken"]),
                ("the manifest changed", altered(ev, "manifest", lambda x: change_json(
                    x, "manifest.json", "files", lambda f: dict(f, **{"audit.jsonl": "0" * 64}))),
                 ["FAILED  manifest.json hashes: SHA-256 differs from the manifest: audit.jsonl"]),
                ("the proof changed", altered(ev, "proof", lambda x: change_json(
                    x, "entry.json", "proof", lambda p: ["0" * 64] + p[1:]), "entry.json"),
                 ["FAILED  entry.json inclusion proof: the entry and its proof do not lead to checkpoint 1's signed root"]),
                ("the entry's count changed", altered(ev, "entry", lambda x: change_json(
                    x, "entry.json", "covered", lambda n: n - 1), "entry.json"),
                 ["FAILED  entry.json inclusion proof"]),
                ("the checkpoint's time changed", altered(ev, "time", lambda x: change_json(
                    x, "checkpoint.json", "time_ms", lambda n: n + 1), "checkpoint.json"),
                 ["FAILED  checkpoint.json signature: the signature does not verify"]),
            ]
            for what, case, expect in cases:
                rc, text = run_verify(case, pub)
                if rc != 1 or "evidence NOT verified" not in text or not all(e in text for e in expect):
                    fail("%s: expected %r: %d %r" % (what, expect, rc, text))
            other = os.path.join(away, "other.key")
            subprocess.run([TLOG_SERVER, "keygen", "--out", other], check=True, capture_output=True, timeout=60)
            rc, text = run_verify(ev, other + ".pub")
            if rc != 1 or "FAILED  checkpoint.json signature: signed by key" not in text:
                fail("the wrong key: %d %r" % (rc, text))
        finally:
            shutil.rmtree(away, ignore_errors=True)

        # Nothing to export without a checkpoint covering it; an existing
        # export is not overwritten.
        r = subprocess.run([TLOG_SERVER, "export", "--config", conf, "--rec", rec, "--out", out],
                           capture_output=True, text=True, timeout=120)
        if r.returncode == 0 or "messages.jsonl" not in r.stderr:
            fail("export over an export: %d %r" % (r.returncode, r.stderr))
        print("ok")
    finally:
        if server is not None:
            server.kill()
            server.wait()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
