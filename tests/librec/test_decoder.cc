// The decoder: strict errors that name the line and field, lax mode,
// interleaved recordings, and reading tlog's own messages.
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "cmocka_cxx.h"
#include "codec_test_util.h"

using namespace testutil;

static constexpr int64_t MS = 1000000;

static std::vector<std::string> sample(size_t messages = 4, const std::string& rec = "rec-1",
                                       const std::string& word = "line") {
    Lines sink;
    tlog::EncoderOptions o;
    o.log_input = true;
    tlog::Encoder e(info(rec), o, sink, 0, 1700000000LL * 1000 * MS);
    e.window(0, 80, 24);
    for (size_t i = 0; i < messages; i++) {
        e.output(static_cast<int64_t>(i) * 100 * MS, word + " " + std::to_string(i) + "\r\n");
        e.input(static_cast<int64_t>(i) * 100 * MS + MS, "k");
        if (i + 1 < messages) e.flush();
    }
    e.finish(static_cast<int64_t>(messages) * 100 * MS, "exit");
    return sink.lines;
}

// Runs a strict decode expecting an InputError; returns its text.
static std::string strict_error(const std::vector<std::string>& lines) {
    Collected c;
    try {
        decode(lines, c);
    } catch (const tlog::InputError& e) {
        return e.what();
    }
    return "";
}

static void replace(std::string& s, const std::string& from, const std::string& to) {
    size_t at = s.find(from);
    assert_true(at != std::string::npos);
    s.replace(at, from.size(), to);
}

static void test_tlog_message(void**) {
    // A message as Debian's tlog-rec 12 writes it (no chain fields).
    std::string line =
        "{\"ver\":\"2.3\",\"host\":\"vm\",\"rec\":\"a144b92115d147878ac9ac8ca93d6fbd-b95-1953\",\"user\":\"root\","
        "\"term\":\"xterm\",\"session\":4294967295,\"id\":1,\"pos\":0,\"time\":1795706661.551,"
        "\"timing\":\"=100x30+1>9]2/2>2]1/2>5+1201>17\",\"in_txt\":\"\",\"in_bin\":[],"
        "\"out_txt\":\"hello\\r\\n\xe2\x82\xac \xef\xbf\xbd\xef\xbf\xbd x\xef\xbf\xbdy "
        "\xf0\x9f\x98\x80\\r\\n\\u001b[31mred\\t\\\"q\\\\ \\u007f\\u0001\\r\\n\",\"out_bin\":[255,254,226,130]}";
    Collected c;
    auto r = decode({line}, c);
    assert_true(c.out ==
                "hello\r\n\xe2\x82\xac \xff\xfe x\xe2\x82y \xf0\x9f\x98\x80\r\n\x1b[31mred\t\"q\\ \x7f\x01\r\n");
    assert_int_equal(c.windows.size(), 1);
    assert_str_eq(c.windows[0].second, "100x30");
    assert_int_equal(c.out_pos.back(), 1202);
    assert_int_equal(static_cast<int>(r.verdict), static_cast<int>(tlog::IntegrityReport::Verdict::Unprotected));
}

