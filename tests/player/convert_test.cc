// Export and import: asciicast v2/v3 and script typescripts round-trip the
// output and its timing through librec's codec.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "test_support.h"
#include "tlog/decoder.h"
#include "tlog/json.h"
#include "tlog/play/convert.h"
#include "tlog/play/recording_index.h"

#include "cmocka_cxx.h"

using namespace tlog::play;
using testsupport::kMs;

namespace {

struct Collect : tlog::EventSink {
    std::string out, in;
    std::vector<std::string> timeline;  // "pos o|i|w data"
    void event(const tlog::Event& e) override {
        if (e.type == tlog::Event::Type::Output) out.append(e.data);
        if (e.type == tlog::Event::Type::Input) in.append(e.data);
        std::string d = e.type == tlog::Event::Type::Window ? std::to_string(e.width) + "x" + std::to_string(e.height)
                                                            : std::string(e.data);
        timeline.push_back(std::to_string(e.pos_ms) + " " + "iow"[static_cast<int>(e.type)] + " " + d);
    }
};

Collect decode(const std::string& path) {
    Collect c;
    tlog::decode_file(path, tlog::ReadOptions{}, c);
    return c;
}

void write_sample(const std::string& path) {
    testsupport::FileSink sink(path);
    tlog::EncoderOptions eo;
    eo.log_input = true;
    tlog::Encoder enc(testsupport::info(), eo, sink, 0, 1700000000000000000LL);
    enc.window(0, 50, 10);
    enc.output(0, "$ ");
    enc.input(500 * kMs, "ls\r");
    enc.output(510 * kMs, "ls\r\nfile \xe2\x9c\x93 \x1b[1mbold\x1b[0m\r\n");
    enc.window(1200 * kMs, 60, 12);
    enc.output(2000 * kMs, "\"quoted\" \\ \t tab\r\n$ ");
    enc.finish(2500 * kMs, "exit");
}

void roundtrip(int version) {
    testsupport::TempDir dir;
    std::string log = dir.file("a.log");
    write_sample(log);
    RecordingIndex idx = build_index(log, IndexOptions{});
    std::ostringstream cast;
    ExportOptions eo;
    eo.input = true;
    export_asciicast(log, idx, version, eo, cast);
    std::string text = cast.str();
    // Every line is JSON the project's parser accepts.
    std::istringstream lines(text);
    std::string line;
    std::getline(lines, line);
    tlog::json::Value h = tlog::json::parse(line, "header");
    assert_int_equal(*h.find("version")->as_int(), version);
    std::string castfile = dir.file("a.cast");
    std::ofstream(castfile) << text;
    std::string back = dir.file("b.log");
    {
        testsupport::FileSink sink(back);
        ImportOptions io;
        io.info = testsupport::info("imported");
        io.encoder.log_input = true;
        import_asciicast(castfile, io, sink);
    }
    Collect a = decode(log), b = decode(back);
    assert_string_equal(a.out.c_str(), b.out.c_str());
    assert_string_equal(a.in.c_str(), b.in.c_str());
    assert_int_equal(a.timeline.size(), b.timeline.size());
    for (size_t i = 0; i < a.timeline.size(); i++) assert_string_equal(a.timeline[i].c_str(), b.timeline[i].c_str());
}

void test_asciicast2_roundtrip(void**) { roundtrip(2); }
void test_asciicast3_roundtrip(void**) { roundtrip(3); }

void test_raw_and_text(void**) {
    testsupport::TempDir dir;
    std::string log = dir.file("a.log");
    write_sample(log);
    RecordingIndex idx = build_index(log, IndexOptions{});
    std::ostringstream raw, text;
    export_raw(log, idx, raw);
    assert_string_equal(raw.str().c_str(), decode(log).out.c_str());
    export_text(log, idx, ExportOptions{}, text);
    // Rendered: the SGR sequences are gone, the screen is there with times.
    // Printed after output pauses 1 s (the input at 0.5 s is not output).
    assert_non_null(strstr(text.str().c_str(), "--- 00:00:02.000 ---\n$ ls\nfile \xe2\x9c\x93 bold\n\"quoted\""));
    assert_null(strstr(text.str().c_str(), "--- 00:00:00.510 ---"));
    assert_null(strstr(text.str().c_str(), "\x1b"));
}

void test_invalid_utf8_in_asciicast(void**) {
    testsupport::TempDir dir;
    std::string log = dir.file("a.log");
    {
        testsupport::FileSink sink(log);
        tlog::Encoder enc(testsupport::info(), tlog::EncoderOptions{}, sink, 0, 0);
        enc.window(0, 20, 5);
        enc.output(0, "ok\xff\xfe end");
        enc.finish(10 * kMs, "exit");
    }
    RecordingIndex idx = build_index(log, IndexOptions{});
    std::ostringstream cast;
    export_asciicast(log, idx, 2, ExportOptions{}, cast);
    assert_non_null(strstr(cast.str().c_str(), "\"ok\xef\xbf\xbd\xef\xbf\xbd end\""));
}

void test_import_script(void**) {
    testsupport::TempDir dir;
    std::string ts = dir.file("typescript"), tm = dir.file("timing"), adv = dir.file("timing.adv");
    std::ofstream(ts)
        << "Script started on 2024-01-01 10:00:00+00:00 [TERM=\"xterm\" TTY=\"/dev/pts/1\" COLUMNS=\"100\" "
           "LINES=\"30\"]\nhello\r\nworld\r\n\nScript done on 2024-01-01 10:00:01+00:00 [COMMAND_EXIT_CODE=\"0\"]\n";
    std::ofstream(tm) << "0.250000 7\n1.500000 7\n";
    std::ofstream(adv)
        << "H 0.000000 START_TIME 2024-01-01\nO 0.250000 7\nS 0.100000 SIGWINCH ROWS=20 COLS=70\nO 1.400000 7\n";
    for (const std::string& timing : {tm, adv}) {
        std::string out = dir.file("s.log");
        {
            testsupport::FileSink sink(out);
            ImportOptions io;
            io.info = testsupport::info("script");
            assert_int_equal(import_script(ts, timing, io, sink), 2);
        }
        Collect c = decode(out);
        assert_string_equal(c.out.c_str(), "hello\r\nworld\r\n");
        assert_string_equal(c.timeline[0].c_str(), "0 w 100x30");
        assert_string_equal(c.timeline[1].c_str(), "250 o hello\r\n");
        assert_string_equal(c.timeline.back().c_str(), "1750 o world\r\n");
    }
}

void test_import_errors(void**) {
    testsupport::TempDir dir;
    std::string bad = dir.file("bad.cast");
    std::ofstream(bad) << "{\"version\": 2, \"width\": 80, \"height\": 24}\n[0.5, \"o\", \"x\"]\n[1.0, \"o\"]\n";
    testsupport::FileSink sink(dir.file("out.log"));
    ImportOptions io;
    io.info = testsupport::info();
    bool threw = false;
    try {
        import_asciicast(bad, io, sink);
    } catch (const tlog::InputError& e) {
        threw = true;
        assert_int_equal(e.where().line, 3);
    }
    assert_true(threw);
    std::ofstream(bad, std::ios::trunc) << "{\"version\": 4, \"width\": 80, \"height\": 24}\n";
    threw = false;
    try {
        import_asciicast(bad, io, sink);
    } catch (const tlog::InputError& e) {
        threw = true;
        assert_string_equal(e.where().field.c_str(), "version");
    }
    assert_true(threw);
}

// A v1 file as asciinema 1.x wrote it: one pretty-printed object, relative delays.
const char* kV1 = R"({
  "version": 1,
  "width": 70,
  "height": 15,
  "duration": 3.5,
  "command": "/bin/bash",
  "title": "demo",
  "env": {"TERM": "screen-256color", "SHELL": "/bin/bash"},
  "stdout": [
    [0.25, "$ "],
    [0.5, "ls\r\n"],
    [0.0, "file \u2713 \u001b[1mbold\u001b[0m\r\n"],
    [1.125, "$ "],
    [0, "exit\r\n"]
  ]
}
)";

