"""The interactive player's keys, checked on the screen tmux shows.
Usage: tmux_test.py TEST (TLOG_PLAY and CODEC_TOOL in the environment)."""
import os
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
        t.wait_dead(120)
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


TESTS = {name[5:]: fn for name, fn in globals().items() if name.startswith("test_")}

if __name__ == "__main__":
    TESTS[sys.argv[1].replace("-", "_")]()
    print("ok")