static void test_strict_errors_name_line_and_field(void**) {
    auto base = sample();
    struct Case {
        int line;
        std::string from, to, want;
    } cases[] = {
        {2, "\"timing\":\"", "\"timing\":\"?", "test.log:2: field 'timing': unknown timing record '?'"},
        {2, "\"timing\":\"", "\"timing\":\">", "test.log:2: field 'timing': expected a number"},
        {3, "\"out_txt\":\"line", "\"out_txt\":\"XXline", "test.log:3: field 'out_txt': 2 bytes of text left over"},
        {1, "\"timing\":\"=80x24", "\"timing\":\"=80x24>99", "test.log:1: field 'timing': out_txt has fewer"},
        {2, "\"id\":2", "\"id\":3", "test.log:2: field 'id': messages 2..2 are missing"},
        {2, "\"session\":7", "\"session\":\"7\"", "test.log:2:"},
        {3, "\"user\":\"alice\"", "\"user\":\"mallory\"", "test.log:3: field 'user': differs"},
        {1, "\"in_bin\":[]", "\"in_bin\":[256]", "test.log:1:"},
        {1, "\"ver\":\"2.3\",", "", "test.log:1: field 'ver': required field is missing"},
        {1, "\"ver\":\"2.3\"", "\"ver\":\"3.0\"", "test.log:1: field 'ver': unsupported format version"},
        {4, "{", "[", "test.log:4:1: a message must be a JSON object"},
        {2, "\"pos\":100", "\"pos\":0", "test.log:2: field 'pos': position 0 ms goes back"},
    };
    for (const auto& k : cases) {
        auto lines = base;
        replace(lines[static_cast<size_t>(k.line - 1)], k.from, k.to);
        std::string err = strict_error(lines);
        if (err.find(k.want) == std::string::npos) {
            fprintf(stderr, "case %s -> %s: got '%s'\n", k.from.c_str(), k.to.c_str(), err.c_str());
            fail();
        }
    }
}

static void test_lax_plays_through(void**) {
    auto lines = sample(5);
    lines.erase(lines.begin() + 2);     // message 3 is gone
    lines[1].replace(0, 1, "garbage");  // message 2 unreadable
    Collected c;
    auto r = decode(lines, c, /*lax=*/true);
    assert_true(c.out.find("line 0") != std::string::npos);
    assert_true(c.out.find("line 3") != std::string::npos);
    assert_true(c.out.find("line 1") == std::string::npos);
    assert_int_equal(c.gaps.size(), 1);
    assert_int_equal(c.gaps[0].first, 2);
    assert_int_equal(c.gaps[0].second, 3);
    assert_false(c.problems.empty());
    assert_int_equal(static_cast<int>(r.verdict), static_cast<int>(tlog::IntegrityReport::Verdict::Broken));
}

static void test_unknown_fields_ignored(void**) {
    auto lines = sample(1);
    replace(lines[0], "\"ver\":\"2.3\",", "\"ver\":\"2.3\",\"x\":{\"a\":[1,2,{\"b\":null}],\"c\":\"}\"},\"y\":-1.5e3,");
    Collected c;
    decode(lines, c);
    assert_true(c.out == "line 0\r\n");
}

static std::string write_temp(const std::string& text) {
    char path[] = "/tmp/tlog-dec-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
    close(fd);
    return path;
}

static void test_interleaved_recordings(void**) {
    auto a = sample(3, "rec-a");
    auto b = sample(3, "rec-b", "other");
    std::string text;
    for (size_t i = 0; i < 3; i++) text += a[i] + "\n" + b[i] + "\n";
    text += "\n";  // blank lines are ignored
    std::string path = write_temp(text);
    for (const char* rec : {"rec-a", "rec-b", ""}) {
        Collected c;
        tlog::ReadOptions ro;
        ro.rec = rec;
        auto r = tlog::decode_file(path, ro, c);
        bool want_b = std::string(rec) == "rec-b";
        assert_true(c.out == (want_b ? "other 0\r\nother 1\r\nother 2\r\n" : "line 0\r\nline 1\r\nline 2\r\n"));
        assert_int_equal(static_cast<int>(r.verdict), static_cast<int>(tlog::IntegrityReport::Verdict::Intact));
    }
    unlink(path.c_str());
}

static void test_last_line_without_newline(void**) {
    auto a = sample(2);
    std::string path = write_temp(a[0] + "\n" + a[1]);
    Collected c;
    tlog::decode_file(path, {}, c);
    assert_true(c.out == "line 0\r\nline 1\r\n");
    unlink(path.c_str());
}

static void test_peek_rec(void**) {
    std::string rec;
    assert_true(tlog::peek_rec("{\"ver\":\"2.3\",\"rec\":\"a\\\"b\",\"id\":1}", rec));
    assert_str_eq(rec, "a\"b");
    // A text field that contains the characters of the key is not mistaken for it.
    assert_false(tlog::peek_rec("{\"out_txt\":\"\\\"rec\\\":\\\"x\"}", rec));
}

