// Backward search: the hit found going back from any time must be the last
// hit a search from the start reports before that time, across keyframe
// intervals, scrolling and full-screen redraws.
#include <cstring>
#include <optional>
#include <random>
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
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