void test_import_asciicast_v1(void**) {
    testsupport::TempDir dir;
    std::string v1 = dir.file("v1.cast"), log = dir.file("v1.log");
    std::ofstream(v1) << kV1;
    {
        testsupport::FileSink sink(log);
        ImportOptions io;
        io.info = testsupport::info("v1");
        io.info.term.clear();
        assert_int_equal(import_asciicast(v1, io, sink), 5);
    }
    Collect c = decode(log);
    assert_string_equal(c.out.c_str(), "$ ls\r\nfile \xe2\x9c\x93 \x1b[1mbold\x1b[0m\r\n$ exit\r\n");
    assert_string_equal(c.timeline[0].c_str(), "0 w 70x15");
    assert_string_equal(c.timeline[1].c_str(), "250 o $ ");
    assert_string_equal(c.timeline[2].c_str(), "750 o ls\r\nfile \xe2\x9c\x93 \x1b[1mbold\x1b[0m\r\n");
    assert_string_equal(c.timeline.back().c_str(), "1875 o $ exit\r\n");
    // The header's TERM becomes the recording's terminal type.
    RecordingIndex idx = build_index(log, IndexOptions{});
    assert_string_equal(idx.summary.term.c_str(), "screen-256color");
    assert_int_equal(idx.summary.first_cols, 70);
    // Exported to v2: the same output at the same times (same-time frames merged).
    std::ostringstream cast;
    export_asciicast(log, idx, 2, ExportOptions{}, cast);
    std::istringstream lines(cast.str());
    std::string line;
    std::getline(lines, line);
    tlog::json::Value h = tlog::json::parse(line, "header");
    assert_int_equal(*h.find("width")->as_int(), 70);
    assert_int_equal(*h.find("height")->as_int(), 15);
    std::vector<std::string> events;
    while (std::getline(lines, line)) {
        tlog::json::Value e = tlog::json::parse(line, "event");
        char t[32];
        std::snprintf(t, sizeof t, "%.3f", *e.items()[0].as_double());
        events.push_back(std::string(t) + " " + e.items()[1].as_string() + " " + e.items()[2].as_string());
    }
    assert_int_equal(events.size(), 3);
    assert_string_equal(events[0].c_str(), "0.250 o $ ");
    assert_string_equal(events[1].c_str(), "0.750 o ls\r\nfile \xe2\x9c\x93 \x1b[1mbold\x1b[0m\r\n");
    assert_string_equal(events[2].c_str(), "1.875 o $ exit\r\n");
    // The same document on one line is read too.
    std::string one = kV1;
    for (auto& ch : one)
        if (ch == '\n') ch = ' ';
    std::ofstream(v1, std::ios::trunc) << one << "\n";
    testsupport::FileSink sink(dir.file("v1b.log"));
    ImportOptions io;
    io.info = testsupport::info("v1b");
    assert_int_equal(import_asciicast(v1, io, sink), 5);
}