// A decoder started at message k (playback from a keyframe) with
// first_id = k: no bogus "messages 1..k-1 missing", the same events as a
// full decode from there, and the chain picked up at that message, so
// damage and gaps after it are still found.
static void test_first_expected_id(void**) {
    auto lines = sample(6);
    tlog::DecodeOptions o;
    o.source = "test.log";
    tlog::Decoder full(o);
    Collected head, rest_full;
    full.feed(lines[0], 1, head);
    full.feed(lines[1], 2, head);
    assert_int_equal(full.next_id(), 3);
    for (size_t i = 2; i < lines.size(); i++) full.feed(lines[i], i + 1, rest_full);
    assert_int_equal(full.next_id(), 7);

    auto from3 = [&](const std::vector<std::string>& ls, bool lax, Collected& c) {
        tlog::DecodeOptions mo = o;
        mo.lax = lax;
        mo.first_id = 3;
        tlog::Decoder mid(mo);
        for (size_t i = 2; i < ls.size(); i++) mid.feed(ls[i], i + 1, c);
        return mid.finish();
    };
    Collected rest;
    auto r = from3(lines, false, rest);
    assert_true(rest.out == rest_full.out);
    assert_true(rest.in == rest_full.in);
    assert_true(rest.gaps.empty());
    assert_true(rest.problems.empty());
    assert_int_equal(static_cast<int>(r.verdict), static_cast<int>(tlog::IntegrityReport::Verdict::Intact));
    assert_int_equal(r.messages, 4);

    // Without it the same start is a gap: strict mode names the line.
    {
        tlog::Decoder plain(o);
        Collected c;
        std::string err;
        try {
            plain.feed(lines[2], 3, c);
        } catch (const tlog::InputError& e) {
            err = e.what();
        }
        assert_str_eq(err, "test.log:3: field 'id': messages 1..2 are missing");
    }

    // Altered after the start: the chain still finds it.
    auto altered = lines;
    replace(altered[4], "line 4", "LINE 4");
    Collected c1;
    r = from3(altered, true, c1);
    assert_int_equal(static_cast<int>(r.verdict), static_cast<int>(tlog::IntegrityReport::Verdict::Broken));
    assert_int_equal(r.first_bad_id, 5);

    // A message missing after the start is a gap, and next_id() follows it.
    auto cut = lines;
    cut.erase(cut.begin() + 3);  // message 4
    Collected c2;
    tlog::DecodeOptions lo = o;
    lo.lax = true;
    lo.first_id = 3;
    tlog::Decoder mid(lo);
    mid.feed(cut[2], 3, c2);
    mid.feed(cut[3], 4, c2);
    assert_int_equal(c2.gaps.size(), 1);
    assert_int_equal(c2.gaps[0].first, 4);
    assert_int_equal(c2.gaps[0].second, 4);
    assert_int_equal(mid.next_id(), 6);
}

