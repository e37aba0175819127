"""The web console's player (server/ui/app.js, GET .../frames) in a real
headless Chromium (tests/tlogtest/browser.py), signed in through the real
PAM stack (root, a private mount namespace: tests/recorder/run_ns.sh).
A recording with known content at known times (colours of the three kinds,
a clear, a resize, a pause of 31 s, a line holding <img onerror> and
<script> payloads) and two audit events:
- the page's screen after each seek (forwards and back) is the screen this
  test expects by hand AND the screen .../frames answers for that time;
- colour runs have their colours (a base colour, a palette one, a 24-bit
  one, bold on blue);
- the payloads appear as text: no element made of them, nothing ran;
- clicking an audit event of the trail seeks to its offset and marks it;
  clicking a screen text search hit seeks to it;
- playing at 16x crosses the requests' windows to the last line; with the
  idle limit the 31 s pause passes in a few seconds;
- a viewer without the view right has no Open and no player, and .../frames
  answers them 404 as for a recording that does not exist;
- the access log has the page's frames requests and the refusal.
Environment: TLOG_SERVER, SOURCE_ROOT."""
import json
import os
import time

from tlogtest import server as servers
from tlogtest import viewer as viewers
from tlogtest.browser import Browser
from tlogtest.terminal import check, fail
from web_ui_test import PASSWORDS, viewers_with_pam
from web_ui_test import sign_in as console_sign_in

TLOG_SERVER = os.environ["TLOG_SERVER"]
SOURCE_ROOT = os.environ["SOURCE_ROOT"]
RULES = """rules:
  - name: ann sees everything and reads the access log
    viewers: {users: [ann]}
    recordings: {users: all}
    rights: [search, view, manage]
  - name: bob only searches
    viewers: {users: [bob]}
    recordings: {users: all}
    rights: [search]
"""
PAYLOAD = "$ echo <img src=x onerror=alert(1)></span><script>window.__xss=1</script>"
T0 = int(time.time()) - 300  # the recording's start, whole seconds
HOST, REC = "ws1", "r-play"
# (position ms, window "COLSxROWS" or None, output)
EVENTS = [
    (0, "80x10", "$ ls\r\n"),
    (1000, None, "\x1b[31mRED\x1b[0m \x1b[38;5;196mP256\x1b[0m \x1b[38;2;1;2;3mRGB\x1b[0m\r\n"),
    (2000, None, PAYLOAD + "\r\n"),
    (3000, None, "\x1b[H\x1b[2Jafter clear\r\n"),
    (4000, "90x12", "resized\r\n"),
    (6000, None, "\x1b[1;44mBOLD ON BLUE\x1b[0m\r\n"),
    (9000, None, "the end\r\n"),
    (40000, None, "late line\r\n"),
]
# The screen's rows (trailing blanks and blank rows at the end left out)
# from each event's position on, and its size.
SCREENS = [
    (0, 10, ["$ ls"]),
    (1000, 10, ["$ ls", "RED P256 RGB"]),
    (2000, 10, ["$ ls", "RED P256 RGB", PAYLOAD]),
    (3000, 10, ["after clear"]),
    (4000, 12, ["after clear", "resized"]),
    (6000, 12, ["after clear", "resized", "BOLD ON BLUE"]),
    (9000, 12, ["after clear", "resized", "BOLD ON BLUE", "the end"]),
    (40000, 12, ["after clear", "resized", "BOLD ON BLUE", "the end", "late line"]),
]
AUDIT_OFFSETS = [2500, 6500]


def expected(t):
    rows, text = 0, None
    for at, n, screen in SCREENS:
        if at <= t:
            rows, text = n, screen
    return rows, text


