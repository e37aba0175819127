"""The interactive player's keys, checked on the screen tmux shows.
Usage: tmux_test.py TEST (TLOG_PLAY and CODEC_TOOL in the environment)."""
import os
import subprocess
import sys

from tlogtest.player import Script, Tmux, encode_raw, fail, scrolling_recording, tmpdir

import time  # noqa: E402


def clock_recording(d, seconds=100):
    """The screen says which second of the recording it is."""
    s = Script("80x24")
    for t in range(seconds + 1):
        s.out("\x1b[H\x1b[2Jsecond %03d\r\n" % t)
        if t == 42:
            s.out("\x1b[10;20Hneedle")  # drawn once, at 42 s
        s.wait(1000)
    return s.write(d)


def start(d, rec, *args):
    t = Tmux()
    t.start("%s -i %s %s" % (os.environ["TLOG_PLAY"], rec, " ".join(args)),
            env={"TLOG_PLAY_CACHE_DIR": os.path.join(d, "cache")})
    return t


def test_keys():
    d = tmpdir()
    rec = clock_recording(d)
    t = start(d, rec, "-p")
    try:
        t.wait_for("second 000")
        t.keys("5")                       # 50%
        t.wait_for("second 050")
        t.keys("Right")                   # +5 s
        t.wait_for("second 055")
        t.keys("Left", "Left")            # -10 s
        t.wait_for("second 045")
        t.keys("S-Right")                 # +1 min
        t.wait_for("second 100")
        t.keys("S-Left")                  # -1 min
        t.wait_for("second 040")
        t.keys("G")                       # end
        t.wait_for("second 100")
        t.keys("0")
        t.wait_for("second 000")
        t.keys("1", ":", "1", "5", "G")   # typed time 1:15
        t.wait_for("second 075")
        t.keys("0")
        t.wait_for("second 000")
        t.keys("/")                       # search the rendered screen
        t.keys("n", "e", "e", "d", "l", "e", "Enter")
        t.wait_for("second 042")
        if "needle" not in t.screen():
            fail("search did not land on the screen that shows the hit")
        t.keys(".")                       # step while paused
        t.wait_for("second 043")
        t.keys("q")
        t.wait_dead(10)
    finally:
        t.kill()


def test_speed_and_pause():
    d = tmpdir()
    rec = clock_recording(d, 60)
    t = start(d, rec)
    try:
        t.wait_for("second 001", 3)
        t.keys("}", "}", "}", "}")        # 16x
        t.wait_for("second 030", 5)
        t.keys(" ")                       # pause
        time.sleep(0.3)
        a = t.screen().splitlines()[0]
        time.sleep(1.0)
        b = t.screen().splitlines()[0]
        if a != b:
            fail("paused playback moved: %r -> %r" % (a, b))
        t.keys("BSpace", "p")             # normal speed, resume
        time.sleep(1.5)
        c = t.screen().splitlines()[0]
        n_b, n_c = int(b.split()[1]), int(c.split()[1])
        if not 1 <= n_c - n_b <= 3:
            fail("normal speed after BACKSPACE: %r -> %r" % (b, c))
        t.keys("q")
    finally:
        t.kill()


def test_goto_and_idle_limit():
    d = tmpdir()
    s = Script("80x24").out("before the pause\r\n").wait(30000).out("after the pause\r\n").wait(3000).out(".")
    rec = s.write(d)
    t = start(d, rec, "--idle-limit=1")
    try:
        start_t = time.time()
        t.wait_for("after the pause", 4)
        if time.time() - start_t > 3:
            fail("idle limit not applied")
    finally:
        t.kill()
    rec2 = clock_recording(d, 30)
    t = start(d, rec2, "-g", "00:00:20", "-p")
    try:
        t.wait_for("second 020")
    finally:
        t.kill()


