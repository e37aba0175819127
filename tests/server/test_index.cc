// tlog-server's index, the same suite on each backend: integrity verdicts
// (intact, keyed with and without its key, broken with the first bad id,
// unprotected, a gap that holds indexing until it fills), the sessions
// filters; keyframes: the screen from the nearest keyframe plus the
// messages after it equals the screen of the whole recording replayed to
// that time, and the repaint sequences draw that screen; screen text: the
// rows stored for a text are exactly tlog-play's search hits for it; an
// index resumed after a restart ends as one built in one go.
// Usage: test_server_index [sqlite | postgres:CONNINFO] (pg_store_test.py).
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "cmocka_cxx.h"
#include "temp_db.h"
#include "tlog/decoder.h"
#include "tlog/encoder.h"
#include "tlog/json.h"
#include "tlog/play/playback.h"
#include "tlog/play/recording_index.h"
#include "tlog/play/screen_search.h"
#include "tlog/play/term_model.h"
#include "tlog/server/frames.h"
#include "tlog/server/index.h"
#include "tlog/server/ingest.h"
#include "tlog/server/store.h"

using namespace tlog::server;

namespace {

constexpr int64_t kMs = 1000000;

using tlog_test::pg_base;

struct TempDb : tlog_test::TempDb {
    TempDb() : tlog_test::TempDb("index") {}
};

class Lines : public tlog::MessageSink {
public:
    void write(const tlog::EncodedMessage& m) override {
        std::string l(m.line);
        if (!l.empty() && l.back() == '\n') l.pop_back();
        lines.push_back(l);
    }
    std::vector<std::string> lines;
};

tlog::RecordingInfo info(const std::string& rec) { return {"host-a", rec, "alice", "xterm", 7}; }

// A shell session with clears, scrolls, rows rewritten in place, commands
// typed in pieces, a scrolling region and window changes (as the player's
// search test writes them).
std::vector<std::string> session(const std::string& rec, unsigned seed, int steps, size_t payload,
                                 const tlog::integrity::Key* key = nullptr) {
    Lines sink;
    tlog::EncoderOptions eo;
    eo.payload = payload;
    eo.key = key;
    tlog::Encoder enc(info(rec), eo, sink, 0, 1700000000LL * 1000 * kMs);
    enc.window(0, 50, 10);
    std::mt19937 rng(seed);
    int64_t t = 0;
    const char* words[] = {"cat /etc/shadow", "CAT /ETC/SHADOW", "cat /etc/passwd", "ls", "cat /etc/shad", "ow"};
    for (int i = 0; i < steps; i++) {
        if (rng() % 3) t += static_cast<int64_t>(rng() % 400) * kMs;
        std::string s;
        switch (rng() % 12) {
            case 0: s = "\x1b[H\x1b[2J"; break;
            case 1: s = "$ cat /etc/shadow\r\n"; break;
            case 2: s = "$ " + std::string(words[rng() % 6]) + "\r\n"; break;
            case 3:
                enc.output(t, "$ cat /etc/");
                t += 40 * kMs;
                s = "shadow\r\nroot:*:" + std::to_string(i) + "\r\n";
                break;
            case 4: s = "\r$ cat /etc/shadow"; break;
            case 5:
                s = "\x1b[" + std::to_string(1 + rng() % 10) + ";" + std::to_string(1 + rng() % 20) + "H\x1b[1;3" +
                    std::to_string(rng() % 8) + "m" + words[rng() % 6] + "\x1b[m";
                break;
            case 6: s = "\x1b[" + std::to_string(1 + rng() % 3) + (rng() % 2 ? "S" : "T"); break;
            case 7: s = "\x1b[" + std::to_string(1 + rng() % 3) + (rng() % 2 ? "L" : "M"); break;
            case 8: s = "\x1b[3;7r\x1b[7;1H$ cat /etc/shadow\n\n" + std::to_string(i) + "\x1b[r\x1b[10;1H"; break;
            case 9: s = "\x1b[2K\r"; break;
            case 10:  // a full-screen program on the alternate screen
                enc.output(t, "\x1b[?1049h\x1b[Htop " + std::to_string(i));
                t += 20 * kMs;
                s = "\x1b[?1049l";
                break;
            default: s = "output " + std::to_string(rng() % 5) + " \xc3\xa9\xe4\xb8\xad\r\n"; break;
        }
        if (rng() % 40 == 0)
            enc.window(t, static_cast<uint16_t>(40 + rng() % 20), static_cast<uint16_t>(8 + rng() % 6));
        enc.output(t, s);
    }
    enc.finish(t + 10 * kMs, "exit");
    return sink.lines;
}

std::string join(const std::vector<std::string>& lines, size_t from = 0, size_t to = SIZE_MAX) {
    std::string out;
    for (size_t i = from; i < std::min(to, lines.size()); i++) out += lines[i] + "\n";
    return out;
}

Session session_of(Store& s, const std::string& rec) {
    for (const auto& x : s.sessions({})) {
        if (x.rec == rec) return x;
    }
    fail_msg("no session %s", rec.c_str());
}

IndexConfig small_keyframes() {
    IndexConfig c;
    c.every_bytes = 300;  // many keyframes in a short recording
    c.every_ms = 5000;
    c.batch = 7;  // saves in the middle of a recording
    return c;
}

void test_verdicts(void**) {
    TempDb t;
    auto store = t.open();
    auto ok = session("r-ok", 1, 80, 200);
    auto bad = session("r-bad", 2, 80, 200);
    // One character of one message's text changed: valid JSON, timing
    // still matching, the MAC no longer.
    size_t at = bad[5].find("output ");
    if (at == std::string::npos) at = bad[5].find("$ ");
    assert_true(at != std::string::npos);
    bad[5][at] = bad[5][at] == 'o' ? 'O' : '#';
    std::string plain =
        "{\"ver\":\"2.3\",\"host\":\"host-a\",\"rec\":\"r-plain\",\"user\":\"bob\",\"term\":\"xterm\",\"session\":1,"
        "\"id\":1,\"pos\":0,\"time\":1700000000.000,\"timing\":\">5\",\"in_txt\":\"\",\"in_bin\":[],\"out_txt\":"
        "\"hello\",\"out_bin\":[]}";
    auto gap = session("r-gap", 3, 80, 200);
    assert_true(gap.size() > 10);
    assert_int_equal(ingest_json_lines(*store, join(ok) + join(bad) + plain + "\n", 0).failed, 0);
    // r-gap: message 4 is late.
    assert_int_equal(ingest_json_lines(*store, join(gap, 0, 3) + join(gap, 4), 0).failed, 0);
    Indexer ix(t.open(), small_keyframes());
    assert_true(ix.run_once() > 0);
    auto s_ok = session_of(*store, "r-ok");
    assert_string_equal(s_ok.integrity.c_str(), "intact");
    assert_int_equal(s_ok.indexed_through, ok.size());
    assert_true(s_ok.integrity_label.find("unkeyed") != std::string::npos);
    auto s_bad = session_of(*store, "r-bad");
    assert_string_equal(s_bad.integrity.c_str(), "broken");
    assert_int_equal(s_bad.first_bad_id, 6);
    assert_string_equal(session_of(*store, "r-plain").integrity.c_str(), "unprotected");
    auto s_gap = session_of(*store, "r-gap");
    assert_int_equal(s_gap.indexed_through, 3);
    assert_string_equal(s_gap.integrity.c_str(), "incomplete");
    // Nothing new: a pass does nothing.
    assert_int_equal(ix.run_once(), 0);
    assert_int_equal(ingest_json_lines(*store, join(gap, 3, 4), 0).failed, 0);
    assert_int_equal(ix.run_once(), gap.size() - 3);
    s_gap = session_of(*store, "r-gap");
    assert_string_equal(s_gap.integrity.c_str(), "intact");
    assert_int_equal(s_gap.indexed_through, gap.size());
    // The filter.
    SessionQuery q;
    q.conditions = {integrity_condition("broken")};
    auto broken = store->sessions(q);
    assert_int_equal(broken.size(), 1);
    assert_string_equal(broken[0].rec.c_str(), "r-bad");
    q.conditions = {integrity_condition("intact")};
    assert_int_equal(store->sessions(q).size(), 2);
    q.conditions = {integrity_condition("pending")};
    assert_int_equal(store->sessions(q).size(), 0);
}

void test_keyed(void**) {
    TempDb t;
    std::string key_file = t.dir + "/k1";
    {
        std::ofstream f(key_file);
        f << "id: k1\n" << std::string(64, 'a') << "\n";
    }
    auto key = tlog::integrity::load_key_file(key_file);
    auto lines = session("r-keyed", 4, 60, 300, &key);
    auto store = t.open();
    assert_int_equal(ingest_json_lines(*store, join(lines), 0).failed, 0);
    {
        Indexer without(t.open(), small_keyframes());
        without.run_once();
        auto s = session_of(*store, "r-keyed");
        assert_string_equal(s.integrity.c_str(), "unverifiable");
    }
    TempDb t2;
    auto store2 = t2.open();
    assert_int_equal(ingest_json_lines(*store2, join(lines), 0).failed, 0);
    IndexConfig c = small_keyframes();
    c.key_files = {key_file};
    Indexer with(t2.open(), c);
    with.run_once();
    auto s = session_of(*store2, "r-keyed");
    assert_string_equal(s.integrity.c_str(), "intact");
    assert_true(s.integrity_label.find("keyed, key k1") != std::string::npos);
}

// Replays `lines` (all of a recording, or from a keyframe on with its
// snapshot restored) into `m`, every event at or before `to_ms`.
class ToTime : public tlog::EventSink {
public:
    ToTime(tlog::play::TermModel& m, uint64_t to) : m_(m), to_(to) {}
    void event(const tlog::Event& ev) override {
        if (ev.pos_ms > to_) return;
        if (ev.type == tlog::Event::Type::Window) m_.resize(ev.height, ev.width);
        if (ev.type == tlog::Event::Type::Output) m_.feed(ev.data);
    }

private:
    tlog::play::TermModel& m_;
    uint64_t to_;
};

void replay(tlog::play::TermModel& m, const std::vector<std::string>& lines, uint64_t first_id, uint64_t to) {
    tlog::DecodeOptions o;
    o.lax = true;
    o.first_id = first_id;
    tlog::Decoder d(o);
    ToTime sink(m, to);
    for (size_t i = 0; i < lines.size(); i++) d.feed(lines[i], i + 1, sink);
}

void test_seek(void**) {
    TempDb t;
    auto store = t.open();
    auto lines = session("r-seek", 5, 600, 400);
    assert_int_equal(ingest_json_lines(*store, join(lines), 0).failed, 0);
    Indexer ix(t.open(), small_keyframes());
    ix.run_once();
    tlog::play::TermModel whole;
    replay(whole, lines, 1, UINT64_MAX);
    uint64_t end = 0;
    for (const auto& l : lines) end = std::max(end, *peek_uint(l, "pos"));
    int from_keyframe = 0;
    for (uint64_t to = 0; to <= end + 1000; to += end / 37 + 1) {
        auto r = seek(*store, "host-a", "r-seek", to, 100000);
        assert_true(r.has_value());
        assert_true(r->keyframe.pos_ms <= to);
        if (r->keyframe.msg_id > 1) from_keyframe++;
        // The keyframe plus the messages after it.
        tlog::play::Snapshot snap;
        assert_true(tlog::play::Snapshot::deserialize(r->keyframe.snapshot, snap));
        tlog::play::TermModel seeked;
        seeked.restore(snap);
        replay(seeked, r->messages, r->keyframe.msg_id, to);
        // The whole recording up to `to`.
        tlog::play::TermModel full;
        replay(full, lines, 1, to);
        if (seeked.snapshot().state != full.snapshot().state) {
            fail_msg("at %llu ms (keyframe at %llu, id %llu): the screens differ:\n%s\n----\n%s",
                     static_cast<unsigned long long>(to), static_cast<unsigned long long>(r->keyframe.pos_ms),
                     static_cast<unsigned long long>(r->keyframe.msg_id), seeked.text().c_str(), full.text().c_str());
        }
        // The repaint sequences draw the keyframe's screen on a blank terminal.
        tlog::play::TermModel painted(r->rows, r->cols);
        painted.feed(r->repaint);
        assert_string_equal(painted.text().c_str(), r->text.c_str());
        tlog::play::TermModel at_keyframe;
        at_keyframe.restore(snap);
        assert_int_equal(painted.cursor_row(), at_keyframe.cursor_row());
        assert_int_equal(painted.cursor_col(), at_keyframe.cursor_col());
    }
    assert_true(from_keyframe > 5);
    assert_false(seek(*store, "host-a", "nope", 0, 10).has_value());
}

std::vector<std::string> hits_text(const std::vector<ScreenTextRow>& rows) {
    std::vector<std::string> out;
    for (const auto& r : rows)
        out.push_back(std::to_string(r.pos_ms) + " row " + std::to_string(r.row) + " '" + r.text + "'");
    return out;
}

// tlog-play's search over the same recording written to a file.
std::vector<std::string> player_hits(const std::string& dir, const std::vector<std::string>& lines,
                                     const std::string& text) {
    std::string path = dir + "/rec.log";
    {
        std::ofstream f(path);
        f << join(lines);
    }
    tlog::play::IndexOptions io;
    io.lax = true;
    auto idx = tlog::play::build_index(path, io);
    tlog::play::Playback pb(path, idx);
    tlog::play::Regex re(text, false, true);
    std::vector<std::string> out;
    tlog::play::search_screen(pb, re, 0, [&](const tlog::play::SearchHit& h) {
        out.push_back(std::to_string(h.pos_ms) + " row " + std::to_string(h.row) + " '" + h.text + "'");
        return true;
    });
    return out;
}

void expect_same(const std::vector<std::string>& want, const std::vector<std::string>& got, const char* what) {
    for (size_t i = 0; i < std::max(want.size(), got.size()); i++) {
        if (i >= want.size()) fail_msg("%s: extra hit %s", what, got[i].c_str());
        if (i >= got.size()) fail_msg("%s: missed %s (%zu of %zu)", what, want[i].c_str(), got.size(), want.size());
        if (want[i] != got[i]) fail_msg("%s: hit %zu is %s, expected %s", what, i, got[i].c_str(), want[i].c_str());
    }
}

void test_text(void**) {
    TempDb t;
    auto store = t.open();
    auto lines = session("r-text", 6, 500, 350);
    assert_int_equal(ingest_json_lines(*store, join(lines), 0).failed, 0);
    Indexer ix(t.open(), small_keyframes());
    ix.run_once();
    for (const char* q : {"cat /etc/shadow", "shadow", "root:*:", "ow", "top 1", "\xc3\xa9\xe4\xb8\xad"}) {
        auto want = player_hits(t.dir, lines, q);
        auto got = hits_text(store->text_hits("host-a", "r-text", q, 100000));
        if (want.empty()) fail_msg("no hits for %s: the test finds nothing", q);
        expect_same(want, got, q);
    }
    assert_true(store->text_hits("host-a", "r-text", "not on screen", 10).empty());
    // The sessions filter.
    SessionQuery q;
    q.conditions = {text_condition("root:*:")};
    assert_int_equal(store->sessions(q).size(), 1);
    q.conditions = {text_condition("not on screen")};
    assert_int_equal(store->sessions(q).size(), 0);
    // Under three characters: scanned, not through the trigram index.
    q.conditions = {text_condition("*:")};
    assert_int_equal(store->sessions(q).size(), 1);
    q.conditions = {text_condition("%")};
    assert_int_equal(store->sessions(q).size(), 0);
}

// A restart in the middle (the decoder and model resumed from the last
// keyframe) ends with the index built in one go: verdict, keyframes, text.
void test_resume(void**) {
    auto lines = session("r-res", 7, 8000, 300);  // rows in several chunks
    TempDb one, two;
    auto s1 = one.open();
    auto s2 = two.open();
    assert_int_equal(ingest_json_lines(*s1, join(lines), 0).failed, 0);
    Indexer a(one.open(), small_keyframes());
    a.run_once();
    size_t cut = lines.size() / 3;
    size_t done = 0;
    for (size_t step : {cut, cut + 1, 2 * cut + 3, lines.size()}) {
        assert_int_equal(ingest_json_lines(*s2, join(lines, done, step), 0).failed, 0);
        done = step;
        Indexer b(two.open(), small_keyframes());  // a new indexer each time: nothing kept in memory
        b.run_once();
    }
    auto x = session_of(*s1, "r-res");
    auto y = session_of(*s2, "r-res");
    assert_string_equal(x.integrity.c_str(), "intact");
    assert_string_equal(y.integrity.c_str(), "intact");
    assert_int_equal(y.indexed_through, lines.size());
    long chunks = two.count("SELECT count(*) FROM screen_chunks");
    if (chunks < 3) fail_msg("%ld chunks: the test means rows in several", chunks);
    for (const char* q : {"cat /etc/shadow", "root:*:", "output", "ow"}) {
        expect_same(hits_text(s1->text_hits("host-a", "r-res", q, 100000)),
                    hits_text(s2->text_hits("host-a", "r-res", q, 100000)), q);
        SessionQuery sq;
        sq.conditions = {text_condition(q)};
        assert_int_equal(s2->sessions(sq).size(), 1);
    }
    for (uint64_t to = 0; to < 200000; to += 9973) {
        auto k1 = s1->keyframe_at("host-a", "r-res", to);
        auto k2 = s2->keyframe_at("host-a", "r-res", to);
        assert_true(k1 && k2);
        assert_int_equal(k1->msg_id, k2->msg_id);
        assert_int_equal(k1->pos_ms, k2->pos_ms);
        assert_true(k1->snapshot == k2->snapshot);
    }
}

// An indexer stopped in the middle of a session (SIGTERM) leaves it on the
// list: the next one finishes it, with the index a single pass makes. With
// saves every few messages (stopped after one), and with the whole session
// in one batch (stopped inside it, wherever it is: a stop is honoured
// within a batch, what was fed saved).
void stop_midway(const IndexConfig& cfg, bool one_batch, int steps = 700, useconds_t after = 0) {
    auto lines = session("r-stop", 8, steps, 300);
    TempDb one, two;
    auto s1 = one.open();
    auto s2 = two.open();
    assert_int_equal(ingest_json_lines(*s1, join(lines), 0).failed, 0);
    assert_int_equal(ingest_json_lines(*s2, join(lines), 0).failed, 0);
    Indexer a(one.open(), small_keyframes());
    a.run_once();
    {
        Indexer b(two.open(), cfg);
        b.start();
        b.wake();
        if (one_batch) {
            usleep(after);  // any time will do: the index must end the same
        } else {
            for (int i = 0; i < 6000; i++) {
                auto st = s2->index_state("host-a", "r-stop");
                if (st && st->indexed_through > 0) break;
                usleep(5000);
            }
        }
        b.stop();
    }
    if (!one_batch) assert_true(s2->index_state("host-a", "r-stop").has_value());
    Indexer c(two.open(), cfg);
    c.run_once();
    auto y = session_of(*s2, "r-stop");
    assert_int_equal(y.indexed_through, lines.size());
    assert_string_equal(y.integrity.c_str(), "intact");
    for (const char* q : {"cat /etc/shadow", "root:*:", "output"}) {
        expect_same(hits_text(s1->text_hits("host-a", "r-stop", q, 100000)),
                    hits_text(s2->text_hits("host-a", "r-stop", q, 100000)), q);
    }
}

void test_stop_midway(void**) {
    stop_midway(small_keyframes(), false);
    IndexConfig whole = small_keyframes();
    whole.batch = 100000;
    for (useconds_t after : {1000, 5000, 20000}) stop_midway(whole, true, 6000, after);
}

// Two indexers (two servers on one database) at once: each session is
// indexed by one of them at a time, and the index is the one a single
// indexer makes: no row twice.
void test_two_indexers(void**) {
    std::vector<std::vector<std::string>> recs;
    for (unsigned i = 0; i < 6; i++) recs.push_back(session("r-two-" + std::to_string(i), 20 + i, 300, 300));
    TempDb one, two;
    auto s1 = one.open();
    auto s2 = two.open();
    for (const auto& r : recs) {
        assert_int_equal(ingest_json_lines(*s1, join(r), 0).failed, 0);
        assert_int_equal(ingest_json_lines(*s2, join(r), 0).failed, 0);
    }
    Indexer ref(one.open(), small_keyframes());
    ref.run_once();
    Indexer a(two.open(), small_keyframes());
    Indexer b(two.open(), small_keyframes());
    uint64_t fed_a = 0, fed_b = 0;
    std::thread ta([&] { fed_a = a.run_once(); });
    std::thread tb([&] { fed_b = b.run_once(); });
    ta.join();
    tb.join();
    size_t total = 0;
    for (const auto& r : recs) total += r.size();
    assert_true(fed_a + fed_b >= total);
    for (unsigned i = 0; i < 6; i++) {
        std::string rec = "r-two-" + std::to_string(i);
        assert_int_equal(session_of(*s2, rec).indexed_through, recs[i].size());
        for (const char* q : {"cat /etc/shadow", "output"}) {
            expect_same(hits_text(s1->text_hits("host-a", rec, q, 100000)),
                        hits_text(s2->text_hits("host-a", rec, q, 100000)), q);
        }
    }
}

// "uniq-00042": a text only row i holds.
std::string uniq(int i) {
    std::string n = std::to_string(i);
    return "uniq-" + std::string(n.size() < 5 ? 5 - n.size() : 0, '0') + n;
}

// Screen text is stored in chunks of consecutive rows: rows saved a few at
// a time and many at once are found in order, whichever chunk holds them
// (each chunk's first and last row among them), a text in many chunks and
// in two recordings, and an index redone from a message in the middle of
// a chunk keeps the rows before it and replaces those after.
ScreenTextRow chunk_row(int i, const std::string& tag) {
    ScreenTextRow r;
    r.msg_id = 1 + static_cast<uint64_t>(i) / 4;  // several rows a message
    r.pos_ms = 1000 + static_cast<uint64_t>(i) * 10;
    r.row = i % 24;
    r.text = tag + " " + uniq(i) + " " + std::string(static_cast<size_t>(40 + i % 50), static_cast<char>('a' + i % 26));
    return r;
}

std::vector<std::string> rows_text(const std::vector<ScreenTextRow>& rows) {
    std::vector<std::string> out;
    for (const auto& r : rows) {
        out.push_back(std::to_string(r.msg_id) + " " + std::to_string(r.pos_ms) + " row " + std::to_string(r.row) +
                      " '" + r.text + "'");
    }
    return out;
}

size_t sessions_with(Store& s, const std::string& text) {
    SessionQuery q;
    q.conditions = {text_condition(text)};
    return s.sessions(q).size();
}

void test_chunks(void**) {
    TempDb t;
    auto store = t.open();
    for (const char* rec : {"r-chunks", "r-other"}) {
        assert_int_equal(ingest_json_lines(*store, join(session(rec, 11, 5, 300)), 0).failed, 0);
    }
    constexpr int n = 10000;  // about 1 MB of text: tens of chunks
    std::vector<ScreenTextRow> all;
    for (int i = 0; i < n; i++) all.push_back(chunk_row(i, "NEEDLE"));
    IndexState st{"host-a", "r-chunks", "pending", "", 0, 0, 0};
    // Saved as the indexer does: a few rows at a time (a live session) and
    // many at once.
    const size_t pieces[] = {1, 7, 500, 3, 250, 1, 1, 1200};
    size_t at = 0;
    for (size_t k = 0; at < all.size(); k++) {
        size_t m = std::min(pieces[k % std::size(pieces)], all.size() - at);
        std::vector<ScreenTextRow> part(all.begin() + static_cast<long>(at), all.begin() + static_cast<long>(at + m));
        at += m;
        st.indexed_through = part.back().msg_id;
        store->save_index(st, {}, part, 0);
    }
    std::vector<ScreenTextRow> other;
    for (int i = 0; i < 10; i++) other.push_back(chunk_row(i, "NEEDLE other"));
    store->save_index({"host-a", "r-other", "pending", "", 0, 3, 0}, {}, other, 0);

    long chunks = t.count("SELECT count(*) FROM screen_chunks");
    if (chunks < 20) fail_msg("%ld chunks: the test means rows in several", chunks);
    expect_same(rows_text(all), rows_text(store->text_hits("host-a", "r-chunks", "NEEDLE", 100000)), "NEEDLE");
    expect_same(rows_text({all.begin(), all.begin() + 5}),
                rows_text(store->text_hits("host-a", "r-chunks", "NEEDLE", 5)), "NEEDLE, 5");
    for (int i = 0; i < n; i++) {
        const std::string id = uniq(i);
        expect_same(rows_text({all[static_cast<size_t>(i)]}),
                    rows_text(store->text_hits("host-a", "r-chunks", id, 100)), id.c_str());
    }
    // Two characters: the chunks are read without the trigram index.
    assert_int_equal(store->text_hits("host-a", "r-chunks", "E ", 100000).size(), n);
    // A text across two rows is on no row.
    assert_true(store->text_hits("host-a", "r-chunks", "aaaa\\nNEEDLE", 10).empty());
    assert_true(store->text_hits("host-a", "r-chunks", "aaaa\nNEEDLE", 10).empty());
    assert_int_equal(sessions_with(*store, "aaaa\nNEEDLE"), 0);
    assert_int_equal(sessions_with(*store, "NEEDLE"), 2);
    assert_int_equal(sessions_with(*store, "uniq-09999"), 1);
    assert_int_equal(sessions_with(*store, "uniq-00000"), 2);
    assert_int_equal(sessions_with(*store, "NEEDLE other"), 1);
    assert_int_equal(sessions_with(*store, "REDONE"), 0);

    // Redone from message 401 (row 1600 on): rows before it stay.
    std::vector<ScreenTextRow> redone;
    for (int i = 1600; i < n; i++) redone.push_back(chunk_row(i, "REDONE"));
    std::vector<ScreenTextRow> first(redone.begin(), redone.begin() + 100), rest(redone.begin() + 100, redone.end());
    store->save_index(st, {}, first, 401);
    store->save_index(st, {}, rest, 0);
    expect_same(rows_text({all.begin(), all.begin() + 1600}),
                rows_text(store->text_hits("host-a", "r-chunks", "NEEDLE", 100000)), "NEEDLE after the redo");
    expect_same(rows_text(redone), rows_text(store->text_hits("host-a", "r-chunks", "REDONE", 100000)), "REDONE");
    expect_same(rows_text({redone[100]}), rows_text(store->text_hits("host-a", "r-chunks", "uniq-01700", 100)),
                "uniq-01700");
    expect_same(rows_text({redone[9000 - 1600]}), rows_text(store->text_hits("host-a", "r-chunks", "uniq-09000", 100)),
                "uniq-09000");
    assert_int_equal(sessions_with(*store, "REDONE"), 1);
    assert_int_equal(sessions_with(*store, "NEEDLE uniq-09999"), 0);
    assert_int_equal(sessions_with(*store, "NEEDLE uniq-01599"), 1);
}

// A database of schema version 6 (a record per row of screen text) comes
// up at the current version: the rows it held are dropped and every session is
// indexed again from its messages, with the answers of tlog-play's search.
void test_upgrade_from_v6(void**) {
    TempDb t;
    auto lines = session("r-v6", 9, 500, 300);
    {
        auto store = t.open();
        assert_int_equal(ingest_json_lines(*store, join(lines), 0).failed, 0);
    }
    // Version 6's tables in place of the chunks, holding a row the former
    // indexer stored, and its progress: the whole session indexed.
    const std::string through = std::to_string(lines.size());
    const std::string rows =
        "INSERT INTO screen_text (sid, msg_id, pos_ms, \"row\", text) SELECT sid, 1, 0, 0, 'stale v6 text' FROM "
        "recording_keys WHERE rec = 'r-v6';"
        "INSERT INTO session_index VALUES ('host-a', 'r-v6', 'intact', 'intact', 0, " +
        through + ", " + through + ");";
    if (pg_base.empty()) {
        t.sql(
            "DROP TABLE screen_chunks_fts; DROP TABLE screen_chunks;"
            "CREATE TABLE screen_text (sid INTEGER NOT NULL, msg_id INTEGER NOT NULL, pos_ms INTEGER NOT NULL, "
            "row INTEGER NOT NULL, text TEXT NOT NULL);"
            "CREATE INDEX screen_text_by_rec ON screen_text (sid, msg_id);"
            "CREATE VIRTUAL TABLE screen_text_fts USING fts5(text, content='screen_text', "
            "tokenize='trigram case_sensitive 1', detail=none, columnsize=0);" +
            rows +
            "INSERT INTO screen_text_fts (rowid, text) SELECT rowid, text FROM screen_text;"
            "UPDATE schema_version SET version = 6;");
    } else {
        t.sql(
            "DROP TABLE screen_chunks;"
            "CREATE TABLE screen_text (sid BIGINT NOT NULL, msg_id BIGINT NOT NULL, pos_ms BIGINT NOT NULL, "
            "\"row\" INTEGER NOT NULL, text TEXT COLLATE \"C\" NOT NULL, seq BIGSERIAL);"
            "CREATE INDEX screen_text_by_rec ON screen_text (sid, msg_id);"
            "CREATE INDEX screen_text_trgm ON screen_text USING gin (text gin_trgm_ops);" +
            rows + "UPDATE schema_version SET version = 6;");
    }
    auto store = t.open();
    assert_int_equal(store->schema_version(), Store::current_schema_version());
    assert_string_equal(session_of(*store, "r-v6").integrity.c_str(), "pending");
    assert_true(store->text_hits("host-a", "r-v6", "stale v6 text", 10).empty());
    assert_int_equal(sessions_with(*store, "cat /etc/shadow"), 0);
    Indexer ix(t.open(), small_keyframes());
    ix.run_once();
    auto x = session_of(*store, "r-v6");
    assert_string_equal(x.integrity.c_str(), "intact");
    assert_int_equal(x.indexed_through, lines.size());
    for (const char* q : {"cat /etc/shadow", "root:*:", "ow"}) {
        auto want = player_hits(t.dir, lines, q);
        if (want.empty()) fail_msg("no hits for %s: the test finds nothing", q);
        expect_same(want, hits_text(store->text_hits("host-a", "r-v6", q, 100000)), q);
    }
    assert_true(store->text_hits("host-a", "r-v6", "stale v6 text", 10).empty());
    assert_int_equal(sessions_with(*store, "stale v6"), 0);
    assert_int_equal(sessions_with(*store, "cat /etc/shadow"), 1);
    assert_true(seek(*store, "host-a", "r-v6", 60000, 10000).has_value());
}

// The recorded user controls the screen's text: quotes, backslashes,
// percent signs and underscores (LIKE's wildcards) are searched as text.
void test_hostile_text(void**) {
    TempDb t;
    auto store = t.open();
    Lines sink;
    tlog::EncoderOptions eo;
    eo.payload = tlog::kMinPayload;  // several messages, keyframes between them
    tlog::Encoder enc(info("r-host"), eo, sink, 0, 0);
    enc.window(0, 80, 5);
    enc.output(kMs, "a%b_c 'x' \"y\" \\z; DROP TABLE sessions;--\r\n");
    enc.output(2 * kMs, "abc\r\n");
    // Sequences a terminal would act on (set the clipboard, report the
    // cursor, retitle) never reach a client that repaints the screen.
    enc.output(3 * kMs,
               "\x1b]52;c;ZXZpbA==\x07\x1b[6n\x1b]0;title\x1b\\\x1bP+q544e\x1b\\\x9b"
               "6n evil\r\n");
    for (int i = 0; i < 5; i++) enc.output((4 + i) * kMs, "after " + std::to_string(i) + "\r\n");
    enc.finish(10 * kMs, "exit");
    assert_int_equal(ingest_json_lines(*store, join(sink.lines), 0).failed, 0);
    Indexer ix(t.open(), small_keyframes());
    ix.run_once();
    assert_int_equal(store->text_hits("host-a", "r-host", "a%b_c", 10).size(), 1);
    assert_int_equal(store->text_hits("host-a", "r-host", "%", 10).size(), 1);
    assert_int_equal(store->text_hits("host-a", "r-host", "_", 10).size(), 1);
    assert_int_equal(store->text_hits("host-a", "r-host", "\\z; DROP", 10).size(), 1);
    assert_int_equal(store->text_hits("host-a", "r-host", "'x' \"y\"", 10).size(), 1);
    assert_int_equal(store->text_hits("host-a", "r-host", "a_c", 10).size(), 0);
    assert_int_equal(session_of(*store, "r-host").messages, sink.lines.size());
    IndexConfig every_message = small_keyframes();
    every_message.every_bytes = 1;
    TempDb t2;
    auto store2 = t2.open();
    assert_int_equal(ingest_json_lines(*store2, join(sink.lines), 0).failed, 0);
    Indexer ix2(t2.open(), every_message);
    ix2.run_once();
    auto r = seek(*store2, "host-a", "r-host", 10000, 10);
    assert_true(r.has_value());
    assert_true(r->text.find("evil") != std::string::npos);  // a keyframe after the hostile output
    for (const char* bad : {"\x1b]", "\x07", "\x1b[6n", "\x1bP", "\x9b"}) {
        if (r->repaint.find(bad) != std::string::npos) fail_msg("the repaint holds the recording's %s", bad + 1);
    }
    for (const auto& h : store2->text_hits("host-a", "r-host", "evil", 10)) {
        for (char c : h.text) assert_true(static_cast<unsigned char>(c) >= 0x20);
    }
}

// The web player's frames (frames.h). A browser-side screen built from the
// frames alone must show, after every frame, exactly what the terminal
// model fed the whole recording up to the frame's time shows (each row's
// runs and text, the cursor); a request from any point (forwards, or back
// after playing further) starts from that same screen.
struct Recorded {
    tlog::Event::Type type;
    uint64_t pos;
    std::string data;
    uint16_t w, h;
};
class Collect : public tlog::EventSink {
public:
    void event(const tlog::Event& ev) override {
        events.push_back({ev.type, ev.pos_ms, std::string(ev.data), ev.width, ev.height});
    }
    std::vector<Recorded> events;
};

// The model fed every event up to a time, moving forwards only.
class Reference {
public:
    explicit Reference(const std::vector<Recorded>& ev) : ev_(ev) {}
    tlog::play::TermModel m;
    void to(uint64_t t) {
        for (; next_ < ev_.size() && ev_[next_].pos <= t; next_++) {
            const auto& e = ev_[next_];
            if (e.type == tlog::Event::Type::Window) m.resize(e.h, e.w);
            if (e.type == tlog::Event::Type::Output) m.feed(e.data);
        }
    }

private:
    const std::vector<Recorded>& ev_;
    size_t next_ = 0;
};

std::string canon(const tlog::json::Value& v) { return tlog::json::dump(v); }
std::string canon(const std::string& runs) { return canon(tlog::json::parse(runs, "runs")); }

// What the page keeps: each row's runs, the cursor.
struct Client {
    std::vector<std::string> rows;
    std::string cursor;
    void header(const tlog::json::Value& h) {
        rows.clear();
        for (const auto& r : h.find("screen")->items()) rows.push_back(canon(r));
        assert_int_equal(rows.size(), *h.find("rows")->as_uint());
        cursor = canon(*h.find("cursor"));
    }
    void frame(const tlog::json::Value& f) {
        if (const auto* size = f.find("size")) rows.assign(*size->items()[0].as_uint(), "[]");
        if (const auto* r = f.find("rows"))
            for (const auto& [k, v] : r->members()) rows.at(std::stoul(k)) = canon(v);
        if (const auto* c = f.find("cursor")) cursor = canon(*c);
    }
    void expect(const tlog::play::TermModel& m, uint64_t t) const {
        assert_int_equal(rows.size(), m.rows());
        for (int r = 0; r < m.rows(); r++) {
            std::string want = canon(runs_json(m.row_runs(r)));
            if (rows[static_cast<size_t>(r)] != want)
                fail_msg("at %llu ms, row %d: frames %s, model %s", static_cast<unsigned long long>(t), r,
                         rows[static_cast<size_t>(r)].c_str(), want.c_str());
            std::string text;
            auto parsed = tlog::json::parse(rows[static_cast<size_t>(r)], "row");
            for (const auto& run : parsed.items()) text += run.find("t")->as_string();
            while (!text.empty() && text.back() == ' ') text.pop_back();
            assert_string_equal(text.c_str(), m.row_text(r).c_str());
        }
        std::string c = "{\"row\":" + std::to_string(m.cursor_row()) + ",\"col\":" + std::to_string(m.cursor_col()) +
                        ",\"visible\":" + (m.cursor_visible() ? "true" : "false") + "}";
        assert_string_equal(cursor.c_str(), canon(c).c_str());
    }
};

std::vector<tlog::json::Value> ndjson(const std::string& body) {
    std::vector<tlog::json::Value> out;
    size_t at = 0;
    while (at < body.size()) {
        size_t nl = body.find('\n', at);
        assert_true(nl != std::string::npos);
        out.push_back(tlog::json::parse(body.substr(at, nl - at), "frames"));
        at = nl + 1;
    }
    assert_true(out.size() >= 2);
    return out;
}

std::string frames_of(Store& store, const std::string& rec, const FramesRequest& req) {
    auto kf = store.keyframe_at("host-a", rec, req.from);
    assert_true(kf.has_value());
    auto pages = [&](uint64_t after, size_t n) { return store.messages(rec, "host-a", after, n); };
    return frames_ndjson(*kf, pages, req, "host-a", rec, frames_info(store, "host-a", rec));
}

void test_frames(void**) {
    TempDb t;
    auto store = t.open();
    auto lines = session("r-frames", 11, 500, 400);
    assert_int_equal(ingest_json_lines(*store, join(lines), 0).failed, 0);
    Indexer ix(t.open(), small_keyframes());
    ix.run_once();
    Collect all;
    {
        tlog::DecodeOptions o;
        o.lax = true;
        tlog::Decoder d(o);
        for (size_t i = 0; i < lines.size(); i++) d.feed(lines[i], i + 1, all);
    }
    uint64_t end = all.events.back().pos;
    // Forwards from 0, a window at a time, each request going on where
    // the last one said; the screen after every frame checked.
    Reference ref(all.events);
    Client client;
    std::map<uint64_t, Client> seen;  // the page's screen after each frame
    uint64_t from = 0;
    int windows = 0, frames = 0, resizes = 0;
    bool ended = false;
    for (;;) {
        auto req = frames_request(from, from + 2000, 25);
        auto out = ndjson(frames_of(*store, "r-frames", req));
        windows++;
        // Each window's first screen is where the last one left off.
        Client fresh;
        fresh.header(out.front());
        ref.to(from);
        fresh.expect(ref.m, from);
        if (windows > 1) {
            assert_true(fresh.rows == client.rows);
            assert_string_equal(fresh.cursor.c_str(), client.cursor.c_str());
        }
        client = fresh;
        assert_int_equal(*out.front().find("end_ms")->as_uint(), end);
        assert_true(out.front().find("ended")->as_bool());
        uint64_t last = from;
        for (size_t i = 1; i + 1 < out.size(); i++) {
            uint64_t ft = *out[i].find("t")->as_uint();
            assert_true(ft > last && ft <= req.until);
            // At most one frame an interval.
            if (last > from) assert_true((ft - from - 1) / 25 != (last - from - 1) / 25);
            last = ft;
            if (out[i].find("size")) resizes++;
            client.frame(out[i]);
            ref.to(ft);
            client.expect(ref.m, ft);
            seen[ft] = client;
            frames++;
        }
        const auto& tail = out.back();
        if (tail.find("next")->is_null()) {
            assert_false(tail.find("more")->as_bool());
            ended = true;
            break;
        }
        assert_true(tail.find("more")->as_bool());
        from = *tail.find("next")->as_uint();
        assert_int_equal(from, req.until);
    }
    assert_true(ended);
    ref.to(UINT64_MAX);
    client.expect(ref.m, end);
    assert_true(windows > 5);
    assert_true(frames > 100);
    assert_true(resizes > 0);
    // Back to points in the middle after playing to the end: the same
    // screen the frames showed there, and the model's.
    for (uint64_t at = end - 1; at > 0; at -= std::min(at, end / 13 + 1)) {
        auto out = ndjson(frames_of(*store, "r-frames", frames_request(at, at + 500, 25)));
        Client c;
        c.header(out.front());
        Reference r(all.events);
        r.to(at);
        c.expect(r.m, at);
        auto before = seen.upper_bound(at);
        if (before != seen.begin()) {
            --before;
            assert_true(c.rows == before->second.rows);
        }
        for (size_t i = 1; i + 1 < out.size(); i++) {
            uint64_t ft = *out[i].find("t")->as_uint();
            c.frame(out[i]);
            r.to(ft);
            c.expect(r.m, ft);
        }
    }
    // The work's cap: a request stops early, says where, and the next one
    // goes on from there to the same screens.
    FramesRequest small = frames_request(0, 600000, 10);
    small.max_bytes = 2000;
    auto out = ndjson(frames_of(*store, "r-frames", small));
    assert_true(out.back().find("more")->as_bool());
    uint64_t next = *out.back().find("next")->as_uint();
    assert_true(next > 0 && next < end);
    Client c;
    c.header(out.front());
    for (size_t i = 1; i + 1 < out.size(); i++) c.frame(out[i]);
    Reference r(all.events);
    r.to(next);
    c.expect(r.m, next);
    // The parameters' bounds, each naming its field.
    auto field_of = [](auto fn) {
        try {
            fn();
        } catch (const tlog::InputError& e) {
            return e.where().field;
        }
        return std::string("none");
    };
    assert_string_equal(field_of([] { frames_request(100, 50, std::nullopt); }).c_str(), "until");
    assert_string_equal(field_of([] { frames_request(0, 600001, std::nullopt); }).c_str(), "until");
    assert_string_equal(field_of([] { frames_request(0, std::nullopt, 9); }).c_str(), "interval");
    assert_string_equal(field_of([] { frames_request(0, std::nullopt, 10001); }).c_str(), "interval");
    assert_string_equal(field_of([] { frames_request(5, 600005, 10); }).c_str(), "none");
}

// The alternate screen and colours in frames: a full-screen program's
// screen, then the shell's back, each row's runs as the model has them.
void test_frames_alt_screen(void**) {
    TempDb t;
    auto store = t.open();
    Lines sink;
    tlog::Encoder enc(info("r-alt"), {}, sink, 0, 1700000000LL * 1000 * kMs);
    enc.window(0, 40, 6);
    enc.output(0, "$ top\r\n");
    enc.output(100 * kMs, "\x1b[?1049h\x1b[H\x1b[2J\x1b[1;32mPID USER\x1b[0m\r\n\x1b[44m 1 root\x1b[K");
    enc.output(300 * kMs, "\x1b[?1049l$ ");
    enc.finish(400 * kMs, "exit");
    assert_int_equal(ingest_json_lines(*store, join(sink.lines), 0).failed, 0);
    Indexer ix(t.open(), small_keyframes());
    ix.run_once();
    auto out = ndjson(frames_of(*store, "r-alt", frames_request(0, 1000, 40)));
    assert_int_equal(out.size(), 4);  // the screen at 0, frames at 100 and 300, the end
    assert_string_equal(canon(*out[0].find("screen")).c_str(),
                        canon(std::string(R"([[{"t":"$ top","w":5}],[],[],[],[],[]])")).c_str());
    assert_int_equal(*out[1].find("t")->as_uint(), 100);
    const auto* rows = out[1].find("rows");
    assert_non_null(rows);
    assert_string_equal(canon(*rows->find("0")).c_str(),
                        canon(std::string(R"([{"t":"PID USER","w":8,"fg":2,"b":true}])")).c_str());
    // Erased with a background: the whole row is drawn.
    assert_string_equal(canon(*rows->find("1")).c_str(),
                        canon(R"([{"t":" 1 root)" + std::string(33, ' ') + R"(","w":40,"bg":4}])").c_str());
    assert_string_equal(canon(*out[1].find("cursor")).c_str(),
                        canon(std::string(R"({"row":1,"col":7,"visible":true})")).c_str());
    // Back from the alternate screen: the shell's rows as they were.
    assert_int_equal(*out[2].find("t")->as_uint(), 300);
    assert_string_equal(canon(*out[2].find("rows")->find("0")).c_str(),
                        canon(std::string(R"([{"t":"$ top","w":5}])")).c_str());
    assert_string_equal(canon(*out[2].find("rows")->find("1")).c_str(),
                        canon(std::string(R"([{"t":"$","w":1}])")).c_str());
    assert_true(out[3].find("next")->is_null());
}

}  // namespace

int main(int argc, char** argv) {
    std::string backend = argc > 1 ? argv[1] : "sqlite";
    if (backend.rfind("postgres:", 0) == 0) {
        pg_base = backend.substr(9);
    } else if (backend != "sqlite") {
        fprintf(stderr, "usage: %s [sqlite | postgres:CONNINFO]\n", argv[0]);
        return 2;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verdicts),    cmocka_unit_test(test_keyed),
        cmocka_unit_test(test_seek),        cmocka_unit_test(test_text),
        cmocka_unit_test(test_resume),      cmocka_unit_test(test_hostile_text),
        cmocka_unit_test(test_stop_midway), cmocka_unit_test(test_two_indexers),
        cmocka_unit_test(test_chunks),      cmocka_unit_test(test_upgrade_from_v6),
        cmocka_unit_test(test_frames),      cmocka_unit_test(test_frames_alt_screen),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
