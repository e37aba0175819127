// The encoder: exact format, payload bound, UTF-8 handling, windows, ids,
// timing, flush and end.
#include <random>

#include "cmocka_cxx.h"
#include "codec_test_util.h"
#include "tlog/utf8.h"

using namespace testutil;

static constexpr int64_t MS = 1000000;
static constexpr int64_t kReal = 1700000000123LL * MS;  // 1700000000.123 s

static tlog::EncoderOptions opts(size_t payload = tlog::kDefaultPayload) {
    tlog::EncoderOptions o;
    o.payload = payload;
    o.log_input = true;
    return o;
}

static void test_exact_message(void**) {
    Lines sink;
    tlog::EncoderOptions o = opts();
    o.chain = false;
    tlog::Encoder e(info(), o, sink, 0, kReal);
    e.window(0, 100, 30);
    e.output(0, "hello\r\n");
    e.output(1 * MS, "\xe2\x82\xac \xff\xfe x\xe2\x82y");
    e.input(1202 * MS, "q\"\\\x1b\x7f");
    e.finish(1300 * MS, "exit");
    assert_int_equal(sink.lines.size(), 1);
    assert_str_eq(sink.lines[0],
                  "{\"ver\":\"2.3\",\"host\":\"host.example\",\"rec\":\"rec-1\",\"user\":\"alice\","
                  "\"term\":\"xterm-256color\",\"session\":7,\"id\":1,\"pos\":0,\"time\":1700000000.123,"
                  "\"timing\":\"=100x30>7+1>2]2/2>2]1/2>1+1201<5+98\","
                  "\"in_txt\":\"q\\\"\\\\\\u001b\\u007f\",\"in_bin\":[],"
                  "\"out_txt\":\"hello\\r\\n\xe2\x82\xac \xef\xbf\xbd\xef\xbf\xbd x\xef\xbf\xbdy\","
                  "\"out_bin\":[255,254,226,130],\"end\":\"exit\"}");
}

static void test_roundtrip_random_payloads(void**) {
    std::mt19937 rng(12345);
    // Text mixed with multi-byte characters, wide characters, controls and invalid bytes.
    const std::vector<std::string> pieces = {
        "a",          "hello world ", "\r\n", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xe4\xb8\xad",
        "\x1b[1;31m", "\"",           "\\",   "\xff",         "\xe2\x82",         "\xc3",
        "\x80",       "\t",           "\x7f"};
    for (size_t payload : {64, 65, 80, 100, 257, 1000, 2048, 8192}) {
        Lines sink;
        tlog::Encoder e(info(), opts(payload), sink, 0, kReal);
        std::string out, in;
        int64_t t = 0;
        e.window(0, 80, 24);
        for (int i = 0; i < 3000; i++) {
            std::string chunk;
            int n = static_cast<int>(rng() % 8);
            for (int k = 0; k < n; k++) chunk += pieces[rng() % pieces.size()];
            // Writes cut anywhere, also inside characters.
            size_t cut = chunk.empty() ? 0 : rng() % chunk.size();
            bool input = rng() % 5 == 0;
            (input ? in : out) += chunk;
            if (input) {
                e.input(t, chunk.substr(0, cut));
                e.input(t, chunk.substr(cut));
            } else {
                e.output(t, chunk.substr(0, cut));
                e.output(t, chunk.substr(cut));
            }
            if (rng() % 10 == 0) e.window(t, static_cast<uint16_t>(rng() % 300), static_cast<uint16_t>(rng() % 100));
            if (rng() % 50 == 0) e.flush();
            t += static_cast<int64_t>(rng() % 3000) * 1000;  // 0..3 ms, sub-ms steps
        }
        e.finish(t, "exit");
        uint64_t id = 0;
        for (const auto& l : sink.lines) {
            assert_true(payload_of(l) <= payload);
            assert_int_equal(field(l, "id").as_uint().value(), ++id);
            // Each message plays on its own: it starts with the window size.
            assert_true(field(l, "timing").as_string().rfind("=", 0) == 0);
        }
        Collected c;
        auto r = decode(sink.lines, c);
        assert_true(c.out == out);
        assert_true(c.in == in);
        assert_int_equal(static_cast<int>(r.verdict), static_cast<int>(tlog::IntegrityReport::Verdict::Intact));
        // Times: the last event is within a millisecond of the true time (no drift).
        assert_true(c.last_pos <= static_cast<uint64_t>(t / MS));
    }
}