def test_follow():
    d = tmpdir()
    # A live recording: the last message (with the end marker) is not
    # written yet; it is appended later, as a recorder would. It ends 3 s
    # later so that the screen can be checked before the player exits.
    more = Script("80x24").out("first part\r\n").flush().wait(100).out("second part\r\n").wait(3000).out(".").write(d, "full.log")
    full = open(more).read().splitlines(True)
    rec = os.path.join(d, "live.log")
    with open(rec, "w") as f:
        f.writelines(full[:-1])
    t = start(d, rec, "-f")
    try:
        t.wait_for("first part", 3)
        with open(rec, "a") as f:
            f.writelines(full[-1:])
        t.wait_for("second part", 3)
    finally:
        t.kill()


def test_background_index():
    # A large recording without a cached index plays at once; seeks that
    # need the index say so until the build beside playback is done.
    d = tmpdir()
    raw = os.path.join(d, "big.raw")
    with open(raw, "w") as f:
        for i in range(450000):
            f.write("line %07d of a big recording, \x1b[1mbold\x1b[0m and text to fill the screen\r\n" % i)
    rec = encode_raw(d, raw)
    if os.path.getsize(rec) < 33 << 20:
        fail("test recording too small to be indexed in the background")
    t = start(d, rec)
    try:
        begin = time.time()
        t.wait_for("line 0000", 5)
        if time.time() - begin > 2.5:
            fail("first screen took %.1f s: the index was built first" % (time.time() - begin))
        # A seek by percentage needs the index: while it is being built the
        # player says so; the build is fast enough that it may be done
        # already.
        t.keys("9")
        said = ("indexing the recording", "index ready", "90%: ")
        end = time.time() + 5
        while time.time() < end and not any(w in t.screen() for w in said):
            time.sleep(0.02)
        if "90%: " not in t.screen():
            # The key came while the index was being built ("indexing",
            # perhaps already replaced by "index ready"): again once it is.
            t.wait_for("index ready", 120)
            t.keys("9")
        t.wait_for("90%: ", 5)
        # A search through the whole recording ends; the player stays
        # usable (cancelling one: search-beside-playback).
        t.keys("0", "/", "n", "o", "m", "a", "t", "c", "h", "Enter")
        t.wait_for("/nomatch/: no match", 30)
        t.keys("9")
        t.wait_for("90%: ", 5)
        t.keys("q")
        t.wait_dead(30)  # slow under the sanitizers' exit checks
    finally:
        t.kill()
    if not os.listdir(os.path.join(d, "cache")):
        fail("the background build did not store the index")


def test_search_backward():
    # ? finds the last hit before the current time, N the one before that,
    # n the next one after it.
    d = tmpdir()
    s = Script("80x24")
    for t in range(101):
        s.out("\x1b[H\x1b[2Jsecond %03d\r\n" % t)
        if t in (20, 42, 70):
            s.out("\x1b[10;20Hneedle")
        s.wait(1000)
    rec = s.write(d)
    t = start(d, rec, "-g", "90", "-p")
    try:
        t.wait_for("second 090")
        t.keys("?", "n", "e", "e", "d", "l", "e", "Enter")
        t.wait_for("second 070")
        t.wait_for("?needle? at 00:01:10")
        t.keys("N")
        t.wait_for("second 042")
        if "needle" not in t.screen():
            fail("backward search did not land on the screen that shows the hit")
        t.keys("N")
        t.wait_for("second 020")
        t.keys("N")
        t.wait_for("no match before 00:00:20")
        t.keys("n")
        t.wait_for("second 042")
        t.keys("q")
        t.wait_dead(10)
    finally:
        t.kill()


def clock_of(screen):
    first = screen.splitlines()[0] if screen else ""
    return int(first.split()[1]) if first.startswith("second ") else None


