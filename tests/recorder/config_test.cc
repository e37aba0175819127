// Unit tests of the recorder's configuration loader, shell selection helpers,
// rate limiter, drop record, PAM proof and charset conversion (suite unit).
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <string>

#include "tlog/charset.h"
#include "tlog/conf_proof.h"
#include "tlog/config.h"
#include "tlog/error.h"
#include "tlog/rate_limit.h"
#include "tlog/recorder.h"

// cmocka last: its fail() macro clashes with the C++ headers.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
extern "C" {
#include <cmocka.h>
}

using namespace tlog;
using namespace tlog::rec;

namespace {

std::map<std::string, std::string> g_env;
const char* fake_env(const char* n) {
    auto it = g_env.find(n);
    return it == g_env.end() ? nullptr : it->second.c_str();
}

std::string g_dir;

LoadOptions opts(Program p, std::vector<std::string> argv = {}) {
    LoadOptions o;
    o.program = p;
    o.sysconfdir = g_dir;
    o.getenv = fake_env;
    argv.insert(argv.begin(), program_name(p));
    o.argv = argv;
    return o;
}

void write_file(const std::string& path, const std::string& text) {
    std::ofstream f(path);
    f << text;
}

// Runs load_config expecting an InputError whose text contains every piece.
void expect_error(const LoadOptions& o, std::initializer_list<const char*> pieces) {
    try {
        load_config(o);
        fail_msg("no error");
    } catch (const InputError& e) {
        std::string w = e.what();
        for (const char* p : pieces)
            if (w.find(p) == std::string::npos) fail_msg("error '%s' lacks '%s'", w.c_str(), p);
    }
}

int setup(void**) {
    char tmpl[] = "/tmp/config-test-XXXXXX";
    g_dir = mkdtemp(tmpl);
    g_env.clear();
    return 0;
}

int teardown(void**) {
    std::string cmd = "rm -rf " + g_dir;
    if (system(cmd.c_str()) != 0) return -1;
    return 0;
}

void test_defaults(void**) {
    auto r = load_config(opts(Program::Rec));
    assert_string_equal(r.config.writer.c_str(), "file");
    assert_int_equal(r.config.payload, 2048);
    assert_true(r.config.latency == 10);
    assert_false(r.config.log_input);
    assert_true(r.config.log_output);
    assert_int_equal(r.config.limit_rate, 16384);
    assert_int_equal(r.config.limit_burst, 32768);
    assert_string_equal(r.config.limit_action.c_str(), "pass");
    auto s = load_config(opts(Program::RecSession));
    assert_string_equal(s.config.writer.c_str(), "journal");
    assert_string_equal(s.config.shell.c_str(), "/bin/bash");
    assert_string_equal(s.config.notice.c_str(), "\nATTENTION! Your session is being recorded!\n\n");
}

void test_layers_in_order(void**) {
    write_file(g_dir + "/tlog-rec.conf", "// system\n{ \"latency\": 3, /* c */ \"log\": {\"input\": true}, \"payload\": 1000 }\n");
    write_file(g_dir + "/env.conf", "{\"payload\": 4000, \"limit\": {\"action\": \"drop\"}}");
    g_env["TLOG_REC_CONF_FILE"] = g_dir + "/env.conf";
    g_env["TLOG_REC_CONF_TEXT"] = "{\"payload\": 5000, \"writer\": \"syslog\"}";
    auto r = load_config(opts(Program::Rec, {"--payload=6000", "-o", "/x.log", "cmd", "arg"}));
    assert_true(r.config.latency == 3);          // system file
    assert_true(r.config.log_input);             // system file, nested, kept by later layers
    assert_string_equal(r.config.limit_action.c_str(), "drop");  // env file
    assert_string_equal(r.config.writer.c_str(), "syslog");      // env text
    assert_int_equal(r.config.payload, 6000);   // command line wins
    assert_string_equal(r.config.file_path.c_str(), "/x.log");
    assert_int_equal(r.config.args.size(), 2);
    assert_string_equal(r.config.args[0].c_str(), "cmd");
    assert_int_equal(r.config.limit_rate, 16384);  // default untouched
}

void test_errors_name_source_key_expectation(void**) {
    write_file(g_dir + "/tlog-rec.conf", "{\n  \"log\": {\n    \"input\": \"yes\"\n  }\n}\n");
    expect_error(opts(Program::Rec), {"tlog-rec.conf:3", "log.input", "expected true or false", "got a string"});
    write_file(g_dir + "/tlog-rec.conf", "{\"writer\": \"fluentd\"}");
    expect_error(opts(Program::Rec), {"tlog-rec.conf:1", "'writer'", "\"file\", \"syslog\", \"journal\"", "fluentd"});
    write_file(g_dir + "/tlog-rec.conf", "{\"no_such\": 1}");
    expect_error(opts(Program::Rec), {"'no_such'", "unknown setting"});
    write_file(g_dir + "/tlog-rec.conf", "{\"shell\": \"/bin/sh\"}");  // session-only key
    expect_error(opts(Program::Rec), {"'shell'", "unknown setting for tlog-rec"});
    write_file(g_dir + "/tlog-rec.conf", "{\"payload\": 10}");
    expect_error(opts(Program::Rec), {"'payload'", "at least 64", "got 10"});
    write_file(g_dir + "/tlog-rec.conf", "{\"latency\": 1,}");
    expect_error(opts(Program::Rec), {"tlog-rec.conf:1"});
    unlink((g_dir + "/tlog-rec.conf").c_str());
    g_env["TLOG_REC_CONF_TEXT"] = "{\"limit\": {\"rate\": \"fast\"}}";
    expect_error(opts(Program::Rec), {"<env TLOG_REC_CONF_TEXT>", "limit.rate", "expected an integer"});
    g_env.clear();
    g_env["TLOG_REC_CONF_FILE"] = g_dir + "/missing.conf";
    expect_error(opts(Program::Rec), {"missing.conf", "cannot open"});
    g_env.clear();
    expect_error(opts(Program::Rec, {"--log-input=maybe"}), {"<command line>", "--log-input", "boolean"});
    expect_error(opts(Program::Rec, {"--limit-action=explode"}), {"<command line>", "limit.action", "explode"});
    expect_error(opts(Program::Rec, {"--latency=abc"}), {"--latency", "expected a number"});
    expect_error(opts(Program::Rec, {"--nope"}), {"--nope", "unknown option"});
    expect_error(opts(Program::Rec, {"-l"}), {"unknown option"});  // session only
}

void test_session_names_and_untrusted_env(void**) {
    write_file(g_dir + "/tlog-rec-session.conf", "{\"writer\": \"file\", \"file\": {\"path\": \"/var/log/tlog/s.log\"}}");
    g_env["TLOG_REC_SESSION_CONF_TEXT"] =
        "{\"log\": {\"output\": false}, \"writer\": \"file\", \"file\": {\"path\": \"/tmp/evil\"}, \"shell\": \"/bin/zsh\", \"notice\": \"hi\"}";
    g_env["TLOG_REC_SESSION_CONF_FILE"] = g_dir + "/whatever.conf";
    g_env["TLOG_REC_CONF_TEXT"] = "{\"payload\": 99999}";  // pam_tlog's variable: read, untrusted too
    LoadOptions o = opts(Program::RecSession, {"-c", "echo hi"});
    o.trust_env = false;
    o.trust_env_file = false;
    auto r = load_config(o);
    assert_true(r.config.log_output);  // the forged setting is ignored
    assert_string_equal(r.config.file_path.c_str(), "/var/log/tlog/s.log");
    assert_string_equal(r.config.shell.c_str(), "/bin/zsh");  // safe settings are taken
    assert_string_equal(r.config.notice.c_str(), "hi");
    assert_int_equal(r.config.payload, 2048);
    assert_true(r.config.command);
    assert_int_equal(r.ignored.size(), 5);  // file var, payload, log.output, writer, file.path
    bool saw_output = false;
    for (const auto& i : r.ignored) saw_output = saw_output || i.find("log.output") != std::string::npos;
    assert_true(saw_output);
    // Untrusted garbage never stops the session.
    g_env["TLOG_REC_SESSION_CONF_TEXT"] = "{not json";
    r = load_config(o);
    assert_int_equal(r.ignored.size(), 3);
    // Hostile texts: deep nesting, huge strings, NUL-free garbage: ignored whole, never fatal.
    for (const std::string& hostile : {std::string(100000, '[') + std::string(100000, ']'),
                                       "{\"notice\": \"" + std::string(2 << 20, 'x') + "\"}",
                                       std::string("{\"log\": {\"output\": fals}}"),
                                       std::string("{\"shell\": \"relative/path\"}")}) {
        g_env["TLOG_REC_SESSION_CONF_TEXT"] = hostile;
        r = load_config(o);
        assert_true(r.config.log_output);
    }
    g_env["TLOG_REC_SESSION_CONF_TEXT"] = "{not json";
    // Trust decided per variable: pam_tlog's text proven, the other not.
    g_env["TLOG_REC_SESSION_CONF_TEXT"] = "{\"log\": {\"output\": false}}";
    o.trust_text = [](const std::string& var, const std::string&) { return var == "TLOG_REC_CONF_TEXT"; };
    r = load_config(o);
    assert_int_equal(r.config.payload, 99999);
    assert_true(r.config.log_output);
    o.trust_text = nullptr;
    // Trusted (a valid PAM proof): everything is taken.
    g_env["TLOG_REC_SESSION_CONF_TEXT"] = "{\"log\": {\"input\": true}}";
    o.trust_env = true;
    r = load_config(o);
    assert_true(r.config.log_input);
}

// The login shell's command line is the user's (su -- USER --log-output=false).
void test_session_untrusted_command_line(void**) {
    write_file(g_dir + "/tlog-rec-session.conf", "{\"writer\": \"file\", \"file\": {\"path\": \"/var/log/tlog/s.log\"}}");
    LoadOptions o = opts(Program::RecSession, {"--log-output=false", "-w", "syslog", "-o", "/tmp/evil", "--lax",
                                               "--integrity-key=/tmp/k", "--semaphore=/tmp/sem", "-l", "-c", "id"});
    o.trust_env = false;
    o.trust_env_file = false;
    o.trust_cli = false;
    auto r = load_config(o);
    assert_true(r.config.log_output);
    assert_string_equal(r.config.writer.c_str(), "file");
    assert_string_equal(r.config.file_path.c_str(), "/var/log/tlog/s.log");
    assert_false(r.config.lax);
    assert_true(r.config.key_file.empty());
    // what cannot weaken the recording is taken
    assert_string_equal(r.config.semaphore.c_str(), "/tmp/sem");
    assert_true(r.config.login && r.config.command);
    assert_int_equal(r.config.args.size(), 1);
    assert_int_equal(r.ignored.size(), 5);  // log.output, writer, file.path, lax, integrity.key
    for (const auto& i : r.ignored) {
        assert_true(i.rfind("<command line>: setting '", 0) == 0);
        assert_true(i.find("command line is the user's") != std::string::npos);
    }
    // A bad option is still an error, naming the command line.
    o.argv = {"tlog-rec-session", "--no-such-option"};
    expect_error(o, {"<command line>", "--no-such-option"});
    // Trusted (not installed setuid): taken as before.
    o.argv = {"tlog-rec-session", "--log-output=false", "-c", "id"};
    o.trust_cli = true;
    r = load_config(o);
    assert_false(r.config.log_output);
    assert_true(r.ignored.empty());
}

void test_configuration_roundtrip(void**) {
    auto r = load_config(opts(Program::Rec, {"--configuration", "--latency=2.5", "ls"}));
    assert_true(r.config.configuration);
    std::string dumped = json::dump(r.merged, true);
    g_env["TLOG_REC_CONF_TEXT"] = dumped;
    auto r2 = load_config(opts(Program::Rec, {"ls"}));  // args come from the command line
    assert_true(r2.config.latency == 2.5);
    assert_string_equal(json::dump(r2.merged).c_str(), json::dump(r.merged).c_str());
}

void test_example_file(void**) {
    const char* ex = getenv("EXAMPLES_DIR");
    assert_non_null(ex);
    std::string src = std::string(ex) + "/tlog-rec-session.conf";
    std::ifstream in(src);
    assert_true(in.good());
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    write_file(g_dir + "/tlog-rec-session.conf", text);
    auto r = load_config(opts(Program::RecSession));
    assert_string_equal(r.config.writer.c_str(), "journal");
    assert_true(r.config.log_input == false);
    assert_false(r.config.lax);
}

void test_shell_name_form(void**) {
    assert_string_equal(shell_from_program_name("tlog-rec-session-shell-bin-dash").c_str(), "/bin/dash");
    assert_string_equal(shell_from_program_name("-tlog-rec-session-shell-usr-bin-zsh").c_str(), "/usr/bin/zsh");
    assert_string_equal(shell_from_program_name("/usr/bin/tlog-rec-session-shell-opt-my\\-sh").c_str(), "/opt/my-sh");
    assert_string_equal(shell_from_program_name("tlog-rec-session").c_str(), "");
}

void test_transfer_commands(void**) {
    auto all = [](const std::string&) { return true; };
    auto none = [](const std::string&) { return false; };
    auto argv = file_transfer_argv("scp -t /tmp", all);
    assert_true(argv.has_value());
    assert_string_equal((*argv)[0].c_str(), "/usr/bin/scp");
    assert_int_equal(argv->size(), 3);
    assert_true(file_transfer_argv("scp -r -f x", all).has_value());
    assert_true(file_transfer_argv("/usr/lib/openssh/sftp-server", all).has_value());
    assert_true(file_transfer_argv("rsync --server -vlogDtpre.iLsfxC . /dst", all).has_value());
    assert_true(file_transfer_argv("exec scp -t .", all).has_value());
    assert_false(file_transfer_argv("scp a b", all).has_value());          // client, not server side
    assert_false(file_transfer_argv("scp -t /tmp", none).has_value());     // no system scp
    assert_false(file_transfer_argv("/home/u/scp -t x", all).has_value()); // not the system's program
    assert_false(file_transfer_argv("internal-sftp", all).has_value());
    assert_false(file_transfer_argv("ls", all).has_value());
    // shell syntax: the user could run anything after the transfer
    assert_false(file_transfer_argv("scp -f x; rm -rf y", all).has_value());
    assert_false(file_transfer_argv("scp -f x && id", all).has_value());
    assert_false(file_transfer_argv("scp -f $(id)", all).has_value());
    assert_false(file_transfer_argv("scp -f `id`", all).has_value());
    assert_false(file_transfer_argv("scp -f 'a b'", all).has_value());
    assert_false(file_transfer_argv("scp -f x\nid", all).has_value());
    assert_false(file_transfer_argv("cat x # scp -f x", all).has_value());
    assert_false(file_transfer_argv("scp -f x | nc h 1", all).has_value());
}

void test_rate_limiter(void**) {
    const int64_t s = 1000000000;
    RateLimiter pass(RateLimiter::Action::Pass, 10, 10, 0);
    assert_true(pass.decide(0, 1000000).take);
    RateLimiter drop(RateLimiter::Action::Drop, 1000, 2000, 0);
    assert_true(drop.decide(0, 1500).take);
    assert_false(drop.decide(0, 1000).take);     // 500 left
    assert_true(drop.decide(s / 2, 1000).take);  // 500 + 500 refilled
    assert_false(drop.decide(s / 2, 1).take);
    assert_true(drop.decide(10 * s, 2000).take); // refill capped at burst
    assert_false(drop.decide(10 * s, 1).take);
    RateLimiter delay(RateLimiter::Action::Delay, 1000, 1000, 0);
    auto d = delay.decide(0, 1000);
    assert_true(d.take && d.wait_ns == 0);
    d = delay.decide(0, 500);
    assert_true(d.take);
    assert_true(d.wait_ns >= s / 2 - 1000 && d.wait_ns <= s / 2 + 1000);
}

void test_drop_record(void**) {
    DropRecord r;
    assert_true(r.empty());
    r.add(false, 5, "abc");
    r.add(true, 9, "de");
    std::string m = r.take_value();
    // sha256("abcde")
    assert_non_null(strstr(m.c_str(), "\"sha256\":\"36bbe50ed96841d10443bcb670d6554f0a34b761be67ec9c4a8ad2c0c44ca42c\""));
    assert_non_null(strstr(m.c_str(), "\"in_bytes\":2,\"out_bytes\":3"));
    assert_non_null(strstr(m.c_str(), "\"from\":5,\"to\":9"));
    assert_true(r.empty());
}

void test_conf_proof(void**) {
    integrity::Key k{"pam", std::string(32, 'k')};
    std::string text = "{\"log\":{\"input\":true}}";
    std::string proof = make_conf_proof(k, "alice", 7, 2000, text);
    std::string why;
    assert_true(verify_conf_proof(k, proof, "alice", 7, 1999, text, why));
    assert_false(verify_conf_proof(k, proof, "alice", 7, 2001, text, why));  // expired
    assert_false(verify_conf_proof(k, proof, "bob", 7, 1999, text, why));    // other user
    assert_false(verify_conf_proof(k, proof, "alice", 8, 1999, text, why));  // other session
    assert_false(verify_conf_proof(k, proof, "alice", 7, 1999, "{}", why));  // other text
    integrity::Key k2{"pam", std::string(32, 'x')};
    assert_false(verify_conf_proof(k2, proof, "alice", 7, 1999, text, why));  // other key
    assert_false(verify_conf_proof(k, "v1:9999:00", "alice", 7, 1999, text, why));
    assert_false(verify_conf_proof(k, "garbage", "alice", 7, 1999, text, why));
    // the expiry is covered by the MAC
    std::string tampered = proof;
    tampered.replace(3, 4, "9999");
    assert_false(verify_conf_proof(k, tampered, "alice", 7, 1999, text, why));
}

void test_charset(void**) {
    ToUtf8 c("ISO-8859-1");
    assert_string_equal(std::string(c.convert("caf\xe9")).c_str(), "caf\xc3\xa9");
    ToUtf8 j("EUC-JP");
    // a two-byte character cut between two reads
    std::string a(j.convert("x\xa4"));
    std::string b(j.convert("\xa2y"));
    assert_string_equal((a + b).c_str(), "x\xe3\x81\x82y");
    assert_true(codeset_is_utf8("UTF-8"));
    assert_false(codeset_is_utf8("ISO-8859-1"));
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_layers_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors_name_source_key_expectation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_names_and_untrusted_env, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_untrusted_command_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_configuration_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_example_file, setup, teardown),
        cmocka_unit_test(test_shell_name_form),
        cmocka_unit_test(test_transfer_commands),
        cmocka_unit_test(test_rate_limiter),
        cmocka_unit_test(test_drop_record),
        cmocka_unit_test(test_conf_proof),
        cmocka_unit_test(test_charset),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
