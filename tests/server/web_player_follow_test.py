"""The console's player following a session still running (Live), in a
real headless Chromium signed in through the real PAM stack, as
web_player_test.py (whose helpers it uses):
- a recording without its end shows Live; pressed, the player shows the
  newest screen and then each round of messages posted afterwards, its
  slider's max moving with the stored end;
- a failed poll (the page's fetch made to answer 503) is said in the
  status and live mode goes on; a 404 ends it and says so;
- an audit event of the recording posted while live comes into the trail,
  marked as the current one;
- a seek back ends live mode and shows the older screen; Live again
  resumes at the newest; Pause ends it too;
- the end message ends live mode: the status says the session ended and
  Live goes away.
Environment: TLOG_SERVER, SOURCE_ROOT."""
import json

from tlogtest import viewer as viewers
from tlogtest.browser import Browser
from tlogtest.terminal import check
from web_player_test import HOST, T0, TLOG_SERVER, iso, message, page_screen, ready_at, run, seek, sign_in, wait_indexed

REC = "r-live"
# (position ms, window or None, output) of the part stored before the
# console opens it, then of each round posted while it follows.
START = [(0, "80x10", "$ start\r\n"), (1000, None, "first screen\r\n")]
ROUNDS = [[(2000, None, "round one\r\n")],
          [(3000, None, "\x1b[31mround two red\x1b[0m\r\n"), (3500, None, "round two <b>\r\n")],
          [(65000, "90x12", "round three after a minute\r\n")]]
AUDIT_OFFSET = 2500


def post(s, first_id, events, end=None):
    body = "".join(message(first_id + i, pos, window, text, rec=REC, end=end if i == len(events) - 1 else None)
                   for i, (pos, window, text) in enumerate(events))
    status, answer = s.request("POST", "/api/v1/ingest", body)
    check(status == 200 and json.loads(answer)["created"] == len(events), "ingest: %d %s" % (status, answer))


def player(b, key):
    return b.evaluate("document.getElementById('player').dataset.%s" % key)


def wait_live_at(b, pos, text):
    """Live, at `pos` (the stored end), with `text` on the screen."""
    b.wait_for("(() => { const p = document.getElementById('player'); return p.dataset.live === '1' && "
               "p.dataset.pos === '%d' && document.getElementById('player-screen').textContent.includes(%s) && "
               "document.getElementById('player-slider').max === '%d'; })()" % (pos, json.dumps(text), pos),
               timeout=60, what="live at %d ms showing %r" % (pos, text))


def fail_frames(b, status):
    """The page's .../frames requests answered `status` (None: as the server answers)."""
    b.evaluate("(() => { window.__fetch = window.__fetch || window.fetch; const status = %s; "
               "window.fetch = (u, init) => status !== null && String(u).includes('/frames') ? "
               "Promise.resolve(new Response(JSON.stringify({error: 'made to fail', status}), {status})) : "
               "window.__fetch(u, init); })()" % json.dumps(status))


def check_poll_errors(b):
    fail_frames(b, 503)
    b.wait_for("document.getElementById('player-status').textContent.startsWith('Live: the last update failed (503')",
               timeout=60, what="a failed poll in the status")
    check(player(b, "live") == "1", "live mode left at a 503")
    fail_frames(b, None)
    b.wait_for("document.getElementById('player-status').textContent === 'Live'", timeout=60, what="live again")
    fail_frames(b, 404)
    b.wait_for("document.getElementById('player').dataset.live === '0' && document.getElementById('player-status')"
               ".textContent.startsWith('Live ended: the recording is no longer there')", timeout=60,
               what="live mode ended by a 404")
    fail_frames(b, None)