def test_search_beside_playback():
    # A search through a large recording runs beside playback: the screen
    # keeps advancing and keys keep working while it scans; its end is said.
    d = tmpdir()
    # 160 MB: long enough that a search from the start is still running
    # when q arrives, however fast the machine.
    rec = scrolling_recording(d, seconds=400)
    # -g 0: the index is built before playing, so no "index ready" notice
    # (from a build beside playback) can hide the search's notices.
    t = start(d, rec, "-s", "4", "-g", "0")
    try:
        t.wait_for("second 0", 60)        # playing (slow builds may skip a second)
        t.keys("/", "n", "o", "m", "a", "t", "c", "h", "Enter")
        started = time.time()
        # Watch the screen while the search runs: the clock row must take
        # at least two values under the "searching" notice, and a key
        # pressed meanwhile must be answered.
        clocks, pressed, saw_speed, ended = set(), None, False, None
        while time.time() - started < 120:
            screen = t.screen()
            if "searching /nomatch/" in screen and clock_of(screen) is not None:
                clocks.add(clock_of(screen))
            if "speed x2" in screen:
                saw_speed = True
            if "/nomatch/: no match after" in screen:
                ended = time.time()
                break
            if len(clocks) >= 2 and pressed is None:
                t.keys("{")               # slower: the recording must outlast the search
                pressed = time.time()
            time.sleep(0.05)
        if ended is None:
            fail("the search did not end; the screen shows:\n" + t.screen())
        if len(clocks) < 2:
            fail("playback did not advance while the search ran (%.1f s): clock %r" % (ended - started, clocks))
        if pressed is not None and not saw_speed and ended - pressed > 1.0:
            fail("a key pressed during the search was not answered")
        print("search took %.1f s; the clock showed %d values meanwhile" % (ended - started, len(clocks)))
        t.keys(" ", "Home")               # pause at the start: the next search is long again
        t.wait_for("second 000", 5)
        t.keys("/", "n", "o", "m", "a", "t", "c", "h", "Enter")
        t.wait_for("searching /nomatch/", 5)
        t.keys("q")                       # q stops the search, not the player
        end = time.time() + 5
        while time.time() < end and "search cancelled" not in t.screen():
            time.sleep(0.02)
        r = t.run("display-message", "-p", "-t", "0", "#{pane_dead}", check=False)
        if r.stdout.strip() == "1":
            fail("q during a search ended the player")
        if "searching /nomatch/" in t.screen():
            fail("q did not stop the search")
        # Playback reaching the end does not end the player while a
        # search runs (here backward through the whole recording).
        t.keys(*["S-Right"] * 6, *["Right"] * 7)  # to 6:35, 5 s before the end
        t.wait_for("second 395", 10)
        t.keys(" ", "?", "n", "o", "m", "a", "t", "c", "h", "Enter")
        t.wait_for("searching ?nomatch?", 5)
        time.sleep(1.5)                   # the recording ended meanwhile
        r = t.run("display-message", "-p", "-t", "0", "#{pane_dead}", check=False)
        if r.stdout.strip() == "1":
            fail("the player ended at the recording's end while a search ran")
        t.wait_for("?nomatch?: no match before", 120)
        t.keys("q")                       # the search is over: q ends the player
        t.wait_dead(30)
    finally:
        t.kill()


def test_last_screen():
    # After playback ends the screen stays exactly as recorded: nothing
    # scrolls, the first row is still there.
    d = tmpdir()
    s = Script("80x24").out("FIRST-ROW\r\n")
    for i in range(2, 24):
        s.out("row %d\r\n" % i)
    s.out("LAST-ROW")
    rec = s.write(d)
    done = os.path.join(d, "done")
    t = Tmux()
    t.start("sh -c '%s -i %s; touch %s; sleep 30'" % (os.environ["TLOG_PLAY"], rec, done),
            env={"TLOG_PLAY_CACHE_DIR": os.path.join(d, "cache")})
    try:
        end = time.time() + 10
        while not os.path.exists(done) and time.time() < end:
            time.sleep(0.05)
        if not os.path.exists(done):
            fail("playback did not end")
        rows = t.screen().splitlines()
        if not rows or rows[0].rstrip() != "FIRST-ROW" or "LAST-ROW" not in rows[23]:
            fail("the last screen scrolled: %r" % rows)
    finally:
        t.kill()


