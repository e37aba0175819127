// Backward search: the hit found going back from any time must be the last
// hit a search from the start reports before that time, across keyframe
// intervals, scrolling and full-screen redraws. And every search (forward,
// backward, from any time, `tlog-play --search`) must report exactly the
// hits of a brute-force reference: every row whose text changed since the
// previous rendering (the same line, followed through scrolls) and matches.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "test_support.h"
#include "tlog/play/playback.h"
#include "tlog/play/recording_index.h"
#include "tlog/play/screen_search.h"

#include "cmocka_cxx.h"

using namespace tlog::play;
using testsupport::kMs;

namespace {

void write_haystack(const std::string& path) {
    testsupport::FileSink sink(path);
    tlog::EncoderOptions eo;
    eo.payload = 600;
    tlog::Encoder enc(testsupport::info(), eo, sink, 0, 0);
    enc.window(0, 40, 8);
    enc.output(0, "needle at zero\r\n");
    std::mt19937 rng(7);
    int64_t t = 0;
    for (int i = 0; i < 400; i++) {
        t += static_cast<int64_t>(rng() % 300) * kMs;
        std::string s;
        if (i % 50 == 25) s = "\x1b[H\x1b[2J";  // a redraw brings an old line back
        if (rng() % 7 == 0)
            s += "needle " + std::to_string(i) + "\r\n";
        else if (rng() % 11 == 0)
            s += "\x1b[3;5Hnee\x1b[3;8Hdle drawn in pieces " + std::to_string(i);
        else
            s += "hay " + std::to_string(i) + "\r\n";
        enc.output(t, s);
    }
    enc.finish(t + 10 * kMs, "exit");
}

// A session that runs the same command several times while its earlier
// runs are still on the screen, with varied output, clears, scrolls
// (line feeds at the bottom, a scrolling region, SU/SD, IL/DL), rows
// rewritten in place with \r and cursor moves, and a window change.
void write_session(const std::string& path, unsigned seed, int steps) {
    testsupport::FileSink sink(path);
    tlog::EncoderOptions eo;
    eo.payload = 300 + seed % 700;
    tlog::Encoder enc(testsupport::info(), eo, sink, 0, 0);
    enc.window(0, 50, 10);
    std::mt19937 rng(seed);
    int64_t t = 0;
    const char* words[] = {"cat /etc/shadow", "CAT /ETC/SHADOW", "cat /etc/passwd", "ls", "cat /etc/shad", "ow"};
    for (int i = 0; i < steps; i++) {
        if (rng() % 3) t += static_cast<int64_t>(rng() % 400) * kMs;  // some steps share a time
        std::string s;
        switch (rng() % 12) {
            case 0: s = "\x1b[H\x1b[2J"; break;
            case 1: s = "$ cat /etc/shadow\r\n"; break;
            case 2: s = "$ " + std::string(words[rng() % 6]) + "\r\n"; break;
            case 3:  // typed in pieces
                s = "$ cat /etc/";
                enc.output(t, s);
                t += 40 * kMs;
                s = "shadow\r\nroot:*:" + std::to_string(i) + "\r\n";
                break;
            case 4: s = "\r$ cat /etc/shadow"; break;  // rewritten in place
            case 5:
                s = "\x1b[" + std::to_string(1 + rng() % 10) + ";" + std::to_string(1 + rng() % 20) + "H" +
                    words[rng() % 6];
                break;
            case 6: s = "\x1b[" + std::to_string(1 + rng() % 3) + (rng() % 2 ? "S" : "T"); break;
            case 7: s = "\x1b[" + std::to_string(1 + rng() % 3) + (rng() % 2 ? "L" : "M"); break;
            case 8: s = "\x1b[3;7r\x1b[7;1H$ cat /etc/shadow\n\n" + std::to_string(i) + "\x1b[r\x1b[10;1H"; break;
            case 9: s = "\x1b[2K\r"; break;
            case 10: s = "\x1bM\x1bM$ cat /etc/shadow " + std::to_string(i % 3) + "\r\n"; break;
            default: s = "output " + std::to_string(rng() % 5) + "\r\n"; break;
        }
        if (rng() % 40 == 0)
            enc.window(t, static_cast<uint16_t>(40 + rng() % 20), static_cast<uint16_t>(8 + rng() % 6));
        enc.output(t, s);
    }
    enc.finish(t + 10 * kMs, "exit");
}

// The reference: every event rendered in full (no dirty flags, no seeking),
// each row compared with what the same line showed at the previous event.
std::vector<SearchHit> reference_hits(const std::string& log, const RecordingIndex& idx, const Regex& re) {
    Playback pb(log, idx);
    pb.rewind();
    TermModel& m = pb.model();
    std::map<uint64_t, std::string> before;
    auto render = [&] {
        std::map<uint64_t, std::string> now;
        for (int r = 0; r < m.rows(); r++) now[m.line_id(r)] = m.row_text(r);
        return now;
    };
    before = render();
    std::vector<SearchHit> hits;
    while (auto t = pb.next_time()) {
        pb.advance_to(*t);
        for (int r = 0; r < m.rows(); r++) {
            std::string text = m.row_text(r);
            auto it = before.find(m.line_id(r));
            std::string old = it == before.end() ? std::string() : it->second;
            if (text != old && re.search(text)) hits.push_back(SearchHit{*t, r, text});
        }
        before = render();
    }
    return hits;
}

std::string show(const SearchHit& h) {
    return std::to_string(h.pos_ms) + " row " + std::to_string(h.row) + " '" + h.text + "'";
}

void expect_same(const std::vector<SearchHit>& want, const std::vector<SearchHit>& got, const char* what) {
    for (size_t i = 0; i < std::max(want.size(), got.size()); i++) {
        if (i >= want.size()) fail_msg("%s: extra hit %s", what, show(got[i]).c_str());
        if (i >= got.size())
            fail_msg("%s: missed %s (%zu of %zu found)", what, show(want[i]).c_str(), got.size(), want.size());
        if (show(want[i]) != show(got[i]))
            fail_msg("%s: hit %zu is %s, expected %s", what, i, show(got[i]).c_str(), show(want[i]).c_str());
    }
}

void check_against_reference(const std::string& log, const char* pattern, bool icase, bool cli) {
    IndexOptions io;
    io.every_ms = 3000;
    io.every_bytes = 2000;
    RecordingIndex idx = build_index(log, io);
    Regex re(pattern, icase);
    std::vector<SearchHit> want = reference_hits(log, idx, re);
    assert_true(want.size() > 3);
    Playback pb(log, idx);
    std::vector<SearchHit> all;
    search_screen(pb, re, 0, [&](const SearchHit& h) {
        all.push_back(h);
        return true;
    });
    expect_same(want, all, "forward from 0");
    // `n` from any time: the first hit after it; `N`: the last one before it.
    std::set<uint64_t> times = {0, 1, idx.summary.duration_ms + 1};
    for (const auto& h : want) times.insert({h.pos_ms, h.pos_ms + 1, h.pos_ms ? h.pos_ms - 1 : 0});
    for (const auto& k : idx.keyframes) times.insert({k.time_ms, k.time_ms + 1});
    for (uint64_t at : times) {
        std::optional<SearchHit> next, prev;
        for (const auto& h : want) {
            if (!next && h.pos_ms > at) next = h;
            if (h.pos_ms < at) prev = h;
        }
        if (at == 0 && !want.empty() && want.front().pos_ms == 0) next = want.front();
        std::optional<SearchHit> got;
        search_screen(pb, re, at, [&](const SearchHit& h) {
            got = h;
            return false;
        });
        std::string label = "forward from " + std::to_string(at);
        if (next.has_value() != got.has_value() || (next && show(*next) != show(*got)))
            fail_msg("%s: got %s, expected %s", label.c_str(), got ? show(*got).c_str() : "none",
                     next ? show(*next).c_str() : "none");
        got = search_screen_backward(pb, re, at);
        label = "backward from " + std::to_string(at);
        if (prev.has_value() != got.has_value() || (prev && show(*prev) != show(*got)))
            fail_msg("%s: got %s, expected %s", label.c_str(), got ? show(*got).c_str() : "none",
                     prev ? show(*prev).c_str() : "none");
    }
    if (!cli) return;
    const char* tlog_play = std::getenv("TLOG_PLAY");
    if (!tlog_play) fail_msg("TLOG_PLAY is not set");
    std::string cmd =
        std::string(tlog_play) + (icase ? " -I" : "") + " --no-cache --search '" + pattern + "' -i " + log;
    FILE* p = popen(cmd.c_str(), "r");
    assert_non_null(p);
    std::string out;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    pclose(p);
    size_t lines = 0;
    for (char c : out) lines += c == '\n';
    if (lines != want.size())
        fail_msg("%s: --search printed %zu hits, expected %zu:\n%s", cmd.c_str(), lines, want.size(), out.c_str());
}

void test_repeats_against_reference(void**) {
    testsupport::TempDir dir;
    for (unsigned seed = 1; seed <= 12; seed++) {
        std::string log = dir.file("session" + std::to_string(seed) + ".log");
        write_session(log, seed, 300);
        check_against_reference(log, "cat /etc/shadow", seed % 3 == 0, seed <= 3);
    }
    std::string log = dir.file("hay.log");
    write_haystack(log);
    check_against_reference(log, "needle", false, true);
    // A real recording, made by our recorder.
    const char* tlog_rec = std::getenv("TLOG_REC");
    if (!tlog_rec) fail_msg("TLOG_REC is not set");
    std::string real = dir.file("real.log");
    std::string cmd = std::string(tlog_rec) + " -o " + real +
                      " bash -c 'for i in 1 2 3 4 5 6; do printf \"$ cat /etc/shadow\\r\\nroot:*:%d\\r\\n\" $i; "
                      "sleep 0.05; done; printf \"\\033[H\\033[2J$ cat /etc/shadow\\r\\n\"; sleep 0.05; "
                      "printf \"\\r$ cat /etc/shadow -n\\r\\n\"' >/dev/null 2>&1 </dev/null";
    if (std::system(cmd.c_str()) != 0) fail_msg("%s failed", cmd.c_str());
    check_against_reference(real, "cat /etc/shadow", false, true);
}

void test_regex_options(void**) {
    // -I: either case; -F: the pattern is plain text.
    assert_true(Regex("cat /etc/shadow", true).search("CAT /ETC/Shadow"));
    assert_false(Regex("cat /etc/shadow").search("CAT /ETC/Shadow"));
    assert_true(Regex("a.c").search("abc"));
    assert_false(Regex("a.c", false, true).search("abc"));
    assert_true(Regex("a.c", false, true).search("x a.c y"));
    assert_true(Regex("[x](y)*+?{1}|^$\\", false, true).search("= [x](y)*+?{1}|^$\\ ="));
    assert_true(Regex("A.C", true, true).search("a.c"));
    assert_false(Regex("A.C", true, true).search("abc"));
}

void test_command_twice_on_screen(void**) {
    // The auditor's case: the second run of a command, its first still on
    // the screen, is a hit too; a line that only scrolls is not.
    testsupport::TempDir dir;
    std::string log = dir.file("twice.log");
    {
        testsupport::FileSink sink(log);
        tlog::Encoder enc(testsupport::info(), tlog::EncoderOptions{}, sink, 0, 0);
        enc.window(0, 40, 5);
        enc.output(1000 * kMs, "$ cat /etc/shadow\r\nroot:*\r\n");
        enc.output(2000 * kMs, "$ cat /etc/shadow\r\nroot:*\r\n");
        enc.output(3000 * kMs, "$ ls\r\n$ ls\r\n");  // both runs scroll, neither is new
        enc.finish(4000 * kMs, "exit");
    }
    RecordingIndex idx = build_index(log, IndexOptions{});
    Playback pb(log, idx);
    Regex re("cat /etc/shadow");
    std::vector<SearchHit> all;
    search_screen(pb, re, 0, [&](const SearchHit& h) {
        all.push_back(h);
        return true;
    });
    assert_int_equal(all.size(), 2);
    assert_int_equal(all[0].pos_ms, 1000);
    assert_int_equal(all[0].row, 0);
    assert_int_equal(all[1].pos_ms, 2000);
    assert_int_equal(all[1].row, 2);
}

void test_backward_matches_forward(void**) {
    testsupport::TempDir dir;
    std::string log = dir.file("hay.log");
    write_haystack(log);
    IndexOptions io;
    io.every_ms = 2000;  // many keyframe intervals to cross
    io.every_bytes = 1500;
    RecordingIndex idx = build_index(log, io);
    assert_true(idx.keyframes.size() > 10);
    Regex re("needle");
    std::vector<SearchHit> all;
    {
        Playback pb(log, idx);
        search_screen(pb, re, 0, [&](const SearchHit& h) {
            all.push_back(h);
            return true;
        });
    }
    assert_true(all.size() > 20);
    assert_int_equal(all.front().pos_ms, 0);
    Playback pb(log, idx);
    std::vector<uint64_t> times = {0, 1};
    for (const auto& h : all) {
        times.push_back(h.pos_ms);
        times.push_back(h.pos_ms + 1);
    }
    for (const auto& k : idx.keyframes) {
        times.push_back(k.time_ms);
        times.push_back(k.time_ms + 1);
    }
    times.push_back(idx.summary.duration_ms + 1000);
    for (uint64_t before : times) {
        std::optional<SearchHit> want;
        for (const auto& h : all)
            if (h.pos_ms < before) want = h;
        auto got = search_screen_backward(pb, re, before);
        if (!want) {
            if (got)
                fail_msg("before %llu: found %llu, expected none", (unsigned long long)before,
                         (unsigned long long)got->pos_ms);
            continue;
        }
        if (!got)
            fail_msg("before %llu: none found, expected %llu", (unsigned long long)before,
                     (unsigned long long)want->pos_ms);
        if (got->pos_ms != want->pos_ms || got->row != want->row || got->text != want->text)
            fail_msg("before %llu: got %llu row %d '%s', expected %llu row %d '%s'", (unsigned long long)before,
                     (unsigned long long)got->pos_ms, got->row, got->text.c_str(), (unsigned long long)want->pos_ms,
                     want->row, want->text.c_str());
    }
}

void test_backward_stops_when_told(void**) {
    testsupport::TempDir dir;
    std::string log = dir.file("hay.log");
    write_haystack(log);
    IndexOptions io;
    io.every_ms = 2000;
    RecordingIndex idx = build_index(log, io);
    Playback pb(log, idx);
    Regex re("nowhere to be found");
    int asked = 0;
    auto got = search_screen_backward(pb, re, idx.summary.duration_ms, [&](uint64_t) { return ++asked < 3; });
    assert_false(got.has_value());
    assert_int_equal(asked, 3);
}

void test_forward_stops_when_told(void**) {
    // The interactive search's cancel: asked every few hundred events, a
    // "no" stops the scan there, with nothing reported.
    testsupport::TempDir dir;
    std::string log = dir.file("hay.log");
    write_haystack(log);
    RecordingIndex idx = build_index(log, IndexOptions{});
    Playback pb(log, idx);
    Regex re("nowhere to be found");
    int asked = 0;
    uint64_t reached = 0;
    uint64_t hits = search_screen(
        pb, re, 0, [](const SearchHit&) { return true; },
        [&](uint64_t at) {
            reached = at;
            asked++;
            return false;
        });
    assert_int_equal(hits, 0);
    assert_int_equal(asked, 1);
    assert_true(reached > 0 && reached < idx.summary.duration_ms);
}

void test_forward_until(void**) {
    // The upper bound: hits after `until_ms` are not reported.
    testsupport::TempDir dir;
    std::string log = dir.file("hay.log");
    write_haystack(log);
    RecordingIndex idx = build_index(log, IndexOptions{});
    Playback pb(log, idx);
    Regex re("needle");
    std::vector<SearchHit> all, cut;
    search_screen(pb, re, 0, [&](const SearchHit& h) {
        all.push_back(h);
        return true;
    });
    uint64_t until = all[all.size() / 2].pos_ms;
    search_screen(
        pb, re, 0,
        [&](const SearchHit& h) {
            cut.push_back(h);
            return true;
        },
        {}, until);
    size_t want = 0;
    for (const auto& h : all)
        if (h.pos_ms <= until) want++;
    assert_true(want < all.size());
    assert_int_equal(cut.size(), want);
    assert_int_equal(cut.back().pos_ms, until);
}

}  // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backward_matches_forward),
        cmocka_unit_test(test_backward_stops_when_told),
        cmocka_unit_test(test_forward_stops_when_told),
        cmocka_unit_test(test_forward_until),
        cmocka_unit_test(test_regex_options),
        cmocka_unit_test(test_command_twice_on_screen),
        cmocka_unit_test(test_repeats_against_reference),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