static void test_no_split_multibyte(void**) {
    // A 4-byte character fed one byte at a time, straddling message ends.
    for (size_t payload : {64, 70, 71, 72, 73}) {
        Lines sink;
        tlog::EncoderOptions o = opts(payload);
        o.chain = false;
        tlog::Encoder e(info(), o, sink, 0, kReal);
        std::string all;
        for (int i = 0; i < 40; i++) {
            std::string ch = i % 3 ? "\xf0\x9f\x98\x80" : "x";
            all += ch;
            for (char b : ch) e.output(0, std::string(1, b));
        }
        e.finish(0, "exit");
        assert_true(sink.lines.size() > 1);
        for (const auto& l : sink.lines) {
            std::string txt = field(l, "out_txt").as_string();
            assert_true(tlog::utf8::is_valid(txt));
            assert_true(txt.find("\xef\xbf\xbd") == std::string::npos);  // no replacement: nothing was split
            assert_true(field(l, "out_bin").items().empty());
        }
        Collected c;
        decode(sink.lines, c);
        assert_true(c.out == all);
    }
}

static void test_incomplete_at_end_is_binary(void**) {
    Lines sink;
    tlog::Encoder e(info(), opts(), sink, 0, kReal);
    e.output(0, "ab\xe2\x82");
    e.flush();  // the cut character waits
    assert_int_equal(sink.lines.size(), 1);
    assert_str_eq(field(sink.lines[0], "out_txt").as_string(), "ab");
    e.finish(5 * MS, "hangup");
    assert_int_equal(sink.lines.size(), 2);
    assert_str_eq(field(sink.lines[1], "timing").as_string(), "]1/2");
    assert_str_eq(field(sink.lines[1], "end").as_string(), "hangup");
    Collected c;
    decode(sink.lines, c);
    assert_true(c.out == "ab\xe2\x82");
}

static void test_ids_pos_time_and_end(void**) {
    Lines sink;
    tlog::Encoder e(info(), opts(), sink, 1000 * MS, kReal);
    e.output(1000 * MS, "one");
    e.flush();
    e.output(3500 * MS, "two");
    e.flush();
    e.flush();  // nothing pending: no message
    e.finish(4000 * MS, "exit");
    assert_int_equal(sink.lines.size(), 3);
    assert_int_equal(field(sink.lines[0], "pos").as_uint().value(), 0);
    assert_int_equal(field(sink.lines[1], "pos").as_uint().value(), 2500);
    assert_str_eq(field(sink.lines[1], "time").number_text(), "1700000002.623");
    assert_int_equal(field(sink.lines[2], "id").as_uint().value(), 3);
    assert_int_equal(field(sink.lines[2], "pos").as_uint().value(), 3000);
    assert_null(tlog::json::parse(sink.lines[0], "m").find("end"));
    assert_str_eq(field(sink.lines[2], "end").as_string(), "exit");
}

static void test_time_never_goes_back(void**) {
    Lines sink;
    tlog::Encoder e(info(), opts(), sink, 0, kReal);
    e.output(50 * MS, "a");
    e.output(10 * MS, "b");  // a clock step backwards must not make a negative delay
    e.finish(60 * MS, "exit");
    Collected c;
    auto r = decode(sink.lines, c);
    assert_true(c.out == "ab");
    assert_int_equal(c.out_pos.size(), 1);  // one run at one time
    assert_int_equal(c.out_pos[0], 50);
    assert_int_equal(r.duration_ms, 60);  // the end time is recorded
}