def player_alive(t):
    r = t.run("display-message", "-p", "-t", "0", "#{pane_dead}", check=False)
    return r.returncode == 0 and r.stdout.strip() != "1"


def wait_gone(t, text, timeout=8.0):
    """Waits until `text` is no longer on the screen (a notice expired)."""
    end = time.time() + timeout
    while time.time() < end:
        s = t.screen()
        if text not in s:
            return s
        time.sleep(0.05)
    fail("%r stayed on the screen:\n%s" % (text, t.screen()))


def bottom_row_recording(d, seconds=100):
    """The clock recording with text on every row, the last one included."""
    s = Script("80x24")
    for t in range(seconds + 1):
        s.out("\x1b[H\x1b[2Jsecond %03d\r\n" % t)
        for r in range(2, 24):
            s.out("row %02d at %03d\r\n" % (r, t))
        s.out("BOTTOM-ROW %03d" % t)
        s.wait(1000)
    return s.write(d)


def test_status_line():
    d = tmpdir()
    rec = bottom_row_recording(d)
    # A terminal with a row to spare below the recording: the status uses
    # it, current from the start (-p) and after every seek.
    t = Tmux(120, 25)
    t.start("%s -i %s -p --status" % (os.environ["TLOG_PLAY"], rec),
            env={"TLOG_PLAY_CACHE_DIR": os.path.join(d, "cache")})
    try:
        t.wait_for("second 000")
        rows = t.wait_for("00:00:00.000/00:01:40.000").splitlines()
        status = rows[24]
        for want in ("00:00:00.000/00:01:40.000", " 0%", "x1", "paused", "gaps 0", "intact", "demo@demo-host", "rec demo-rec-1"):
            if want not in status:
                fail("status line %r lacks %r" % (status, want))
        if rows[23].rstrip() != "BOTTOM-ROW 000":
            fail("the status covered the recording: %r" % rows[23])
        t.keys("5")
        t.wait_for("00:00:50.000/00:01:40.000 50%")
        t.keys("Right")
        t.wait_for("00:00:55.000/00:01:40.000 55%")
        t.keys("}")
        t.wait_for("x2 paused")
        t.keys(" ")                       # playing: the clock moves on the status line
        t.wait_for("x2 playing")
        t.wait_for("00:00:57.")
        t.keys(" ")
        t.wait_for("x2 paused")
        t.keys("G")
        t.wait_for("00:01:40.000/00:01:40.000 100% x2 END")
        t.keys("s")                       # hidden: the spare row is empty
        end = time.time() + 5
        while time.time() < end and "00:01:40.000/" in t.screen():
            time.sleep(0.05)
        if "00:01:40.000/" in t.screen():
            fail("s did not hide the status line")
        t.keys("q")
        t.wait_dead(10)
    finally:
        t.kill()
    # No row to spare: the status covers the last row only while shown, and
    # hiding it brings the recorded row back exactly.
    t = start(d, rec, "-p", "-g", "30")
    try:
        before = t.wait_for("BOTTOM-ROW 030")
        t.keys("s")
        shown = t.wait_for("00:00:30.000/00:01:40.000").splitlines()
        if "BOTTOM-ROW" in shown[23] or shown[:23] != before.splitlines()[:23]:
            fail("the status line should cover the last row only:\n%s" % "\n".join(shown))
        t.keys("s")
        after = wait_gone(t, "00:00:30.000/")
        if after != before:
            fail("hiding the status did not restore the screen:\n%s\nwas\n%s" % (after, before))
    finally:
        t.kill()


