// tlog-audit's converter on fixed log text: argv reassembly over records and
// chunks, invalid UTF-8, unknown record types, the recording join, trimming;
// and its own reader against libauparse's event assembly (the same output
// on the corpus logs and on generated text).
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>

#include "cmocka_cxx.h"
#include "tlog/audit/converter.h"
#include "tlog/hex.h"
#include "tlog/json.h"
#include "tlog/utf8.h"

namespace {

using tlog::audit::Converter;

std::vector<tlog::json::Value> convert(const std::string& text, size_t max = 64 * 1024) {
    tlog::audit::Options o;
    o.max_event_size = max;
    o.default_host = "h";
    std::vector<tlog::json::Value> out;
    Converter c(o, [&](std::string_view json, auto&&...) {
        assert_true(tlog::utf8::is_valid(json));
        assert_true(json.size() <= max);
        out.push_back(tlog::json::parse(json, "event"));
    });
    c.feed(text);
    c.finish();
    return out;
}

const std::string kExec =
    "type=SYSCALL msg=audit(1700000000.123:42): arch=c000003e syscall=59 success=yes exit=0 a0=1 a1=2 a2=3 a3=0 "
    "items=1 ppid=100 pid=101 auid=1000 uid=1000 gid=1000 euid=1000 suid=1000 fsuid=1000 egid=1000 sgid=1000 "
    "fsgid=1000 tty=pts0 ses=7 comm=\"sh\" exe=\"/usr/bin/dash\" key=(null)\n"
    "type=EXECVE msg=audit(1700000000.123:42): argc=4 a0=\"sh\" a1=2D6C2061 a2_len=10\n"
    "type=EXECVE msg=audit(1700000000.123:42): a2[0]=666FFF a2[1]=6F0A a3=\"x\"\n"
    "type=CWD msg=audit(1700000000.123:42): cwd=\"/home/a\"\n"
    "type=PATH msg=audit(1700000000.123:42): item=0 name=\"../b/./c\" inode=5 dev=08:01 mode=0100755 ouid=0 "
    "ogid=0 rdev=00:00 nametype=NORMAL\n"
    "type=SOCKADDR msg=audit(1700000000.123:42): saddr=0A000050000000000000000000000000000000000000000100000000\n"
    "type=EOE msg=audit(1700000000.123:42): \n";

void test_argv_paths_sockaddr(void**) {
    auto ev = convert(kExec);
    assert_int_equal(ev.size(), 1);
    const auto& e = ev[0];
    const auto& argv = e.find("argv")->items();
    assert_int_equal(argv.size(), 4);
    assert_string_equal(argv[1].as_string().c_str(), "-l a");
    assert_string_equal(argv[2].as_string().c_str(), "fo\xef\xbf\xbdo\n");  // U+FFFD for 0xff
    assert_string_equal(argv[3].as_string().c_str(), "x");
    assert_string_equal(e.find("argv_hex")->find("2")->as_string().c_str(), "666fff6f0a");
    const auto& p = e.find("paths")->items()[0];
    assert_string_equal(p.find("resolved")->as_string().c_str(), "/home/b/c");
    assert_string_equal(e.find("sockaddr")->find("addr")->as_string().c_str(), "::1");
    assert_int_equal(*e.find("sockaddr")->find("port")->as_uint(), 80);
    assert_string_equal(e.find("host")->as_string().c_str(), "h");
    assert_int_equal(*e.find("ses")->as_uint(), 7);
}

void test_unknown_type_passes_through(void**) {
    auto ev = convert("type=UNKNOWN[4242] msg=audit(1700000000.500:50): foo=bar baz=\"q\"\n");
    assert_int_equal(ev.size(), 1);
    const auto& r = ev[0].find("records")->items()[0];
    assert_string_equal(r.find("fields")->find("foo")->as_string().c_str(), "bar");
}

// Raw values as the log has them, whatever their quotes and backslashes
// (a forged record's), at every length around the writer's 8-byte words.
void test_raw_values_escaped(void**) {
    std::string line = "type=UNKNOWN[4242] msg=audit(1700000000.500:50):";
    std::vector<std::string> values;
    for (size_t n = 0; n < 40; ++n) {
        std::string v = "\"";
        for (size_t i = 0; i < n; ++i)
            v += (i + n) % 11 == 5 ? '\\' : (i + n) % 17 == 9 ? '"' : static_cast<char>('a' + i % 26);
        v += '"';
        values.push_back(v);
        line += " v" + std::to_string(n) + "=" + v;
    }
    auto ev = convert(line + "\n");
    assert_int_equal(ev.size(), 1);
    const auto* fields = ev[0].find("records")->items()[0].find("fields");
    for (size_t n = 0; n < values.size(); ++n)
        assert_string_equal(fields->find("v" + std::to_string(n))->as_string().c_str(), values[n].c_str());
}

void test_rec_join_and_failures(void**) {
    const std::string text =
        "type=USER_AUTH msg=audit(1700000001.000:43): pid=5 uid=0 auid=4294967295 ses=4294967295 "
        "msg='op=PAM:authentication grantors=? acct=\"al\" exe=\"/usr/sbin/sshd\" hostname=10.0.0.5 addr=10.0.0.5 "
        "terminal=ssh res=failed'\n"
        "type=TRUSTED_APP msg=audit(1700000002.000:44): pid=5 uid=0 auid=1000 ses=7 msg='op=tlog-session-start "
        "rec=\"abcd-7\" rule=\"r\" service=\"sshd\" acct=\"al\" rhost=\"10.0.0.5\" tty=\"ssh\" exe=\"/usr/sbin/sshd\" "
        "hostname=10.0.0.5 addr=10.0.0.5 terminal=ssh res=success'\n" +
        kExec;
    auto ev = convert(text);
    assert_int_equal(ev.size(), 3);
    assert_null(ev[0].find("rec"));
    assert_string_equal(ev[1].find("rec")->as_string().c_str(), "abcd-7");
    assert_int_equal(*ev[1].find("failed_auth_before")->items()[0].find("serial")->as_uint(), 43);
    assert_string_equal(ev[2].find("rec")->as_string().c_str(), "abcd-7");
}

// joined() answers for the one recording asked about (--rec); nothing of
// the others is kept, so a plugin's memory does not grow with every login.
void test_joined_only_for_the_rec_asked(void**) {
    const std::string start =
        "type=USER_AUTH msg=audit(1700000001.000:43): pid=5 uid=0 auid=4294967295 ses=4294967295 "
        "msg='op=PAM:authentication grantors=? acct=\"al\" exe=\"/usr/sbin/sshd\" hostname=10.0.0.5 addr=10.0.0.5 "
        "terminal=ssh res=failed'\n"
        "type=TRUSTED_APP msg=audit(1700000002.000:44): pid=5 uid=0 auid=1000 ses=7 msg='op=tlog-session-start "
        "rec=\"abcd-7\" acct=\"al\" rhost=\"10.0.0.5\" res=success'\n";
    for (const std::string asked : {"abcd-7", "other-1"}) {
        tlog::audit::Options o;
        o.default_host = "h";
        o.joins_of_rec = asked;
        Converter c(o, [](auto&&...) {});
        c.feed(start);
        c.finish();
        const auto j = c.joined();
        if (asked == "abcd-7") {
            assert_int_equal(j.sessions.size(), 1);
            assert_int_equal(j.sessions[0].ses, 7);
            assert_int_equal(j.failures.size(), 1);
            assert_int_equal(j.failures[0].second, 43);
        } else {
            assert_true(j.sessions.empty() && j.failures.empty());
        }
    }
}

// A start record whose rec is no recording id joins nothing: copied onto
// every event of the session, a 3 KB value made even the smallest trimmed
// event exceed the limit (found by the fuzzer).
void test_rec_not_an_id(void**) {
    for (const std::string& bad : {std::string(3000, '$'), std::string("a\\\"b"), std::string(129, 'a')}) {
        std::string text =
            "type=TRUSTED_APP msg=audit(1700000002.000:44): pid=5 uid=0 auid=1000 ses=7 msg='op=tlog-session-start "
            "rec=" +
            tlog::hex::encode(bad.data(), bad.size()) + " acct=\"al\" res=success'\n" + kExec;
        auto ev = convert(text, 512);
        assert_int_equal(ev.size(), 2);
        assert_null(ev[0].find("rec"));
        assert_null(ev[1].find("rec"));
    }
    auto ok = convert(
        "type=TRUSTED_APP msg=audit(1700000002.000:44): pid=5 uid=0 auid=1000 ses=7 "
        "msg='op=tlog-session-start rec=\"" +
        std::string(128, 'a') + "\" res=success'\n" + kExec);
    assert_int_equal(ok[1].find("rec")->as_string().size(), 128);
}

// node= is not bounded by the log either: the smallest form of an event cuts
// it and says so, and still fits the smallest limit.
void test_trimming_long_host(void**) {
    std::string text = kExec;
    for (size_t at = text.find("type="); at != std::string::npos; at = text.find("type=", at + 1)) {
        text.insert(at, "node=" + std::string(300, 'n') + " ");
        at += 306;
    }
    // libauparse reads no serial after so long a node (each record becomes
    // an event of its own): each must fit (convert checks), and a host is
    // either whole or cut with "host" in trimmed.
    size_t cut = 0;
    for (const auto& e : convert(text, 512)) {
        if (e.find("host")->as_string().size() == 300) continue;
        assert_int_equal(e.find("host")->as_string().size(), 128);
        bool host_cut = false;
        for (const auto& t : e.find("trimmed")->items()) host_cut = host_cut || t.as_string() == "host";
        assert_true(host_cut);
        ++cut;
    }
    assert_true(cut > 0);
}

void test_parents(void**) {
    std::string child = kExec;
    for (auto [from, to] :
         {std::pair<std::string, std::string>{"ppid=100 pid=101", "ppid=101 pid=102"}, {":42)", ":43)"}}) {
        for (size_t at = child.find(from); at != std::string::npos; at = child.find(from, at + 1))
            child.replace(at, from.size(), to);
    }
    auto ev = convert(kExec + child);
    assert_int_equal(ev.size(), 2);
    const auto& parents = ev[1].find("parents")->items();
    assert_int_equal(parents.size(), 1);
    assert_int_equal(*parents[0].find("pid")->as_uint(), 101);
}

void test_trimming(void**) {
    std::string text =
        "type=SYSCALL msg=audit(1700000000.123:42): arch=c000003e syscall=59 success=yes exit=0 a0=1 a1=2 a2=3 "
        "a3=0 items=0 ppid=1 pid=2 auid=0 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts0 ses=1 "
        "comm=\"t\" exe=\"/bin/true\" key=(null)\ntype=EXECVE msg=audit(1700000000.123:42): argc=3000";
    for (int i = 0; i < 3000; ++i) text += " a" + std::to_string(i) + "=\"argument-" + std::to_string(i) + "\"";
    text += "\ntype=EOE msg=audit(1700000000.123:42): \n";
    auto full = convert(text);
    assert_int_equal(full[0].find("argv")->items().size(), 3000);
    auto ev = convert(text, 4096);
    const auto& e = ev[0];
    assert_int_equal(*e.find("argc")->as_uint(), 3000);
    assert_true(e.find("argv")->items().size() < 3000);
    bool argv_cut = false;
    for (const auto& t : e.find("trimmed")->items()) argv_cut = argv_cut || t.as_string() == "argv";
    assert_true(argv_cut);
    assert_null(e.find("records"));
}

void test_helpers(void**) {
    assert_string_equal(tlog::audit::resolve_path("/a/b", "../../../x/./y").c_str(), "/x/y");
    assert_string_equal(tlog::audit::resolve_path("/a", "/abs").c_str(), "/abs");
    assert_string_equal(tlog::audit::decode_value("2F746D70").c_str(), "/tmp");
    assert_string_equal(tlog::audit::decode_value("\"q\"").c_str(), "q");
    assert_string_equal(tlog::audit::decode_value("(null)").c_str(), "(null)");
    bool changed = false;
    assert_string_equal(tlog::audit::valid_utf8("a\xc3(", &changed).c_str(), "a\xef\xbf\xbd(");
    assert_true(changed);
    assert_false(tlog::audit::unhex("ABC").has_value());
}

// Everything the converter gives, with the reader or with libauparse
// assembling the events: the text fed in pieces cut at `cuts`, age() asked
// where `ages` says.
std::vector<std::string> run(const std::string& text, bool libauparse, const std::vector<size_t>& cuts,
                             const std::vector<bool>& ages, size_t max) {
    tlog::audit::Options o;
    o.max_event_size = max;
    o.default_host = "h";
    o.libauparse_events = libauparse;
    std::vector<std::string> out;
    Converter c(o, [&](std::string_view json, const tlog::audit::SessionKey& key, std::string_view rec,
                       uint64_t time_ms, uint64_t serial) {
        out.push_back(std::string(json) + " | " + key.host + " " + std::to_string(key.ses) + " " + std::string(rec) +
                      " " + std::to_string(time_ms) + " " + std::to_string(serial));
    });
    size_t at = 0;
    for (size_t i = 0; i < cuts.size(); ++i) {
        c.feed(std::string_view(text).substr(at, cuts[i] - at));
        at = cuts[i];
        if (i < ages.size() && ages[i]) c.age();
    }
    c.feed(std::string_view(text).substr(at));
    c.finish();
    return out;
}

void same_both_ways(const std::string& text, const std::vector<size_t>& cuts, const std::vector<bool>& ages, size_t max,
                    const std::string& what) {
    const auto ours = run(text, false, cuts, ages, max);
    const auto theirs = run(text, true, cuts, ages, max);
    for (size_t i = 0; i < std::min(ours.size(), theirs.size()); ++i) {
        if (ours[i] != theirs[i]) {
            std::fprintf(stderr, "%s: event %zu differs:\n reader:     %s\n libauparse: %s\n", what.c_str(), i,
                         ours[i].c_str(), theirs[i].c_str());
            fail();
        }
    }
    if (ours.size() != theirs.size()) {
        std::fprintf(stderr, "%s: %zu events from the reader, %zu from libauparse\n", what.c_str(), ours.size(),
                     theirs.size());
        fail();
    }
}

// The checked-in logs (the fuzz corpus: real auditd logs, huge and chunked
// argv, invalid UTF-8, forged names, trimmed events), whole and cut into
// pieces at every 997th byte.
void test_reader_same_as_libauparse_on_logs(void**) {
    size_t files = 0;
    for (const auto& entry : std::filesystem::directory_iterator(TLOG_AUDIT_CORPUS)) {
        std::ifstream f(entry.path(), std::ios::binary);
        const std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
        same_both_ways(text, {}, {}, 64 * 1024, entry.path().string());
        same_both_ways(text, {}, {}, 1024, entry.path().string() + " (1024 bytes an event)");
        std::vector<size_t> cuts;
        for (size_t at = 997; at < text.size(); at += 997) cuts.push_back(at);
        same_both_ways(text, cuts, {}, 64 * 1024, entry.path().string() + " (in pieces)");
        ++files;
    }
    assert_true(files >= 5);
}

// Generated logs: every record type the reader treats apart, interleaved
// and repeated serials, hosts and none, EOE and timeouts, ENRICHED
// sections, virtual keys, AVC text, the punctuation libauparse trims, time
// stamps it rejects, stray bytes (NUL, newline, 0x1D, high bytes) and
// pieces cut anywhere, age() between them.
std::string generated_log(std::mt19937& rng) {
    auto pick = [&rng](const auto& v) { return v[std::uniform_int_distribution<size_t>(0, std::size(v) - 1)(rng)]; };
    auto chance = [&rng](int percent) { return std::uniform_int_distribution<int>(0, 99)(rng) < percent; };
    static const char* const kNodes[] = {"", "", "", "node=a ", "node=b ", "node=a  ", "nodeX ", "node= ", "n=1 "};
    static const char* const kTypes[] = {
        "SYSCALL",       "EXECVE",      "PATH",          "CWD",        "PROCTITLE", "EOE",           "USER_AUTH",
        "USER_LOGIN",    "TRUSTED_APP", "AVC",           "USER_AVC",   "SOCKADDR",  "UNKNOWN[1999]", "FOO",
        "CONFIG_CHANGE", "KERNEL",      "DAEMON_START",  "USER_START", "CRED_ACQ",  "MAC_STATUS",    "ANOM_ABEND",
        "LOGIN",         "SECCOMP",     "NETFILTER_PKT", "MQ_OPEN"};
    static const char* const kStamps[] = {"1700000000.123:42",
                                          "1700000000.123:43",
                                          "1700000000.124:42",
                                          "1700000001.000:44",
                                          "1700000005.500:45",
                                          "1700000000.123:42",
                                          "0.000:1",
                                          "-5.1:2",
                                          "1700000000:46",
                                          "1700000000.1234:47",
                                          "99999999999999999999.1:1",
                                          "1700000003.7",
                                          " 1700000002.002:48",
                                          "1700000000.123:4x2",
                                          "+1700000009.009:49"};
    static const char* const kFields[] = {
        "arch=c000003e",
        "arch=40000003",
        "arch=zz",
        "syscall=59",
        "syscall=257",
        "syscall=41",
        "syscall=2",
        "syscall=105",
        "syscall=abc",
        "success=yes",
        "success=no",
        "exit=-2",
        "exit=3",
        "exit=-13",
        "exit=x",
        "a0=ffffff9c",
        "a0=7ffd1234",
        "a0=1",
        "a1=80000",
        "a1=241",
        "a1=2",
        "a2=1b6",
        "a3=0",
        "a0=3e8",
        "items=2",
        "ppid=100",
        "pid=101",
        "auid=1000",
        "auid=4294967295",
        "uid=0",
        "uid=1000",
        "gid=0",
        "euid=0",
        "ses=7",
        "ses=4294967295",
        "tty=(none)",
        "tty=pts0",
        "comm=\"sh\"",
        "comm=\"a b\"",
        "exe=2F62696E2F7368",
        "exe=\"/usr/bin/x\"",
        "key=(null)",
        "key=\"k1\"",
        "key=6B31016B32",
        "key=6B",
        "key=7",
        "key=2201",
        "key=(x",
        "name=\"../a/./b\"",
        "name=2F746D702F78",
        "name=(null)",
        "nametype=NORMAL",
        "mode=0100644",
        "mode=040755",
        "inode=5",
        "ouid=0",
        "ogid=1000",
        "cap_fp=0",
        "cap_fe=1",
        "cwd=\"/home/a\"",
        "cwd=2F",
        "argc=3",
        "a0=\"sh\"",
        "a1=2D63",
        "a2_len=4",
        "a2[0]=6869",
        "a2[1]=2121",
        "proctitle=736800",
        "proctitle=\"sh\"",
        "saddr=02000050C0A80001",
        "saddr=01002F746D70",
        "saddr=0A00",
        "acct=\"root\"",
        "acct=726F6F74",
        "acct=root",
        "res=success",
        "res=failed",
        "res=1",
        "res=0",
        "hostname=?",
        "addr=10.0.0.1",
        "terminal=pts/1",
        "msg='op=PAM:auth acct=\"root\" exe=\"/usr/bin/su\" hostname=? addr=? terminal=pts/0 res=failed'",
        "msg='avc:  denied  { read write } for pid=1 comm=\"x\"'",
        "avc:",
        "denied",
        "{",
        "read",
        "write",
        "}",
        "granted",
        "op=tlog-session-start",
        "rec=0a1b-2c",
        "rec=\"r:1\"",
        "rhost=10.0.0.1",
        "id=1000",
        "flags=0x41",
        "fp=ab",
        "x=",
        "=x",
        "==",
        "(x=y)",
        "v=(none)",
        "v=(null)",
        "v=abc)",
        "v=x,",
        "v=y:",
        "v='z'",
        "v=a:,')",
        "msg=audit(1.2:3):",
        "msg=foo",
        "type=PATH",
        "node=zz",
        "a=b=c",
        "kk",
        "seresult=denied",
        "\xc3\x28=\xff",
        "d\xc3\xa9j\xc3\xa0=vu",
        "ne=\"\\\"\"",
        "ctl=\"\x01\x1f\""};
    static const char* const kEnriched[] = {"\x1dUID=\"root\" AUID=\"unset\" ARCH=x86_64 SYSCALL=execve",
                                            "\x1d\x41UID=\"alice\" UID=\"root\" OUID=\"root\" OGID=\"root\"",
                                            "\x1dSADDR={ saddr_fam=inet laddr=1.2.3.4 lport=80 }", "\x1d",
                                            "\x1dUID=unknown-x"};
    static const char kStray[] = {'\0', '\n', '\x1d', ' ', '\xff', '\r', '(', ')', ':', '='};
    std::string text;
    const int lines = std::uniform_int_distribution<int>(1, 60)(rng);
    for (int l = 0; l < lines; ++l) {
        std::string line = pick(kNodes);
        line += "type=";
        line += pick(kTypes);
        line += " msg=audit(";
        line += pick(kStamps);
        line += "):";
        const int fields = std::uniform_int_distribution<int>(0, 14)(rng);
        for (int f = 0; f < fields; ++f) {
            line += chance(5) ? "  " : " ";
            line += pick(kFields);
        }
        if (chance(15)) line += pick(kEnriched);
        for (int i = 0; i < 2; ++i)
            if (chance(4)) line.insert(std::uniform_int_distribution<size_t>(0, line.size())(rng), 1, pick(kStray));
        text += line;
        if (l + 1 < lines || !chance(20)) text += '\n';
    }
    return text;
}

void test_reader_same_as_libauparse_generated(void**) {
    std::mt19937 rng(20261205);
    for (int round = 0; round < 1500; ++round) {
        const std::string text = generated_log(rng);
        std::vector<size_t> cuts;
        std::vector<bool> ages;
        const int pieces = std::uniform_int_distribution<int>(0, 4)(rng);
        for (int i = 0; i < pieces && !text.empty(); ++i)
            cuts.push_back(std::uniform_int_distribution<size_t>(0, text.size())(rng));
        std::sort(cuts.begin(), cuts.end());
        for (size_t i = 0; i < cuts.size(); ++i) ages.push_back(std::uniform_int_distribution<int>(0, 3)(rng) == 0);
        same_both_ways(text, cuts, ages, round % 3 == 0 ? 600 : 64 * 1024, "generated log " + std::to_string(round));
    }
}

// Past the bounds of the converter's caches (values interpreted in
// context, long values, record types), which are emptied when full: an
// interpretation remembered from before must not be given after, nor one
// from another record's context. Values repeat from event to event (arch,
// ids, success) between others that never do (a0, a1, proctitle).
void test_reader_same_as_libauparse_past_cache_bounds(void**) {
    std::string text;
    char line[1024];
    for (unsigned i = 0; i < 3000; ++i) {
        const char* node = i % 2 ? "node=ha " : "node=hb ";
        const unsigned sec = 1700000000 + i / 10, ms = i % 10 * 100, serial = 100 + i;
        std::snprintf(line, sizeof line,
                      "%stype=SYSCALL msg=audit(%u.%03u:%u): arch=c000003e syscall=%u success=%s exit=%d a0=%x "
                      "a1=%x a2=1b6 a3=0 items=0 ppid=1 pid=%u auid=1000 uid=%u gid=0 euid=0 suid=0 fsuid=0 egid=0 "
                      "sgid=0 fsgid=0 tty=(none) ses=%u comm=\"t\" exe=\"/bin/t\" key=(null)\n",
                      node, sec, ms, serial, i % 3 ? 2U : 257U, i % 5 ? "yes" : "no", i % 5 ? 3 : -2, 0x1000 + i,
                      0x80000 + i % 7, 200 + i, i % 4 ? 0U : 1000U, i % 2 + 1);
        text += line;
        std::string title;
        for (unsigned k = 0; k < 40; ++k) title += "2F";
        char n[16];
        std::snprintf(n, sizeof n, "%08X", i);
        title += i % 7 ? n : "";
        std::snprintf(line, sizeof line, "%stype=PROCTITLE msg=audit(%u.%03u:%u): proctitle=%s\n", node, sec, ms,
                      serial, title.c_str());
        text += line;
        // Record types of their own (each twice in a row): more layouts,
        // and more long values to remember, than the converter keeps.
        std::string longs;
        for (const char* name : {"name", "cwd", "exe", "comm", "proctitle"})
            longs += std::string(" ") + name + "=" + title.substr(0, 70 + i % 5) + (i % 4 ? "41" : "42");
        std::snprintf(line, sizeof line, "%stype=UNKNOWN[%u] msg=audit(%u.%03u:%u): mode=0100644 uid=0 res=1%s\n", node,
                      2000 + i / 2 % 400, sec, ms, 50000 + i, longs.c_str());
        text += line;
    }
    same_both_ways(text, {}, {}, 64 * 1024, "past the cache bounds");
    assert_int_equal(run(text, false, {}, {}, 64 * 1024).size(), 6000);
}

}  // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_argv_paths_sockaddr),
        cmocka_unit_test(test_unknown_type_passes_through),
        cmocka_unit_test(test_raw_values_escaped),
        cmocka_unit_test(test_rec_join_and_failures),
        cmocka_unit_test(test_joined_only_for_the_rec_asked),
        cmocka_unit_test(test_rec_not_an_id),
        cmocka_unit_test(test_trimming_long_host),
        cmocka_unit_test(test_parents),
        cmocka_unit_test(test_trimming),
        cmocka_unit_test(test_helpers),
        cmocka_unit_test(test_reader_same_as_libauparse_on_logs),
        cmocka_unit_test(test_reader_same_as_libauparse_generated),
        cmocka_unit_test(test_reader_same_as_libauparse_past_cache_bounds),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