static void test_order_of_input_and_output(void**) {
    Lines sink;
    tlog::Encoder e(info(), opts(), sink, 0, kReal);
    e.output(0, "$ ");
    e.input(0, "l");
    e.output(0, "l");
    e.input(0, "s");
    e.output(0, "s");
    e.finish(0, "exit");
    assert_str_eq(field(sink.lines[0], "timing").as_string(), ">2<1>1<1>1");
    Collected c;
    decode(sink.lines, c);
    assert_str_eq(c.order, "oioio");
}

static void test_log_switches(void**) {
    Lines sink;
    tlog::EncoderOptions o;
    o.log_input = false;
    o.log_window = false;
    o.chain = false;
    tlog::Encoder e(info(), o, sink, 0, kReal);
    e.window(0, 80, 24);
    e.input(0, "secret password");
    e.output(0, "ok");
    e.finish(0, "exit");
    assert_str_eq(field(sink.lines[0], "timing").as_string(), ">2");
    assert_str_eq(field(sink.lines[0], "in_txt").as_string(), "");
}

static void test_window_changes(void**) {
    Lines sink;
    tlog::Encoder e(info(), opts(), sink, 0, kReal);
    e.window(0, 80, 24);
    e.output(0, "a");
    e.window(5 * MS, 80, 24);  // same size: nothing
    e.window(7 * MS, 120, 40);
    e.output(7 * MS, "b");
    e.finish(7 * MS, "exit");
    assert_str_eq(field(sink.lines[0], "timing").as_string(), "=80x24>1+7=120x40>1");
}

static void test_writer_failure_keeps_message(void**) {
    struct Failing : tlog::MessageSink {
        int fail = 1;
        std::vector<std::string> got;
        void write(const tlog::EncodedMessage& m) override {
            if (fail-- > 0) throw std::runtime_error("disk full");
            got.emplace_back(m.line);
        }
    } sink;
    tlog::Encoder e(info(), opts(), sink, 0, kReal);
    e.output(0, "x");
    bool threw = false;
    try {
        e.flush();
    } catch (const std::runtime_error&) {
        threw = true;
    }
    assert_true(threw);
    assert_true(e.pending());
    e.flush();  // the writer recovered: the same message, same id
    assert_int_equal(sink.got.size(), 1);
    assert_int_equal(field(sink.got[0], "id").as_uint().value(), 1);
    assert_str_eq(field(sink.got[0], "out_txt").as_string(), "x");
}

static void test_pending_for_latency(void**) {
    Lines sink;
    tlog::Encoder e(info(), opts(), sink, 0, kReal);
    assert_false(e.pending());
    e.output(30 * MS, "abc");
    assert_true(e.pending());
    assert_int_equal(e.pending_since_ns(), 30 * MS);  // the latency timer counts from here
    e.output(90 * MS, "def");
    assert_int_equal(e.pending_since_ns(), 30 * MS);
    e.flush();
    assert_false(e.pending());
    e.output(100 * MS, "\xe2");  // a cut character alone is pending too
    assert_true(e.pending());
    e.flush();
    assert_int_equal(sink.lines.size(), 1);
    assert_int_equal(e.next_id(), 2);
}

static void test_bad_payload(void**) {
    Lines sink;
    bool threw = false;
    try {
        tlog::Encoder e(info(), opts(10), sink, 0, kReal);
    } catch (const std::invalid_argument&) {
        threw = true;
    }
    assert_true(threw);
}

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_message),
        cmocka_unit_test(test_roundtrip_random_payloads),
        cmocka_unit_test(test_no_split_multibyte),
        cmocka_unit_test(test_incomplete_at_end_is_binary),
        cmocka_unit_test(test_ids_pos_time_and_end),
        cmocka_unit_test(test_time_never_goes_back),
        cmocka_unit_test(test_order_of_input_and_output),
        cmocka_unit_test(test_log_switches),
        cmocka_unit_test(test_window_changes),
        cmocka_unit_test(test_writer_failure_keeps_message),
        cmocka_unit_test(test_pending_for_latency),
        cmocka_unit_test(test_bad_payload),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