def check_follow(b, s):
    sign_in(b, s, "ann")
    b.wait_for("document.querySelector('tr[data-rec=\"%s\"] button.open') !== null" % REC, what="the recording")
    b.click('tr[data-rec="%s"] button.open' % REC)
    ready_at(b, 0)
    b.wait_for("!document.getElementById('player-live').hidden", what="the Live control")
    check(player(b, "live") != "1", "live before Live was pressed")
    b.click("#player-live")
    wait_live_at(b, 1000, "first screen")
    check(b.evaluate("document.getElementById('player-status').textContent") == "Live", "the status while live")
    next_id = len(START) + 1
    for events in ROUNDS:
        post(s, next_id, events)
        next_id += len(events)
        wait_live_at(b, events[-1][0], events[-1][2].strip())
    check(page_screen(b) == (12, ["$ start", "first screen", "round one", "round two red", "round two <b>",
                                  "round three after a minute"]),
          "the screen after the rounds: %r" % (page_screen(b),))
    check(b.evaluate("document.querySelector('#player-screen span.fg1').textContent") == "round two red",
          "the red run drawn live")
    check(b.evaluate("document.getElementById('player-time').textContent") == "01:05 / 01:05",
          "the time shown: %r" % b.evaluate("document.getElementById('player-time').textContent"))
    check_poll_errors(b)
    b.click("#player-live")
    wait_live_at(b, 65000, "round three after a minute")
    # An audit event of the recording comes into the trail while live.
    event = {"serial": 40, "time": iso(T0 * 1000 + AUDIT_OFFSET), "host": HOST, "ses": 5, "type": "USER_CMD",
             "acct": "alice", "cmd": "live step <i>x</i>", "rec": REC}
    status, answer = s.request("POST", "/api/v1/audit", json.dumps(event) + "\n")
    check(status == 200 and json.loads(answer)["created"] == 1, "audit ingest: %d %s" % (status, answer))
    b.wait_for("document.querySelector('#player-audit li.current[data-offset=\"%d\"]') !== null" % AUDIT_OFFSET,
               timeout=60, what="the audit event in the trail, marked")
    check("live step <i>x</i>" in b.evaluate("document.getElementById('player-audit').textContent") and
          b.evaluate("document.querySelectorAll('#player-audit i').length") == 0, "the audit event as text")
    check(player(b, "live") == "1", "live mode left by the audit event")
    # A seek back ends live mode; Live again resumes at the newest screen.
    seek(b, 1000)
    check(player(b, "live") != "1", "still live after a seek back")
    check(page_screen(b) == (10, ["$ start", "first screen"]), "the screen at 1000 ms: %r" % (page_screen(b),))
    b.click("#player-live")
    wait_live_at(b, 65000, "round three after a minute")
    check(b.evaluate("document.getElementById('player-play').textContent") == "Pause", "no Pause while live")
    b.click("#player-play")
    check(player(b, "live") == "0" and b.evaluate("document.getElementById('player-status').textContent")
          .startswith("Paused"), "live mode not ended by Pause")
    b.click("#player-live")
    wait_live_at(b, 65000, "round three after a minute")
    # The end message ends it.
    post(s, next_id, [(66000, None, "logout\r\n")], end="exit")
    b.wait_for("document.getElementById('player').dataset.live === '0' && "
               "document.getElementById('player-status').textContent === 'The session ended.'",
               timeout=60, what="live mode ended by the end message")
    check(page_screen(b)[1][-1] == "logout", "the last screen: %r" % (page_screen(b),))
    check(b.evaluate("document.getElementById('player-live').hidden"), "Live still offered after the end")
    check(b.evaluate("document.getElementById('player-time').textContent") == "01:06 / 01:06",
          "the time at the end: %r" % b.evaluate("document.getElementById('player-time').textContent"))
    b.pump()
    check(b.errors() == [], "the page reported errors: %r" % b.errors())


def main():
    def body(s, d):
        token = viewers.issue(TLOG_SERVER, s.db, "ann")
        post(s, 1, START)
        wait_indexed(s, token, REC, 1000, "first screen")
        with Browser(d) as b:
            check_follow(b, s)
    run(body)


if __name__ == "__main__":
    main()