def test_help():
    d = tmpdir()
    rec = bottom_row_recording(d, 20)
    t = start(d, rec, "-p", "-g", "10")
    try:
        before = t.wait_for("BOTTOM-ROW 010")
        for key in ("h", "F1"):
            t.keys(key)
            screen = t.wait_for("Any key closes this help")
            # Every binding's key name is listed (the table is the help).
            for name in ("SPACE, p", "} / { / BACKSPACE", "Home / End, G", "0-9 / :", "Left / Right",
                         "Shift+Left, Down, Shift+Down, PgDn", "/ / ?", "n / N", "s ", "i ", "h, F1",
                         "Ctrl+Left, H", "q, ^C", "ESC ", "TAB (^I) / ^F", "Enter / ESC, ^C, ^G", "BACKSPACE"):
                if name not in screen:
                    fail("the help does not list %r:\n%s" % (name, screen))
            if "second 010" in screen:
                fail("the help did not cover the screen")
            t.keys("5")                   # closes the help, does nothing else
            after = wait_gone(t, "Any key closes this help")
            if after != before:
                fail("closing the help did not restore the screen:\n%s\nwas\n%s" % (after, before))
    finally:
        t.kill()


def test_end_of_recording():
    d = tmpdir()
    s = Script("80x24").out("FIRST-ROW\r\n")
    for i in range(2, 24):
        s.out("row %d\r\n" % i)
    s.out("LAST-ROW").wait(2000).out("\x1b7\x1b[2;1Hrow 2 at the end\x1b8!")
    rec = s.write(d)
    # Scripted use keeps tlog's exit at the end: a terminal that never sends
    # a key (script(1) with stdin at its end, as scripts drive tlog-play).
    r = subprocess.run(["script", "-qec", "%s -i %s" % (os.environ["TLOG_PLAY"], rec), "/dev/null"],
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
    if r.returncode != 0 or b"row 2 at the end" not in r.stdout:
        fail("played under script(1) without keys: %r %r" % (r.returncode, r.stdout[-300:]))
    # An auditor who pressed a key: the end is a state, not the exit.
    done = os.path.join(d, "done")
    t = Tmux()
    t.start("sh -c '%s -i %s; echo $? > %s; sleep 30'" % (os.environ["TLOG_PLAY"], rec, done),
            env={"TLOG_PLAY_CACHE_DIR": os.path.join(d, "cache")})
    try:
        t.wait_for("LAST-ROW")
        t.keys("s")                       # status on...
        t.wait_for("playing")
        t.keys("s")                       # ...and off: a key was pressed
        t.wait_for("end of recording", 10)
        time.sleep(0.5)
        if os.path.exists(done):
            fail("the player exited at the end of the recording")
        t.keys("Home")                    # seeking back works from there
        wait_gone(t, "row 2 at the end")
        t.wait_for("row 2 at the end", 5)  # ...and plays to the end again
        t.wait_for("end of recording", 5)
        t.keys("q")
        end = time.time() + 10
        while not os.path.exists(done) and time.time() < end:
            time.sleep(0.05)
        if not os.path.exists(done) or open(done).read().strip() != "0":
            fail("q did not end the player with status 0")
        rows = t.screen().splitlines()
        # The last screen as recorded: no notice left on the last row.
        if rows[0].rstrip() != "FIRST-ROW" or rows[1].rstrip() != "row 2 at the end" or rows[23].rstrip() != "LAST-ROW!":
            fail("the last screen is not as recorded: %r" % rows)
    finally:
        t.kill()
    # --exit-at-end: tlog's behaviour, for scripts run from a terminal.
    t = start(d, rec, "--exit-at-end")
    try:
        t.wait_dead(10)
    finally:
        t.kill()
    # End (and G) while paused: the end-of-recording state, not an exit.
    t = start(d, rec, "-p")
    try:
        t.wait_for("FIRST-ROW")
        t.keys("End")
        t.wait_for("end of recording", 5)
        t.keys("0")
        t.wait_for("0%: 00:00:00")
        if not player_alive(t):
            fail("the player exited at End")
    finally:
        t.kill()


def test_speed_cap():
    d = tmpdir()
    rec = clock_recording(d, 30)
    t = start(d, rec, "-p")
    try:
        t.wait_for("second 000")
        t.keys("}", "}", "}", "}")
        t.wait_for("speed x16")
        if "limit" in t.screen():
            fail("x16 reached is not yet a capped request")
        t.keys("}")
        t.wait_for("speed x16: the limit (x1/16 to x16)")
        t.keys("BSpace")
        t.wait_for("speed x1")
        t.keys("{", "{", "{", "{", "{")
        t.wait_for("speed x1/16: the limit (x1/16 to x16)")
    finally:
        t.kill()


def input_recording(d):
    s = Script("80x24").out("login: ").wait(500).inp("alice\r").out("alice\r\nPassword: ")
    s.wait(500).inp("s3cr3t-pw\r").out("\r\n$ ").wait(500).inp("ls\r").out("ls\r\nfile\r\n$ ")
    s.wait(500).out("DONE")
    return s.write(d)


def test_input_overlay():
    d = tmpdir()
    rec = input_recording(d)
    # Off by default: the password typed at the prompt never shows.
    t = start(d, rec, "-g", "end", "-p")
    try:
        t.wait_for("DONE")
        time.sleep(0.3)
        if "s3cr3t" in t.screen() or "input:" in t.screen():
            fail("recorded input shown by default:\n" + t.screen())
        t.keys("i")
        t.wait_for("input: alice^Ms3cr3t-pw^Mls^M")
        t.wait_for("it can hold passwords")
        t.keys("i")
        wait_gone(t, "input: ")
        t.keys("Home")                    # after a seek: what was typed up to there
        t.wait_for("login:")
        t.keys("i")
        s = t.wait_for("input:")
        if "alice" in s:
            fail("input not yet typed at the start is shown:\n" + s)
    finally:
        t.kill()
    t = start(d, rec, "--show-input", "-g", "0.7", "-p")
    try:
        s = t.wait_for("input: alice^M")
        if "s3cr3t" in s:
            fail("input typed after the position is shown:\n" + s)
    finally:
        t.kill()


def test_pan():
    # A recording larger than the terminal: the player says so, and every
    # cell of it can be brought into view.
    import random
    rnd = random.Random(12)
    rows, cols = 40, 130
    grid = ["".join(rnd.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(cols)) for _ in range(rows)]
    d = tmpdir()
    s = Script("%dx%d" % (cols, rows)).out("\x1b[H")
    for r, line in enumerate(grid):
        s.out("\x1b[%d;1H%s" % (r + 1, line))
    s.out("\x1b[1;1H")
    rec = s.write(d)
    t = start(d, rec, "-p")
    seen = [[False] * cols for _ in range(rows)]

    def record(screen):
        lines = screen.splitlines()  # no notice: each capture waits for it to go
        # Where the view stands: the one place the top-left block occurs.
        at = [(r0, c0) for r0 in range(rows) for c0 in range(cols)
              if grid[r0][c0:c0 + 80] == lines[0][:80] and all(
                  r0 + i < rows and grid[r0 + i][c0:c0 + 80] == lines[i][:80] for i in range(1, len(lines)))]
        if len(at) != 1:
            fail("the view does not show a part of the recording:\n" + screen)
        r0, c0 = at[0]
        for i in range(len(lines)):
            for j in range(len(lines[i])):
                seen[r0 + i][c0 + j] = True
        return at[0]

    try:
        t.wait_for("the recording is 130x40, the terminal 80x24: Ctrl+arrows or H J K L pan", 10)
        wait_gone(t, "the recording is")
        positions = {record(t.screen())}
        # Down the columns with Ctrl+arrows, then across with J/K/H/L.
        for keys in (["C-Down"] * 4, ["C-Right"] * 4, ["C-Up"] * 4, ["J"] * 4, ["H"] * 4, ["K"] * 4, ["L"] * 4,
                     ["J"] * 4):
            for k in keys:
                t.keys(k)
                t.wait_for("view: rows")
                wait_gone(t, "view: rows")
                positions.add(record(t.screen()))
        missing = [(r, c) for r in range(rows) for c in range(cols) if not seen[r][c]]
        if missing:
            fail("%d cells never shown, e.g. %r (views at %r)" % (len(missing), missing[:5], sorted(positions)))
    finally:
        t.kill()


def repeat_recording(d):
    """'cat /etc/shadow' run twice while the first is on screen (1 s, 3 s),
    then shown on two rows by one event (5 s), with an upper-case one below."""
    s = Script("80x24").out("$ ").wait(1000)
    s.out("cat /etc/shadow\r\nroot:*:19000\r\n$ ").wait(1000).out("true\r\n$ ").wait(1000)
    s.out("cat /etc/shadow\r\nroot:*:19000\r\n$ ").wait(2000)
    s.out("\x1b[20;1Hcat /etc/shadow\x1b[21;1Hcat /etc/shadow\x1b[22;1HCAT /ETC/SHADOW\x1b[23;1H$ ")
    s.wait(1000).out("end")
    return s.write(d)


def test_search_repeats():
    # n and N step through every hit: the same command shown again while
    # its first run is on screen, and two rows hit at the same time.
    d = tmpdir()
    rec = repeat_recording(d)
    t = start(d, rec, "-p")
    try:
        t.wait_for("$")
        t.keys("/", *"cat /etc/shadow", "Enter")
        t.wait_for("/cat /etc/shadow/ at 00:00:01.000 row 1")
        t.keys("n")
        t.wait_for("/cat /etc/shadow/ at 00:00:03.000 row 4")
        t.keys("n")
        t.wait_for("/cat /etc/shadow/ at 00:00:05.000 row 20")
        t.keys("n")                       # the same time, the next row: not skipped
        t.wait_for("/cat /etc/shadow/ at 00:00:05.000 row 21")
        t.keys("n")
        t.wait_for("no match after 00:00:05.000")
        t.keys("N")                       # back to the row before it, then on
        t.wait_for("?cat /etc/shadow? at 00:00:05.000 row 20")
        t.keys("N")
        t.wait_for("?cat /etc/shadow? at 00:00:03.000 row 4")
        # Ignore case, toggled in the prompt: three hits at 5 s.
        t.keys("0", "/", *"cat /etc/shadow")
        t.wait_for("TAB ignore case: off")
        t.keys("Tab")
        t.wait_for("TAB ignore case: on")
        t.keys("Enter")
        t.wait_for("/cat /etc/shadow/I at 00:00:01.000 row 1")
        t.keys("3", "G")
        t.wait_for("at 00:00:03.000")
        t.keys("n")
        t.wait_for("/cat /etc/shadow/I at 00:00:05.000 row 20")
        t.keys("n")
        t.wait_for("/cat /etc/shadow/I at 00:00:05.000 row 21")
        t.keys("n")
        t.wait_for("/cat /etc/shadow/I at 00:00:05.000 row 22")
        t.keys("N")
        t.wait_for("?cat /etc/shadow?I at 00:00:05.000 row 21")
        # Fixed string: the dot is a dot.
        t.keys("0", "/", *"cat /etc.shadow", "C-f")
        t.wait_for("^F fixed string: on")
        t.keys("Enter")
        t.wait_for("/cat /etc.shadow/IF: no match after 00:00:00.000")
        t.keys("/", *"cat /etc.shadow", "Enter")   # the flags stay: no match again
        t.wait_for("/cat /etc.shadow/IF: no match")
        t.keys("/", *"cat /etc.shadow", "C-f", "Enter")
        t.wait_for("/cat /etc.shadow/I at 00:00:01.000 row 1")
    finally:
        t.kill()

TESTS = {name[5:]: fn for name, fn in globals().items() if name.startswith("test_")}

if __name__ == "__main__":
    TESTS[sys.argv[1].replace("-", "_")]()
    print("ok")
