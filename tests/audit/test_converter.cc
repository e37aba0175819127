// tlog-audit's converter on fixed log text: argv reassembly over records and
// chunks, invalid UTF-8, unknown record types, the recording join, trimming.
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
    Converter c(o, [&](const std::string& json, auto&&...) {
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

}  // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_argv_paths_sockaddr),
        cmocka_unit_test(test_unknown_type_passes_through),
        cmocka_unit_test(test_rec_join_and_failures),
        cmocka_unit_test(test_rec_not_an_id),
        cmocka_unit_test(test_trimming_long_host),
        cmocka_unit_test(test_parents),
        cmocka_unit_test(test_trimming),
        cmocka_unit_test(test_helpers),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