void test_import_asciicast_v1_errors(void**) {
    testsupport::TempDir dir;
    std::string bad = dir.file("bad.cast");
    struct Case {
        const char* text;
        const char* field;
        uint64_t line;
    } cases[] = {
        {"{\"version\": 1, \"height\": 24, \"stdout\": []}", "width", 1},
        {"{\"version\": 1,\n \"width\": 0, \"height\": 24, \"stdout\": []}", "width", 2},
        {"{\"version\": 1, \"width\": 80, \"height\": \"24\", \"stdout\": []}", "height", 1},
        {"{\"version\": 1, \"width\": 80, \"height\": 24}", "stdout", 1},
        {"{\"version\": 1, \"width\": 80, \"height\": 24, \"stdout\": {}}", "stdout", 1},
        {"{\"version\": 1, \"width\": 80, \"height\": 24,\n\"stdout\": [[0.1, \"a\"],\n [0.2]]}", "stdout[1]", 3},
        {"{\"version\": 1, \"width\": 80, \"height\": 24, \"stdout\": [[\"x\", \"a\"]]}", "stdout[0][0]", 1},
        {"{\"version\": 1, \"width\": 80, \"height\": 24, \"stdout\": [[-1, \"a\"]]}", "stdout[0][0]", 1},
        {"{\"version\": 1, \"width\": 80, \"height\": 24, \"stdout\": [[1, 5]]}", "stdout[0][1]", 1},
        {"{\"version\": 1, \"width\": 80, \"height\": 24, \"duration\": \"long\", \"stdout\": []}", "duration", 1},
        {"{\n  \"version\": 5,\n  \"stdout\": []\n}", "version", 2},
    };
    for (const Case& k : cases) {
        std::ofstream(bad, std::ios::trunc) << k.text << "\n";
        testsupport::FileSink sink(dir.file("out.log"));
        ImportOptions io;
        io.info = testsupport::info();
        try {
            import_asciicast(bad, io, sink);
            fail_msg("accepted: %s", k.text);
        } catch (const tlog::InputError& e) {
            if (e.where().field != k.field || e.where().line != k.line)
                fail_msg("%s: error names field '%s' line %llu, expected '%s' line %llu (%s)", k.text,
                         e.where().field.c_str(), (unsigned long long)e.where().line, k.field,
                         (unsigned long long)k.line, e.what());
            assert_non_null(strstr(e.what(), bad.c_str()));  // and the file
        }
    }
    // Relative times that add up past any clock (v1 and v3) are refused, not wrapped.
    for (const char* huge :
         {"{\"version\": 1, \"width\": 8, \"height\": 2, \"stdout\": [[9e8, \"a\"], [9e8, \"a\"], "
          "[9e8, \"a\"], [9e8, \"a\"], [9e8, \"a\"], [9e8, \"a\"]]}\n",
          "{\"version\": 3, \"term\": {\"cols\": 8, \"rows\": 2}}\n[9e8, \"o\", \"a\"]\n[9e8, \"o\", \"a\"]\n"
          "[9e8, \"o\", \"a\"]\n[9e8, \"o\", \"a\"]\n[9e8, \"o\", \"a\"]\n[9e8, \"o\", \"a\"]\n"}) {
        std::ofstream(bad, std::ios::trunc) << huge;
        testsupport::FileSink sink(dir.file("out.log"));
        ImportOptions io;
        io.info = testsupport::info();
        try {
            import_asciicast(bad, io, sink);
            fail_msg("accepted times past the clock: %s", huge);
        } catch (const tlog::InputError& e) {
            assert_non_null(strstr(e.what(), "time out of range"));
        }
    }
    // A damaged document: the parser names line and column.
    std::ofstream(bad, std::ios::trunc) << "{\n \"version\": 1,\n \"stdout\": [[0.1, \"a\"\n";
    testsupport::FileSink sink(dir.file("out.log"));
    ImportOptions io;
    io.info = testsupport::info();
    try {
        import_asciicast(bad, io, sink);
        fail_msg("accepted a truncated v1 file");
    } catch (const tlog::InputError& e) {
        assert_true(e.where().line >= 3);
    }
}

