// The keyframe index, seeking and the cache: a seek to any time must show
// exactly what a replay from the start shows; a cache is reused only while
// the recording is unchanged.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "test_support.h"
#include "tlog/decoder.h"
#include "tlog/play/index_cache.h"
#include "tlog/play/playback.h"
#include "tlog/play/recording_index.h"
#include "tlog/play/screen_search.h"

#include "cmocka_cxx.h"

using namespace tlog::play;
using testsupport::kMs;

namespace {

// A recording with what makes seeking hard: scrolling output, full-screen
// redraws in the alternate screen, scroll regions, colours, resizes, and
// escape sequences cut across messages (small payload).
void write_busy(const std::string& path, int frames = 300) {
    testsupport::FileSink sink(path);
    tlog::EncoderOptions eo;
    eo.payload = 700;
    tlog::Encoder enc(testsupport::info(), eo, sink, 0, 1700000000000000000LL);
    int64_t t = 0;
    enc.window(t, 40, 12);
    std::mt19937 rng(42);
    for (int f = 0; f < frames; f++) {
        t += (rng() % 50) * kMs;
        switch (f % 10) {
            case 3: enc.output(t, "\x1b[?1049h\x1b[H\x1b[2J"); break;
            case 6: enc.output(t, "\x1b[?1049l"); break;
            case 8: enc.window(t, static_cast<uint16_t>(30 + rng() % 30), static_cast<uint16_t>(8 + rng() % 10)); break;
            default: break;
        }
        std::string s;
        if (f % 10 >= 3 && f % 10 < 6) {
            // a "curses" redraw: positioned, coloured pieces
            for (int r = 1; r <= 6; r++)
                s += "\x1b[" + std::to_string(r) + ";" + std::to_string(1 + rng() % 5) + "H\x1b[3" +
                     std::to_string(rng() % 8) + "mframe " + std::to_string(f) + " row " + std::to_string(r) +
                     "\x1b[0m";
            if (f % 10 == 4) s += "\x1b[2;6r\x1b[6;1H\n\n\x1b[r";
        } else {
            s = "line " + std::to_string(f) + " \xe4\xb8\xad \x1b[1mbold\x1b[0m text\r\n";
        }
        // Cut in the middle of a sequence on purpose, across two writes.
        size_t cut = s.size() / 2;
        enc.output(t, s.substr(0, cut));
        enc.output(t + kMs, s.substr(cut));
        t += kMs;
    }
    enc.finish(t, "exit");
}

struct Collect : tlog::EventSink {
    std::vector<PlayEvent> evs;
    void event(const tlog::Event& e) override {
        PlayEvent p;
        p.type = e.type;
        p.pos_ms = e.pos_ms;
        p.data.assign(e.data);
        p.width = e.width;
        p.height = e.height;
        evs.push_back(std::move(p));
    }
};

// The screen at `ms` by replaying everything from the start.
void reference(const std::vector<PlayEvent>& evs, uint64_t ms, TermModel& m) {
    m.reset(24, 80);
    for (const auto& e : evs) {
        if (e.pos_ms > ms) break;
        if (e.type == tlog::Event::Type::Window)
            m.resize(e.height, e.width);
        else if (e.type == tlog::Event::Type::Output)
            m.feed(e.data);
    }
}

void expect_same(const TermModel& a, const TermModel& b, uint64_t ms) {
    if (a.text() != b.text() || a.rows() != b.rows() || a.cols() != b.cols())
        fail_msg("screens differ at %llu ms:\n--- seek\n%s\n--- replay\n%s", static_cast<unsigned long long>(ms),
                 a.text().c_str(), b.text().c_str());
    for (int r = 0; r < a.rows(); r++)
        assert_string_equal(a.draw_row(r, a.cols()).c_str(), b.draw_row(r, b.cols()).c_str());
    assert_int_equal(a.cursor_row(), b.cursor_row());
    assert_int_equal(a.cursor_col(), b.cursor_col());
}

void test_seek_matches_replay(void**) {
    testsupport::TempDir dir;
    std::string log = dir.file("busy.log");
    write_busy(log);
    IndexOptions io;
    io.every_bytes = 500;  // many keyframes
    RecordingIndex idx = build_index(log, io);
    if (idx.keyframes.size() <= 20) fail_msg("%zu keyframes", idx.keyframes.size());
    assert_int_equal(idx.summary.verdict, tlog::IntegrityReport::Verdict::Intact);
    Collect all;
    tlog::ReadOptions ro;
    tlog::decode_file(log, ro, all);
    Playback pb(log, idx);
    TermModel ref;
    std::mt19937 rng(7);
    uint64_t end = idx.summary.duration_ms;
    // Random order: backwards and forwards seeks.
    for (int i = 0; i < 150; i++) {
        uint64_t t = rng() % (end + 10);
        pb.seek(t);
        reference(all.evs, t, ref);
        expect_same(pb.model(), ref, t);
    }
    // Every keyframe time exactly, and just before and after it.
    for (const auto& k : idx.keyframes)
        for (uint64_t t : {k.time_ms ? k.time_ms - 1 : 0, k.time_ms, k.time_ms + 1}) {
            pb.seek(t);
            reference(all.evs, t, ref);
            expect_same(pb.model(), ref, t);
        }
}

// A build up to a time (a first look at -g TIME) stops at the first
// keyframe at or after it, its keyframes are the full build's first ones,
// and playback from it shows at TIME what a replay shows, in both build modes.
void test_index_until(void**) {
    testsupport::TempDir dir;
    std::string log = dir.file("busy.log");
    write_busy(log);
    IndexOptions io;
    io.every_bytes = 500;
    RecordingIndex full = build_index(log, io);
    Collect all;
    tlog::ReadOptions ro;
    tlog::decode_file(log, ro, all);
    uint64_t end = full.summary.duration_ms;
    for (bool pipelined : {true, false})
        for (uint64_t until : {uint64_t(1), end / 3, end / 2 + 7, end - 1}) {
            IndexOptions part = io;
            part.pipelined = pipelined;
            part.until_ms = until;
            RecordingIndex idx = build_index(log, part);
            // Either it stopped at a keyframe at or past `until`, or no
            // keyframe comes after `until` and it read the whole recording.
            bool stopped = !idx.keyframes.empty() && idx.keyframes.back().time_ms >= until;
            if (stopped ? idx.keyframes.size() >= full.keyframes.size()
                        : idx.keyframes.size() != full.keyframes.size() || full.keyframes.back().time_ms >= until)
                fail_msg("until %llu: %zu keyframes (last at %llu), the whole build has %zu",
                         static_cast<unsigned long long>(until), idx.keyframes.size(),
                         static_cast<unsigned long long>(idx.keyframes.back().time_ms), full.keyframes.size());
            for (size_t i = 0; i < idx.keyframes.size(); i++) {
                assert_int_equal(idx.keyframes[i].time_ms, full.keyframes[i].time_ms);
                assert_int_equal(idx.keyframes[i].offset, full.keyframes[i].offset);
            }
            Playback pb(log, idx);
            pb.advance_to(0);
            pb.seek(until);
            TermModel ref;
            reference(all.evs, until, ref);
            expect_same(pb.model(), ref, until);
        }
}

void test_playback_steps(void**) {
    testsupport::TempDir dir;
    std::string log = dir.file("busy.log");
    write_busy(log, 40);
    IndexOptions io;
    io.every_bytes = 1000;
    RecordingIndex idx = build_index(log, io);
    Playback pb(log, idx);
    pb.rewind();
    uint64_t last = 0, steps = 0;
    while (auto t = pb.next_time()) {
        assert_true(*t >= last);
        last = *t;
        assert_true(pb.step());
        steps++;
    }
    assert_true(steps > 40);
    assert_int_equal(last, idx.summary.duration_ms);
    assert_true(pb.ended());
}

void test_index_serialization(void**) {
    testsupport::TempDir dir;
    std::string log = dir.file("busy.log");
    write_busy(log, 50);
    IndexOptions io;
    io.every_bytes = 1500;
    RecordingIndex idx = build_index(log, io);
    RecordingIndex back;
    std::string s = idx.serialize();
    assert_true(RecordingIndex::deserialize(s, back));
    assert_int_equal(back.keyframes.size(), idx.keyframes.size());
    assert_string_equal(back.summary.rec.c_str(), "rec-1");
    assert_string_equal(back.summary.user.c_str(), "alice");
    assert_int_equal(back.summary.duration_ms, idx.summary.duration_ms);
    for (size_t cut = 0; cut < s.size(); cut += 97) assert_false(RecordingIndex::deserialize(s.substr(0, cut), back));
}

void test_cache_hit_and_stale(void**) {
    testsupport::TempDir dir;
    std::string log = dir.file("busy.log");
    write_busy(log, 50);
    CacheOptions co;
    co.dir = dir.file("cache/sub");
    CacheResult r;
    RecordingIndex a = open_index(log, co, &r);
    assert_int_equal(r, CacheResult::Missing);
    RecordingIndex b = open_index(log, co, &r);
    assert_int_equal(r, CacheResult::Hit);
    assert_int_equal(a.keyframes.size(), b.keyframes.size());
    struct stat st;
    assert_int_equal(stat(co.dir.c_str(), &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    // The file grows (a live recording, or another one appended): stale.
    {
        std::ofstream f(log, std::ios::app);
        f << "\n";
    }
    open_index(log, co, &r);
    assert_int_equal(r, CacheResult::Stale);
    open_index(log, co, &r);
    assert_int_equal(r, CacheResult::Hit);
    // Same size and mtime, different content at the end: stale.
    struct stat before;
    stat(log.c_str(), &before);
    {
        std::fstream f(log, std::ios::in | std::ios::out);
        f.seekp(-1, std::ios::end);
        f << " ";
    }
    struct timespec times[2] = {before.st_atim, before.st_mtim};
    utimensat(AT_FDCWD, log.c_str(), times, 0);
    open_index(log, co, &r);
    assert_int_equal(r, CacheResult::Stale);
    // A damaged cache file is not trusted.
    std::string cf = cache_file(co.dir, identify(log), co.index);
    {
        std::fstream f(cf, std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(100);
        f << "garbage";
    }
    open_index(log, co, &r);
    assert_int_equal(r, CacheResult::Unusable);
    open_index(log, co, &r);
    assert_int_equal(r, CacheResult::Hit);
    // A cache file others could have written is not trusted.
    chmod(cf.c_str(), 0666);
    open_index(log, co, &r);
    assert_int_equal(r, CacheResult::Unusable);
    open_index(log, co, &r);
    assert_int_equal(r, CacheResult::Hit);
    // No cache directory: built every time.
    co.dir.clear();
    open_index(log, co, &r);
    assert_int_equal(r, CacheResult::Disabled);
}

void test_select_recording(void**) {
    // Two interleaved recordings in one file: -m picks one.
    testsupport::TempDir dir;
    std::string log = dir.file("two.log");
    {
        testsupport::FileSink sink(log);
        tlog::EncoderOptions eo;
        eo.payload = 200;
        tlog::Encoder a(testsupport::info("rec-a"), eo, sink, 0, 0);
        tlog::Encoder b(testsupport::info("rec-b"), eo, sink, 0, 0);
        a.window(0, 20, 5);
        b.window(0, 20, 5);
        for (int i = 0; i < 20; i++) {
            a.output(i * 10 * kMs, "A" + std::to_string(i) + "\r\n");
            b.output(i * 10 * kMs, "B" + std::to_string(i) + "\r\n");
            a.flush();
            b.flush();
        }
        a.finish(200 * kMs, "exit");
        b.finish(200 * kMs, "exit");
    }
    IndexOptions io;
    io.rec = "rec-b";
    RecordingIndex idx = build_index(log, io);
    assert_string_equal(idx.summary.rec.c_str(), "rec-b");
    Playback pb(log, idx);
    pb.seek(1000);
    assert_non_null(strstr(pb.model().text().c_str(), "B19"));
    assert_null(strstr(pb.model().text().c_str(), "A"));
}

void test_search_rendered(void**) {
    // A word drawn in pieces (as curses does) is found on the screen, and a
    // matching line that scrolls is not found again.
    testsupport::TempDir dir;
    std::string log = dir.file("s.log");
    {
        testsupport::FileSink sink(log);
        tlog::Encoder enc(testsupport::info(), tlog::EncoderOptions{}, sink, 0, 0);
        enc.window(0, 30, 5);
        enc.output(1000 * kMs, "\x1b[2;10Hword");
        enc.output(2000 * kMs, "\x1b[2;1Hpass");
        enc.output(3000 * kMs, "\x1b[5;1H\r\n\r\n");
        enc.output(4000 * kMs, "\x1b[5;1Hpassword again");
        enc.finish(5000 * kMs, "exit");
    }
    RecordingIndex idx = build_index(log, IndexOptions{});
    Playback pb(log, idx);
    Regex re("pass *word");
    std::vector<SearchHit> hits;
    search_screen(pb, re, 0, [&](const SearchHit& h) {
        hits.push_back(h);
        return true;
    });
    assert_int_equal(hits.size(), 2);
    assert_int_equal(hits[0].pos_ms, 2000);
    assert_int_equal(hits[0].row, 1);
    assert_string_equal(hits[0].text.c_str(), "pass     word");
    assert_int_equal(hits[1].pos_ms, 4000);
    // From a later time only the later hit.
    hits.clear();
    search_screen(pb, re, 2500, [&](const SearchHit& h) {
        hits.push_back(h);
        return true;
    });
    assert_int_equal(hits.size(), 1);
}

void test_lax_gaps(void**) {
    // Messages removed from the middle: strict indexing stops with the
    // line, lax indexing plays through and records where.
    testsupport::TempDir dir;
    std::string log = dir.file("g.log");
    write_busy(log, 60);
    std::ifstream in(log);
    std::string line, out;
    int n = 0;
    while (std::getline(in, line))
        if (++n != 5 && n != 6) out += line + "\n";
    in.close();
    std::ofstream(log, std::ios::trunc) << out;
    IndexOptions io;
    bool threw = false;
    try {
        build_index(log, io);
    } catch (const tlog::InputError& e) {
        threw = true;
        assert_int_equal(e.where().line, 5);
    }
    assert_true(threw);
    io.lax = true;
    RecordingIndex idx = build_index(log, io);
    assert_int_equal(idx.summary.gaps.size(), 1);
    assert_int_equal(idx.summary.gaps[0].first_id, 5);
    assert_int_equal(idx.summary.gaps[0].last_id, 6);
    assert_int_equal(idx.summary.verdict, tlog::IntegrityReport::Verdict::Broken);
    Playback pb(log, idx);
    int gaps = 0;
    pb.on_gap = [&](const Gap&) { gaps++; };
    pb.rewind();
    while (pb.step()) {}
    assert_int_equal(gaps, 1);
}

void test_overlong_line(void**) {
    // A hostile file that is one endless line must not take all memory.
    testsupport::TempDir dir;
    std::string log = dir.file("long.log");
    {
        std::ofstream f(log, std::ios::binary);
        std::string block(1 << 20, 'a');
        for (int i = 0; i < 65; i++) f << block;
    }
    bool threw = false;
    try {
        build_index(log, IndexOptions{});
    } catch (const std::runtime_error& e) {
        threw = strstr(e.what(), "longer than 64 MiB") != nullptr;
    }
    assert_true(threw);
}

// Copies `from` to `to` without the given lines (1-based) and with `garble`
// lines cut short: a damaged recording.
void damage(const std::string& from, const std::string& to, const std::vector<int>& drop,
            const std::vector<int>& garble = {}) {
    std::ifstream in(from);
    std::string line, out;
    int n = 0;
    while (std::getline(in, line)) {
        n++;
        if (std::find(drop.begin(), drop.end(), n) != drop.end()) continue;
        if (std::find(garble.begin(), garble.end(), n) != garble.end()) line.resize(line.size() / 2);
        out += line + "\n";
    }
    std::ofstream(to, std::ios::trunc) << out;
}

int count_lines(const std::string& path) {
    std::ifstream in(path);
    std::string line;
    int n = 0;
    while (std::getline(in, line)) n++;
    return n;
}

size_t threads_now() {
    size_t n = 0;
    for (const auto& e : std::filesystem::directory_iterator("/proc/self/task")) n += e.is_directory();
    return n;
}

// The pipelined build (decoder and model in two threads) gives exactly what
// the sequential one gives: keyframes, their snapshots, the summary, in
// strict and lax mode, intact and damaged.
void test_pipelined_same_as_sequential(void**) {
    testsupport::TempDir dir;
    std::string log = dir.file("busy.log"), bad = dir.file("bad.log");
    write_busy(log, 600);
    int n = count_lines(log);
    assert_true(n > 100);
    damage(log, bad, {5, 6, n * 3 / 4}, {n / 2, n / 2 + 1});
    for (const std::string& f : {log, bad})
        for (bool lax : {false, true})
            for (uint64_t every : {uint64_t(300), uint64_t(5000), uint64_t(1) << 20}) {
                IndexOptions io;
                io.every_bytes = every;
                io.lax = lax;
                io.pipelined = false;
                std::string seq, pipe;
                try {
                    seq = build_index(f, io).serialize();
                } catch (const tlog::InputError& e) {
                    seq = std::string("error: ") + e.what();
                }
                io.pipelined = true;
                try {
                    pipe = build_index(f, io).serialize();
                } catch (const tlog::InputError& e) {
                    pipe = std::string("error: ") + e.what();
                }
                assert_true(seq == pipe);
                if (f == bad && !lax)
                    assert_string_equal(seq.c_str(),
                                        ("error: " + bad + ":5: field 'id': messages 5..6 are missing").c_str());
            }
    // The damaged one in lax mode really has gaps, problems and keyframes to compare.
    IndexOptions io;
    io.lax = true;
    io.every_bytes = 300;
    RecordingIndex idx = build_index(bad, io);
    assert_int_equal(idx.summary.gaps.size(), 3);  // 5..6, the garbled pair's ids, 300's
    assert_false(idx.summary.problems.empty());
    if (idx.keyframes.size() < 50) fail_msg("%zu keyframes", idx.keyframes.size());
}

// Progress and cancel callbacks are called the same way by both builds, and
// a build left by an exception (cancelled, strict error) leaves no thread.
void test_pipelined_callbacks_and_errors(void**) {
    testsupport::TempDir dir;
    std::string log = dir.file("big.log");
    {
        // About 10 MiB, so that progress (every 8 MiB) is called.
        testsupport::FileSink sink(log);
        tlog::Encoder enc(testsupport::info(), tlog::EncoderOptions{}, sink, 0, 0);
        enc.window(0, 80, 24);
        std::string chunk;
        for (int i = 0; chunk.size() < 3000; i++) chunk += "\x1b[32mline\x1b[0m " + std::to_string(i) + " text\r\n";
        for (int i = 0; i < 3500; i++) enc.output(i * 10 * kMs, chunk);
        enc.finish(3500 * 10 * kMs, "exit");
    }
    size_t threads = threads_now();
    std::vector<uint64_t> progress[2];
    for (bool pipelined : {false, true}) {
        IndexOptions io;
        io.pipelined = pipelined;
        io.progress = [&](uint64_t off) { progress[pipelined].push_back(off); };
        build_index(log, io);
    }
    assert_false(progress[0].empty());
    assert_true(progress[0] == progress[1]);
    for (bool pipelined : {false, true}) {
        IndexOptions io;
        io.pipelined = pipelined;
        int calls = 0;
        io.cancelled = [&] { return ++calls == 50; };
        bool cancelled = false;
        try {
            build_index(log, io);
        } catch (const IndexCancelled&) {
            cancelled = true;
        }
        assert_true(cancelled);
        assert_int_equal(calls, 50);
        assert_int_equal(threads_now(), threads);
    }
    // A strict error near the start: the decoder thread stops there.
    std::string bad = dir.file("bad.log");
    damage(log, bad, {}, {3});
    for (bool pipelined : {false, true}) {
        IndexOptions io;
        io.pipelined = pipelined;
        bool threw = false;
        try {
            build_index(bad, io);
        } catch (const tlog::InputError& e) {
            threw = e.where().line == 3;
        }
        assert_true(threw);
        assert_int_equal(threads_now(), threads);
    }
}

// Playback from a keyframe after a gap: the gap before the keyframe is not
// reported again (the decoder starts at the id the index's decoder expected
// there), and the gaps after it are reported once each.
void test_keyframe_after_gap(void**) {
    testsupport::TempDir dir;
    std::string log = dir.file("busy.log"), bad = dir.file("gaps.log");
    write_busy(log, 300);
    int n = count_lines(log);
    damage(log, bad, {5, 6, n * 3 / 4}, {n / 2});
    IndexOptions io;
    io.lax = true;
    io.every_bytes = 300;
    RecordingIndex idx = build_index(bad, io);
    assert_int_equal(idx.summary.gaps.size(), 3);
    size_t checked = 0;
    for (const Keyframe& k : idx.keyframes) {
        if (k.time_ms == 0) continue;
        const Keyframe& from = idx.at_or_before(k.time_ms);
        size_t want = 0;
        for (const Gap& g : idx.summary.gaps) want += g.first_id >= from.msg_id;
        Playback pb(bad, idx);
        size_t gaps = 0;
        pb.on_gap = [&](const Gap&) { gaps++; };
        pb.seek(k.time_ms);
        while (pb.step()) {}
        if (gaps != want)
            fail_msg("keyframe at %llu ms (message %llu): %zu gaps reported, %zu expected",
                     static_cast<unsigned long long>(from.time_ms), static_cast<unsigned long long>(from.msg_id), gaps,
                     want);
        checked += from.msg_id > 7;
    }
    assert_true(checked > 20);  // many keyframes after the first gap
}

}  // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seek_matches_replay),
        cmocka_unit_test(test_index_until),
        cmocka_unit_test(test_playback_steps),
        cmocka_unit_test(test_index_serialization),
        cmocka_unit_test(test_cache_hit_and_stale),
        cmocka_unit_test(test_select_recording),
        cmocka_unit_test(test_search_rendered),
        cmocka_unit_test(test_lax_gaps),
        cmocka_unit_test(test_overlong_line),
        cmocka_unit_test(test_pipelined_same_as_sequential),
        cmocka_unit_test(test_pipelined_callbacks_and_errors),
        cmocka_unit_test(test_keyframe_after_gap),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
