"""Not a test: measures the interactive search beside playback in tmux.
Usage: TLOG_PLAY=... CODEC_TOOL=... PYTHONPATH=tests python3 tests/player/measure_search.py
Prints the key latency with and without a search running, how far
playback went while searching, and the time to a hit near the end."""
import os
import statistics
import time

from tlogtest.player import Tmux, scrolling_recording, tmpdir


def wait(t, text, timeout=60):
    end = time.time() + timeout
    while time.time() < end:
        s = t.screen()
        if text in s:
            return s
        time.sleep(0.005)
    raise SystemExit("never saw %r:\n%s" % (text, t.screen()))


def clock(s):
    return int(s.splitlines()[0].split()[1])


def key_latency(t, n=6):
    lat = []
    for i in range(n):
        k, want = ("}", "speed x2") if i % 2 == 0 else ("{", "speed x1")
        t0 = time.time()
        t.keys(k)
        wait(t, want, 10)
        lat.append(time.time() - t0)
        time.sleep(0.3)
    return lat


def main():
    d = tmpdir()
    rec = scrolling_recording(d, seconds=120, marker_at=108)
    print("recording: %.1f MiB, 120 s" % (os.path.getsize(rec) / 2**20))
    t = Tmux()
    t.start("%s -i %s -g 0" % (os.environ["TLOG_PLAY"], rec), env={"TLOG_PLAY_CACHE_DIR": os.path.join(d, "cache")})
    try:
        wait(t, "second 001", 60)
        idle = key_latency(t)
        print("key latency, no search: median %.0f ms, max %.0f ms" % (statistics.median(idle) * 1000, max(idle) * 1000))
        t.keys("Home")
        wait(t, "second 000")
        t.keys("/", *"MARKER-NEAR", "Enter")
        t0 = time.time()
        wait(t, "searching /MARKER-NEAR/")
        c0 = clock(t.screen())
        busy = key_latency(t, 4)
        last = c0
        while True:
            s = t.screen()
            if "/MARKER-NEAR/ at 00:01:48" in s:
                break
            last = clock(s)
            time.sleep(0.005)
        hit = time.time() - t0
        print("key latency, search running: median %.0f ms, max %.0f ms" %
              (statistics.median(busy) * 1000, max(busy) * 1000))
        print("time to the hit at 1:48 (90%% of the recording): %.2f s; playback went from second %d to %d meanwhile"
              % (hit, c0, last))
        t.keys("Home", "/", *"nomatch", "Enter")
        t0 = time.time()
        wait(t, "no match after", 120)
        print("a search through the whole recording (no hit): %.2f s" % (time.time() - t0))
        t.keys(" ", "G")  # paused: at the end the player would exit
        wait(t, "at 00:02:00")
        t.keys("?", *"MARKER-NEAR", "Enter")
        t0 = time.time()
        s = wait(t, "?MARKER-NEAR? at 00:01:48", 120)
        print("backward from the end to the same hit: %.3f s (%s)" %
              (time.time() - t0, s.rstrip().splitlines()[-1].strip()))
        t.keys("q")
    finally:
        t.kill()


main()