void test_export_merges_same_time_output(void**) {
    // Many output pieces at the same times, cut across small messages: the
    // export has fewer, larger events with the same content at the same times.
    testsupport::TempDir dir;
    std::string log = dir.file("m.log");
    {
        testsupport::FileSink sink(log);
        tlog::EncoderOptions eo;
        eo.payload = 100;
        tlog::Encoder enc(testsupport::info(), eo, sink, 0, 0);
        enc.window(0, 40, 10);
        for (int t = 0; t < 20; t++)
            for (int k = 0; k < 30; k++)
                enc.output(t * 100 * kMs, "t" + std::to_string(t) + "k" + std::to_string(k) + "\u00e9 ");
        enc.finish(2000 * kMs, "exit");
    }
    Collect c = decode(log);
    std::map<uint64_t, std::string> want;
    size_t decoded_outputs = 0;
    {
        struct ByTime : tlog::EventSink {
            std::map<uint64_t, std::string>& m;
            size_t& n;
            ByTime(std::map<uint64_t, std::string>& m, size_t& n) : m(m), n(n) {}
            void event(const tlog::Event& e) override {
                if (e.type != tlog::Event::Type::Output) return;
                m[e.pos_ms] += e.data;
                n++;
            }
        } s(want, decoded_outputs);
        tlog::decode_file(log, tlog::ReadOptions{}, s);
    }
    RecordingIndex idx = build_index(log, IndexOptions{});
    for (int version : {2, 3}) {
        std::ostringstream cast;
        export_asciicast(log, idx, version, ExportOptions{}, cast);
        std::istringstream lines(cast.str());
        std::string line;
        std::getline(lines, line);
        std::map<uint64_t, std::string> got;
        size_t events = 0;
        double t = 0;
        while (std::getline(lines, line)) {
            tlog::json::Value e = tlog::json::parse(line, "event");
            double secs = *e.items()[0].as_double();
            t = version == 3 ? t + secs : secs;
            uint64_t ms = static_cast<uint64_t>(std::llround(t * 1000));
            if (got.count(ms)) fail_msg("two events at %llu ms: not merged", (unsigned long long)ms);
            got[ms] += e.items()[2].as_string();
            events++;
        }
        assert_int_equal(events, 20);
        assert_true(decoded_outputs > 40);
        assert_true(got == want);
    }
    (void)c;
}

}  // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_asciicast2_roundtrip),
        cmocka_unit_test(test_asciicast3_roundtrip),
        cmocka_unit_test(test_raw_and_text),
        cmocka_unit_test(test_invalid_utf8_in_asciicast),
        cmocka_unit_test(test_import_script),
        cmocka_unit_test(test_import_errors),
        cmocka_unit_test(test_import_asciicast_v1),
        cmocka_unit_test(test_import_asciicast_v1_errors),
        cmocka_unit_test(test_export_merges_same_time_output),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