def iso(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + ".%03dZ" % (ms % 1000)


def message(ident, pos, window, text, rec=REC, end=None):
    """Message `ident` of `rec`: at `pos` (ms), the window ("COLSxROWS" or
    None), then `text` written; `end` (the end marker) makes it the last,
    ended 500 ms after the text."""
    timing = ("=" + window if window else "") + ">%d" % len(text) + ("+500" if end else "")
    m = {"ver": "2.3", "host": HOST, "rec": rec, "user": "alice", "term": "xterm", "session": 7, "id": ident,
         "pos": pos, "time": T0 + pos / 1000, "timing": timing, "in_txt": "", "in_bin": [], "out_txt": text,
         "out_bin": []}
    if end:
        m["end"] = end
    return json.dumps(m) + "\n"


def messages():
    return "".join(message(i, pos, window, text) for i, (pos, window, text) in enumerate(EVENTS, 1))


class Server:
    def __init__(self, d, ui_dir):
        self.db, self.log = os.path.join(d, "player.sqlite"), os.path.join(d, "player.log")
        conf = os.path.join(d, "player.conf")
        with open(conf, "w") as f:
            json.dump({"database": self.db, "listen": "127.0.0.1:0", "plain_http": "loopback", "ui_dir": ui_dir}, f)
        self.p, self.port = servers.start([TLOG_SERVER, "--config", conf, "--access-rules",
                                           viewers.access_file(d, RULES)], self.log)
        self.base = "http://127.0.0.1:%d" % self.port

    def request(self, method, path, body=None, token=None):
        status, _, data = servers.request(self.port, method, path, body, token=token)
        return status, data.decode()


def rstrip_screen(rows):
    rows = [r.rstrip(" ") for r in rows]
    while rows and rows[-1] == "":
        rows.pop()
    return rows


def frames_screen(s, token, t):
    """The screen at t as .../frames gives it: (rows, text of each row)."""
    status, body = s.request("GET", "/api/v1/sessions/%s/frames?from=%d&until=%d" % (REC, t, t), token=token)
    check(status == 200, "frames at %d: %d %s" % (t, status, body))
    lines = [json.loads(l) for l in body.splitlines()]
    head = lines[0]
    check(lines[-1] == {"next": t, "more": True} or t >= 40000, "frames at %d: the end %r" % (t, lines[-1]))
    check(head["start_ms"] == T0 * 1000 and head["end_ms"] == 40000, "frames' first line: %r" % head)
    return head["rows"], rstrip_screen(["".join(run["t"] for run in row) for row in head["screen"]])


def ingest(s, token):
    status, body = s.request("POST", "/api/v1/ingest", messages())
    check(status == 200 and json.loads(body)["created"] == len(EVENTS), "ingest: %d %s" % (status, body))
    events = [{"serial": 10 + i, "time": iso(T0 * 1000 + off), "host": HOST, "ses": 5, "type": "USER_CMD",
               "acct": "alice", "cmd": "step %d <b>bold</b>" % i, "rec": REC} for i, off in enumerate(AUDIT_OFFSETS)]
    status, body = s.request("POST", "/api/v1/audit", "".join(json.dumps(e) + "\n" for e in events))
    check(status == 200 and json.loads(body)["created"] == 2, "audit ingest: %d %s" % (status, body))
    wait_indexed(s, token, REC, 40000, "late line")


def wait_indexed(s, token, rec, t, text):
    """Until .../frames of `rec` at `t` answers with `text` in it."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        status, body = s.request("GET", "/api/v1/sessions/%s/frames?from=%d&until=%d" % (rec, t, t), token=token)
        if status == 200 and text in body:
            return
        time.sleep(0.2)
    fail("not indexed: %d %s" % (status, body))


def sign_in(b, s, user):
    console_sign_in(b, s, user, PASSWORDS[user])
    b.wait_for("document.getElementById('whoami').textContent == 'Signed in as %s'" % user, what=user + " signed in")


def page_screen(b):
    rows = b.evaluate("[...document.querySelectorAll('#player-screen .term-row')].map(r => r.textContent)")
    return len(rows), rstrip_screen(rows)


def ready_at(b, t, timeout=60):
    b.wait_for("(() => { const p = document.getElementById('player'); "
               "return p.dataset.state === 'ready' && p.dataset.pos === '%d'; })()" % t, timeout=timeout,
               what="the player at %d ms" % t)


def seek(b, t):
    b.evaluate("(() => { const s = document.getElementById('player-slider'); s.value = '%d'; "
               "s.dispatchEvent(new Event('change')); })()" % t)
    ready_at(b, t)


def check_screen(b, s, token, t):
    want = expected(t)
    got = page_screen(b)
    check(got == want, "the page at %d ms: %r, expected %r" % (t, got, want))
    api = frames_screen(s, token, t)
    check(api == want, ".../frames at %d ms: %r, expected %r" % (t, api, want))


def color_of(b, text, prop):
    return b.evaluate("(() => { const e = [...document.querySelectorAll('#player-screen span')]"
                      ".find(x => x.textContent === %s); return e ? getComputedStyle(e)[%s] : null; })()"
                      % (json.dumps(text), json.dumps(prop)))


def check_ann(b, s, token):
    sign_in(b, s, "ann")
    b.wait_for("document.querySelector('tr[data-rec=\"%s\"] button.open') !== null" % REC, what="the recording")
    b.click('tr[data-rec="%s"] button.open' % REC)
    ready_at(b, 0)
    check_screen(b, s, token, 0)
    # Forwards, then back.
    for t in (3500, 1500, 2500, 6500, 4500, 9000, 1000, 0):
        seek(b, t)
        check_screen(b, s, token, t)
    # The colours of the runs.
    for t, text, prop, want in ((1500, "RED", "color", "rgb(205, 49, 49)"), (1500, "P256", "color", "rgb(255, 0, 0)"),
                                (1500, "RGB", "color", "rgb(1, 2, 3)"),
                                (6500, "BOLD ON BLUE", "backgroundColor", "rgb(36, 114, 200)"),
                                (6500, "BOLD ON BLUE", "fontWeight", "700")):
        seek(b, t)
        got = color_of(b, text, prop)
        check(got == want, "%s's %s: %r, expected %r" % (text, prop, got, want))
    # The payload: text, nothing made of it, nothing ran.
    seek(b, 2500)
    check(PAYLOAD in b.evaluate("document.getElementById('player-screen').textContent"), "the payload shown")
    check(b.evaluate("document.querySelectorAll('#player-screen *:not(div):not(span), img, script:not([src])')"
                     ".length") == 0, "markup of the recording in the page")
    check(b.evaluate("typeof window.__xss") == "undefined", "a payload ran")
    # The audit trail: at their offsets; a click seeks there and marks it.
    b.wait_for("document.querySelectorAll('#player-audit li[data-offset]').length == 2", what="the audit trail")
    offsets = b.evaluate("[...document.querySelectorAll('#player-audit li')].map(l => l.dataset.offset)")
    check(offsets == [str(o) for o in AUDIT_OFFSETS], "the trail's offsets: %r" % offsets)
    check("<b>bold</b>" in b.evaluate("document.getElementById('player-audit').textContent") and
          b.evaluate("document.querySelectorAll('#player-audit b').length") == 0, "an audit field as markup")
    b.click('#player-audit li[data-offset="6500"]')
    ready_at(b, 6500)
    check_screen(b, s, token, 6500)
    current = b.evaluate("[...document.querySelectorAll('#player-audit li.current')].map(l => l.dataset.offset)")
    check(current == ["6500"], "the event marked at 6500: %r" % current)
    seek(b, 3000)
    current = b.evaluate("[...document.querySelectorAll('#player-audit li.current')].map(l => l.dataset.offset)")
    check(current == ["2500"], "the event marked at 3000: %r" % current)
    # A screen text search hit seeks to where it was seen.
    b.fill("#text-form input[name=q]", "BOLD ON")
    b.click("#text-form button")
    b.wait_for("document.querySelector('#text-result button.seek') !== null", what="the text hit")
    b.click("#text-result button.seek")
    ready_at(b, 6000)
    check_screen(b, s, token, 6000)
    # Played at 16x from 8 s: across the requests' windows to the end.
    seek(b, 8000)
    b.evaluate("(() => { const e = document.getElementById('player-speed'); e.value = '16'; "
               "e.dispatchEvent(new Event('change')); })()")
    b.click("#player-play")
    b.wait_for("document.getElementById('player').dataset.pos === '40000' && "
               "document.getElementById('player-play').textContent === 'Play'", timeout=60, what="played to the end")
    check_screen(b, s, token, 40000)
    check(b.evaluate("document.getElementById('player-time').textContent") == "00:40 / 00:40",
          "the time shown: %r" % b.evaluate("document.getElementById('player-time').textContent"))
    # At 1x with the idle limit: the 31 s pause takes about 2 s.
    seek(b, 9000)
    b.evaluate("(() => { const e = document.getElementById('player-speed'); e.value = '1'; "
               "e.dispatchEvent(new Event('change')); })()")
    b.click("#player-idle-limit")
    started = time.monotonic()
    b.click("#player-play")
    b.wait_for("document.getElementById('player').dataset.pos === '40000'", timeout=25, what="the idle limit")
    took = time.monotonic() - started
    check(took < 20, "the idle limit: 31 s of pause took %.1f s" % took)
    check_screen(b, s, token, 40000)
    # The keys: left goes back 5 s.
    b.evaluate("document.getElementById('player').focus()")
    b.send("Input.dispatchKeyEvent", {"type": "keyDown", "key": "ArrowLeft", "code": "ArrowLeft",
                                      "windowsVirtualKeyCode": 37})
    ready_at(b, 35000)
    check_screen(b, s, token, 35000)
    check(b.evaluate("typeof window.__xss") == "undefined", "a payload ran")
    b.pump()
    check(b.errors() == [], "the page reported errors: %r" % b.errors())


def check_bob(b, s, bob_token, ann_token):
    b.click("#signout")
    b.wait_for("!document.getElementById('signin').hidden", what="signed out")
    sign_in(b, s, "bob")
    b.wait_for("document.querySelector('tr[data-rec=\"%s\"]') !== null" % REC, what="bob's sessions")
    check(b.evaluate("document.querySelector('button.open') === null && document.getElementById('player') === null"
                     " && document.getElementById('open-form') === null"), "bob offered the player")
    got = s.request("GET", "/api/v1/sessions/%s/frames" % REC, token=bob_token)
    absent = s.request("GET", "/api/v1/sessions/no-such-rec/frames", token=bob_token)
    check(got[0] == 404 and got == (absent[0], absent[1].replace("no-such-rec", REC)),
          "bob's frames: %r, absent: %r" % (got, absent))
    check(s.request("GET", "/api/v1/sessions/%s/frames?interval=5" % REC, token=ann_token)[0] == 400,
          "interval 5 taken")
    # The access log has the page's frames requests and bob's refusal.
    status, body = s.request("GET", "/api/v1/access-log?rec=%s&limit=1000" % REC, token=ann_token)
    check(status == 200, "the access log: %d %s" % (status, body))
    rows = [(e["viewer"], e["action"], e["outcome"], e["host"]) for e in json.loads(body)["entries"]
            if e["route"] == "/api/v1/sessions/{rec}/frames"]
    check(("ann", "view", "ok", "") in rows or ("ann", "view", "ok", HOST) in rows, "ann's frames: %r" % rows)
    check(("bob", "view", "refused", "") in rows, "bob's refused frames: %r" % rows)
    check(b.errors() == [], "errors: %r" % b.errors())


def run(body):
    """A server whose viewers sign in through PAM: body(server, directory),
    the server's log printed when it fails."""
    d = viewers_with_pam()
    s = Server(d, os.path.join(SOURCE_ROOT, "server/ui"))
    try:
        body(s, d)
    except Exception:
        print(open(s.log).read()[-3000:])
        raise
    finally:
        servers.stop(s.p)
    print("ok")


def main():
    def body(s, d):
        ann_token = viewers.issue(TLOG_SERVER, s.db, "ann")
        bob_token = viewers.issue(TLOG_SERVER, s.db, "bob")
        ingest(s, ann_token)
        with Browser(d) as b:
            check_ann(b, s, ann_token)
            check_bob(b, s, bob_token, ann_token)
    run(body)


if __name__ == "__main__":
    main()