// each_alone: one decoder checks messages in any order, each alone (as
// the server does): no gaps, no order, no chain; a bad message is still
// refused naming its line and field, and does not spoil the next one.
static void test_each_alone(void**) {
    auto lines = sample(5);
    auto other = sample(2, "rec-2", "other");
    tlog::DecodeOptions o;
    o.source = "body";
    o.each_alone = true;
    tlog::Decoder alone(o);
    Collected c;
    std::vector<std::string> order = {lines[3], lines[0], other[1], lines[4], lines[2], lines[1]};
    for (size_t i = 0; i < order.size(); i++) alone.feed(order[i], i + 1, c);
    assert_true(c.problems.empty());
    assert_true(c.gaps.empty());
    assert_int_equal(static_cast<int>(alone.finish().verdict),
                     static_cast<int>(tlog::IntegrityReport::Verdict::Unprotected));
    // Every message's text, in the order fed.
    assert_true(c.out == "line 3\r\nline 0\r\nother 1\r\nline 4\r\nline 2\r\nline 1\r\n");
    // Each message's window record is played again (nothing carried over).
    Collected w;
    alone.feed(lines[0], 1, w);
    alone.feed(lines[0], 2, w);
    assert_int_equal(w.windows.size(), 2);

    auto bad = lines[2];
    replace(bad, "\"line 2\\r\\n\"", "\"line 2\\r\\n!\"");  // text the timing does not use
    std::string err;
    try {
        alone.feed(bad, 7, c);
    } catch (const tlog::InputError& e) {
        err = e.what();
    }
    assert_str_eq(
        err, "body:7: field 'out_txt': 1 bytes of text left over after the timing is played (lengths do not match)");
    auto zero = lines[2];
    replace(zero, "\"id\":3,", "\"id\":0,");
    err.clear();
    try {
        alone.feed(zero, 8, c);
    } catch (const tlog::InputError& e) {
        err = e.what();
    }
    assert_str_eq(err, "body:8: field 'id': message ids start at 1");
    Collected after;
    alone.feed(lines[2], 9, after);
    assert_true(after.out == "line 2\r\n");
    assert_true(after.problems.empty());
}

// The timing counts characters; text found to be plain ASCII while
// unescaping is cut by bytes, other text by UTF-8 characters. A non-ASCII
// character at every position of the 16- and 8-byte scanning steps (the
// last ones near the end of the line: out_txt last), raw or as a \u
// escape, must be seen, or the cut lands inside it.
static void test_text_cut_by_characters(void**) {
    const std::pair<std::string, std::string> chars[] = {
        {"\xc3\xa9", "\xc3\xa9"},          // raw two-byte UTF-8
        {"\xe4\xb8\xad", "\xe4\xb8\xad"},  // raw three-byte UTF-8
        {"\\u00e9", "\xc3\xa9"},           // an escape that decodes to non-ASCII
        {"\\ud83d\\ude00", "\xf0\x9f\x98\x80"},
    };
    for (const auto& [json, raw] : chars)
        for (size_t at = 0; at < 40; at++)
            for (const char* tail : {"", "\\u001b[0m", "bbbbbbbbbbbbbbbbbbbbbbbb"})
                for (bool txt_last : {false, true}) {
                    std::string before(at, 'a'), after = std::string("xy") + tail;
                    std::string after_raw = after;
                    if (after_raw.find("\\u001b") != std::string::npos) after_raw.replace(2, 6, "\x1b");
                    size_t after_chars = after_raw.size();
                    std::string txt = "\"out_txt\":\"" + before + json + after + "\"";
                    std::string line =
                        "{\"ver\":\"2.3\",\"host\":\"h\",\"rec\":\"r\",\"user\":\"u\",\"term\":\"t\","
                        "\"session\":1,\"id\":1,\"pos\":0,\"timing\":\">" +
                        std::to_string(at + 1) + ">" + std::to_string(after_chars) +
                        "\",\"in_txt\":\"\",\"in_bin\":[]," + (txt_last ? "" : txt + ",") + "\"out_bin\":[]" +
                        (txt_last ? "," + txt : "") + "}";
                    struct Pieces : tlog::EventSink {
                        std::vector<std::string> out;
                        void event(const tlog::Event& ev) override { out.emplace_back(ev.data); }
                    } p;
                    tlog::Decoder d(tlog::DecodeOptions{});
                    d.feed(line, 1, p);
                    assert_int_equal(p.out.size(), 2);
                    assert_true(p.out[0] == before + raw);
                    assert_true(p.out[1] == after_raw);
                }
}

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tlog_message),
        cmocka_unit_test(test_strict_errors_name_line_and_field),
        cmocka_unit_test(test_lax_plays_through),
        cmocka_unit_test(test_unknown_fields_ignored),
        cmocka_unit_test(test_interleaved_recordings),
        cmocka_unit_test(test_last_line_without_newline),
        cmocka_unit_test(test_peek_rec),
        cmocka_unit_test(test_first_expected_id),
        cmocka_unit_test(test_each_alone),
        cmocka_unit_test(test_text_cut_by_characters),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
