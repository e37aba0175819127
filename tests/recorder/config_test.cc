// Unit tests of the recorder's configuration loader, shell selection helpers,
// rate limiter, drop record, PAM proof and charset conversion (suite unit).
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "tlog/conf_proof.h"
#include "tlog/error.h"
#include "tlog/rec/charset.h"
#include "tlog/rec/config.h"
#include "tlog/rec/file_transfer.h"
#include "tlog/rec/rate_limit.h"
#include "tlog/rec/recorder.h"
#include "tlog/rec/redact.h"

// cmocka last: its fail() macro clashes with the C++ headers.
#include "cmocka_cxx.h"

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
    write_file(g_dir + "/tlog-rec.conf",
               "// system\n{ \"latency\": 3, /* c */ \"log\": {\"input\": true}, \"payload\": 1000 }\n");
    write_file(g_dir + "/env.conf", "{\"payload\": 4000, \"limit\": {\"action\": \"drop\"}}");
    g_env["TLOG_REC_CONF_FILE"] = g_dir + "/env.conf";
    g_env["TLOG_REC_CONF_TEXT"] = "{\"payload\": 5000, \"writer\": \"syslog\"}";
    auto r = load_config(opts(Program::Rec, {"--payload=6000", "-o", "/x.log", "cmd", "arg"}));
    assert_true(r.config.latency == 3);                          // system file
    assert_true(r.config.log_input);                             // system file, nested, kept by later layers
    assert_string_equal(r.config.limit_action.c_str(), "drop");  // env file
    assert_string_equal(r.config.writer.c_str(), "syslog");      // env text
    assert_int_equal(r.config.payload, 6000);                    // command line wins
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
    // One trailing comma is tlog's syntax (json-c); two are not.
    write_file(g_dir + "/tlog-rec.conf", "{\"latency\": 1,,}");
    expect_error(opts(Program::Rec), {"tlog-rec.conf:1:15", "expected a quoted key"});
    write_file(g_dir + "/tlog-rec.conf", "{\"latency\": NaN}");
    expect_error(opts(Program::Rec), {"tlog-rec.conf:1:13", "NaN and Infinity are not accepted"});
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
    expect_error(opts(Program::Rec, {"--latency"}), {"field '--latency'", "option requires an argument"});
    expect_error(opts(Program::Rec, {"-o"}), {"field '-o'", "option requires an argument"});
}

void test_session_names_and_untrusted_env(void**) {
    write_file(g_dir + "/tlog-rec-session.conf",
               "{\"writer\": \"file\", \"file\": {\"path\": \"/var/log/tlog/s.log\"}}");
    g_env["TLOG_REC_SESSION_CONF_TEXT"] =
        "{\"log\": {\"output\": false}, \"writer\": \"file\", \"file\": {\"path\": \"/tmp/evil\"}, \"shell\": "
        "\"/bin/zsh\", \"notice\": \"hi\"}";
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
    for (const std::string& hostile :
         {std::string(100000, '[') + std::string(100000, ']'), "{\"notice\": \"" + std::string(2 << 20, 'x') + "\"}",
          std::string("{\"log\": {\"output\": fals}}"), std::string("{\"shell\": \"relative/path\"}")}) {
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
    // Who ran sudo or su ("pam.ruser", the recording's "login" field) is
    // taken only from a proven text: a user cannot name someone else.
    // Nor a recording to hide behind ("pam.nested": not recorded twice).
    g_env["TLOG_REC_CONF_TEXT"] = "{\"pam\": {\"service\": \"sudo\", \"ruser\": \"mallory\", \"nested\": \"0123-4\"}}";
    r = load_config(o);
    assert_true(r.config.pam_service.empty() && r.config.pam_ruser.empty() && r.config.pam_nested.empty());
    o.trust_text = [](const std::string& var, const std::string&) { return var == "TLOG_REC_CONF_TEXT"; };
    r = load_config(o);
    assert_string_equal(r.config.pam_service.c_str(), "sudo");
    assert_string_equal(r.config.pam_ruser.c_str(), "mallory");
    assert_string_equal(r.config.pam_nested.c_str(), "0123-4");
    o.trust_text = nullptr;
    // Trusted (a valid PAM proof): everything is taken.
    g_env["TLOG_REC_SESSION_CONF_TEXT"] = "{\"log\": {\"input\": true}}";
    o.trust_env = true;
    r = load_config(o);
    assert_true(r.config.log_input);
}

// The login shell's command line is the user's (su -- USER --log-output=false).
void test_session_untrusted_command_line(void**) {
    write_file(g_dir + "/tlog-rec-session.conf",
               "{\"writer\": \"file\", \"file\": {\"path\": \"/var/log/tlog/s.log\"}}");
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
    assert_string_equal(r.config.input_secrets.c_str(), "hide");
    assert_true(r.config.output_redact.empty());
    assert_false(r.config.lax);
}

// Debian's tlog 12 conffiles, unmodified (tests/interop/debian-tlog-12/):
// they end objects with "}," and carry comments; both recorders take them as
// the system file and keep every default.
void test_debian_tlog_files(void**) {
    const char* dir = getenv("DEBIAN_TLOG_CONF_DIR");
    assert_non_null(dir);
    for (Program p : {Program::Rec, Program::RecSession}) {
        LoadOptions o = opts(p);
        o.sysconfdir = dir;
        auto r = load_config(o);
        auto d = config_from_json(default_json(p));
        assert_string_equal(r.config.writer.c_str(), d.writer.c_str());
        assert_true(r.config.latency == d.latency);
        assert_true(r.ignored.empty());
    }
    // The same text with a setting in it is read, not just tolerated.
    std::ifstream in(std::string(dir) + "/tlog-rec.conf");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    size_t at = text.find("\"file\": {");
    assert_true(at != std::string::npos);
    text.insert(at + 9, "\"path\": '/var/log/tlog.log',");
    write_file(g_dir + "/tlog-rec.conf", text);
    auto r = load_config(opts(Program::Rec));
    assert_string_equal(r.config.file_path.c_str(), "/var/log/tlog.log");
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
    assert_false(file_transfer_argv("scp a b", all).has_value());           // client, not server side
    assert_false(file_transfer_argv("scp -t /tmp", none).has_value());      // no system scp
    assert_false(file_transfer_argv("/home/u/scp -t x", all).has_value());  // not the system's program
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

bool transfer(const std::string& cmd) {
    return file_transfer_argv(cmd, [](const std::string&) { return true; }).has_value();
}

// The command lines below marked "client:" are what sshd was asked to run by
// these clients (Debian 12: OpenSSH 9.2 scp -O, rsync with -e set to a
// script that printed its arguments), pasted as they were seen.
void test_transfer_scp(void**) {
    const char* accepted[] = {
        "scp -t dst",      // client: scp -O f h:dst
        "scp -r -t dst",   // client: scp -O -r d h:dst
        "scp -p -t dst",   // client: scp -O -p f h:dst
        "scp -v -t dst",   // client: scp -O -v f h:dst
        "scp -d -t dst",   // client: scp -O f g h:dst
        "scp -t .",        // client: scp -O f h:
        "scp -t -- -x",    // client: scp -O f h:-x
        "scp -f src",      // client: scp -O h:src .
        "scp -r -f src",   // client: scp -O -r h:src .
        "scp -r -p -f a",  // client: scp -O -pr h:a .
        "scp -v -r -p -d -t d",
        "/usr/bin/scp -f /etc/hostname",
    };
    for (const char* c : accepted) {
        if (!transfer(c)) fail_msg("refused: %s", c);
    }
    const char* refused[] = {
        "scp -pt d",                              // a client never combines them
        "scp -S /home/u/evil -t d",               // a program to run
        "scp -o ProxyCommand=/home/u/evil -t d",  // configuration
        "scp -F /home/u/cfg -t d",
        "scp -i /home/u/key -t d",
        "scp -P 2222 -t d",
        "scp -J u@h -t d",
        "scp -3 -t d",
        "scp -c aes128-ctr -t d",
        "scp -l 100 -t d",
        "scp -q -t d",
        "scp -T -f x",
        "scp -O -t d",
        "scp -s -t d",
        "scp -t d -S /home/u/evil",
        "scp -r -v -t d",  // not the client's order
        "scp -t a b",      // one path only
        "scp -t",
        "scp -f",
        "scp -t -x",    // a path starting with '-' comes after "--"
        "scp -t -- x",  // and only then
        "scp -t --",
        "scp -t -f x",
        "scp x -t d",
    };
    for (const char* c : refused) {
        if (transfer(c)) fail_msg("accepted: %s", c);
    }
}

void test_transfer_rsync(void**) {
    const char* accepted[] = {
        "rsync --server -vlogDtpre.iLsfxCIvu . dst/",                          // client: rsync -av f h:dst/
        "rsync --server --sender -vlogDtpre.iLsfxCIvu . src/",                 // client: rsync -av h:src/ d
        "rsync --server -vlogDtpre.iLsfxCIvu --delete . dst/",                 // client: rsync -av --delete
        "rsync --server -logDtprze.iLsfxCIvu . dst/",                          // client: rsync -az
        "rsync --server --sender -logDtprze.iLsfxCIvu . src/",                 // client: rsync -az (pull)
        "rsync --server -re.iLsfxCIvu . dst/",                                 // client: rsync -r
        "rsync --server -e.LsfxCIvu . .",                                      // client: rsync f h:
        "rsync --server -e.LsfxCIvu . ./-x",                                   // client: rsync f h:-x
        "rsync --server --sender -logDtpre.iLsfxCIvu . a b",                   // client: rsync -a h:a h:b d
        "rsync --server --sender -vlogDtpre.iLsfxCIvu --list-only . .",        // client: rsync -av --list-only h:
        "rsync --server -de.LsfxCIvu --no-r --delete . x",                     // client: rsync -d --delete f h:x
        "rsync --server -logDtpre.iLsfxCIvu --log-format=X --partial . dst/",  // client: rsync -aP
        "rsync --server -logDtpre.iLsfxCIvu --log-format=%i . dst/",           // client: rsync -ai
        "rsync --server -blogDtpre.iLsfxCIvu --backup-dir bak . dst/",         // client: rsync -a --backup-dir=bak
        "rsync --server -logDtpre.iLsfxCIvu --temp-dir /tmp . dst/",           // client: rsync -a --temp-dir=/tmp
        "rsync --server -logDtpre.iLsfxCIvu --link-dest x . dst/",             // client: rsync -a --link-dest=x
        "rsync --server -logDtpre.iLsfxCIvu --partial-dir .p . dst/",          // client: rsync -a --partial-dir=.p
        "rsync --server -logDtpre.iLsfxCIvu -B1024 . dst/",                    // client: rsync -a --block-size=1024
        "rsync --server -logDtpre.iLsfxCIvu --max-size=1048576 . dst/",        // client: rsync -a --max-size=1M
        "rsync --server -logDtpre.iLsfxCIvu --append --append . dst/",         // client: rsync -a --append-verify
        "rsync --server -logDtpre.iLsfxCIvu --compress-level=3 . dst/",
        "rsync --server -logDtpre.iLsfxCIvu --bwlimit=100 . dst/",
        "rsync --server -logDtpre.iLsfxCIvu --timeout=30 . dst/",
        "rsync --server -logDtpre.iLsfxCIvu --max-delete=5 . dst/",
        "rsync --server -logDtpre.iLsfxCIvu --suffix=.old . dst/",
        "rsync --server -logDtpre.iLsfxCIvu --inplace --write-devices . dst/",
        "rsync --server -logDtpre.iLsfxCIvu --checksum-choice=md5 . dst/",
        "rsync --server -logDtpre.iLsfxCIvu --usermap=a:b . dst/",
        "rsync --server --sender -logDtpRe.LsfxCIvu --files-from=- --from0 . /",  // client: --files-from=f h:/
        "rsync --server -lHogDtpAXre.iLsfxCIvu --numeric-ids --remove-source-files . dst/",
        "rsync --server -logDtpre31.1iLsfxCIvu . dst/",  // a pre-release's protocol "e31.1"
        "exec rsync --server -vlogDtpre.iLsfxCIvu . dst/",
    };
    for (const char* c : accepted) {
        if (!transfer(c)) fail_msg("refused: %s", c);
    }
    const char* refused[] = {
        // rsync daemon over the remote shell with the user's own rsyncd.conf
        // (client: --rsync-path="rsync --config=FILE" h::mod): its
        // pre-xfer exec and the like run what the user wrote
        "rsync --config=/home/u/evil.conf --server --daemon .",
        "rsync --server --daemon .",
        "rsync --server --daemon --config=/home/u/evil.conf .",
        "rsync --server -vlogDtpre.iLsfxCIvu --daemon . dst/",
        "rsync --server -vlogDtpre.iLsfxCIvu --config=/home/u/evil.conf . dst/",
        "rsync --server -M--log-file=/tmp/x . dst/",
        "rsync --server -vlogDtpre.iLsfxCIvu -M--log-file=/tmp/x . dst/",
        "rsync --server -vlogDtpre.iLsfxCIvu --dparam=pre-xfer.exec=/home/u/evil . dst/",
        "rsync --server -vlogDtpr -e /home/u/evil . dst/",
        "rsync --server -e /home/u/evil . dst/",
        "rsync --server -vlogDtpre.iLsfxCIvu --rsh=/home/u/evil . dst/",
        "rsync --server -vlogDtpre.iLsfxCIvu --rsync-path=/home/u/evil . dst/",
        "rsync --server -vlogDtpre.iLsfxCIvu --log-file=/home/u/log . dst/",
        "rsync --server -vlogDtpre.iLsfxCIvu --log-file-format=%f . dst/",
        "rsync --server -vlogDtpre.iLsfxCIvu --write-batch=/home/u/b . dst/",
        "rsync --server -vlogDtpre.iLsfxCIvu --only-write-batch=X . dst/",
        "rsync --server -vlogDtpre.iLsfxCIvu --read-batch=/home/u/b . dst/",
        "rsync --server -vlogDtpre.iLsfxCIvu --early-input=/home/u/in . dst/",
        "rsync --server -vlogDtpre.iLsfxCIvu --copy-as=root . dst/",
        "rsync --server --sender -vlogDtpre.iLsfxCIvu --files-from=/etc/list . /",
        "rsync --server --sender -vlogDtpre.iLsfxCIvu --files-from /etc/list . /",
        "rsync --server -vlogDtpre.iLsfxCIvu --iconv=utf8 . dst/",
        "rsync --server -vlogDtpre.iLsfxCIvu --frobnicate . dst/",
        "rsync --server -vlogDtpre.iLsfxCIvu --log-format=%h . dst/",
        "rsync --server -vlogDtpre.iLsfxCIvu --delete=yes . dst/",
        "rsync --server -vlogDtpre.iLsfxCIvu --timeout=x . dst/",
        "rsync --server -vlogDtpre.iLsfxCIvu --backup-dir --daemon . dst/",
        "rsync --server -vlogDtpre.iLsfxCIvu --backup-dir=bak . dst/",
        "rsync --server -vlogDtpre.iLsfxCIvu -B-1 . dst/",
        // --protect-args: the rest, options included, would come over the connection
        "rsync --server -slogDtpre.iLsfxCIvu",
        "rsync --server -slogDtpre.iLsfxCIvu . dst/",
        // the cluster: only the client's flags, "e" only as protocol information
        "rsync --server -logDtpZre.iLsfxCIvu . dst/",
        "rsync --server -logDtpre . dst/",
        "rsync --server -logDtpre.i/x . dst/",
        "rsync --server - . dst/",
        // the shape: --server first, ".", at least one path, no option after "."
        "rsync --sender --server -vlogDtpre.iLsfxCIvu . src/",
        "rsync -vlogDtpre.iLsfxCIvu --server . dst/",
        "rsync --server -vlogDtpre.iLsfxCIvu .",
        "rsync --server -vlogDtpre.iLsfxCIvu dst/",
        "rsync --server -vlogDtpre.iLsfxCIvu . --daemon",
        "rsync --server -vlogDtpre.iLsfxCIvu . dst/ --config=/home/u/evil.conf",
        "rsync --server --server -vlogDtpre.iLsfxCIvu . dst/",
        "rsync -av f dst/",  // the client side
        "rsync",
    };
    for (const char* c : refused) {
        if (transfer(c)) fail_msg("accepted: %s", c);
    }
}

void test_transfer_sftp_server(void**) {
    const char* accepted[] = {
        "/usr/lib/openssh/sftp-server",  // sshd: Subsystem sftp /usr/lib/openssh/sftp-server (scp, sftp)
        "sftp-server",
        "/usr/libexec/openssh/sftp-server",
        "/usr/lib/openssh/sftp-server -e",
        "/usr/lib/openssh/sftp-server -R",
        "/usr/lib/openssh/sftp-server -l INFO -f AUTHPRIV",
        "/usr/lib/openssh/sftp-server -f local5 -l verbose -e",
        "/usr/lib/openssh/sftp-server -u 022",
        "/usr/lib/openssh/sftp-server -u 0777 -R",
    };
    for (const char* c : accepted) {
        if (!transfer(c)) fail_msg("refused: %s", c);
    }
    const char* refused[] = {
        "/usr/lib/openssh/sftp-server -d /etc",        // start directory
        "/usr/lib/openssh/sftp-server -p open,close",  // request lists
        "/usr/lib/openssh/sftp-server -P remove",
        "/usr/lib/openssh/sftp-server -Q requests",  // a query, not a transfer
        "/usr/lib/openssh/sftp-server -c anything",
        "/usr/lib/openssh/sftp-server -h",
        "/usr/lib/openssh/sftp-server -eR",     // separate words only
        "/usr/lib/openssh/sftp-server -lINFO",  // separate words only
        "/usr/lib/openssh/sftp-server -l BOGUS",
        "/usr/lib/openssh/sftp-server -l",
        "/usr/lib/openssh/sftp-server -f",
        "/usr/lib/openssh/sftp-server -f /dev/log",
        "/usr/lib/openssh/sftp-server -u 999",  // not octal
        "/usr/lib/openssh/sftp-server -u 07777",
        "/usr/lib/openssh/sftp-server -u 1000",  // above 0777
        "/usr/lib/openssh/sftp-server -u",
        "/usr/lib/openssh/sftp-server file",
        "/usr/lib/openssh/sftp-server -- -e",
    };
    for (const char* c : refused) {
        if (transfer(c)) fail_msg("accepted: %s", c);
    }
}

void test_transfer_environment(void**) {
    const std::string long_value(kTransferEnvValueMax + 1, 'x');
    const std::string max_value(kTransferEnvValueMax, 'y');
    const std::string lc_time_long = "LC_TIME=" + long_value, lc_numeric_max = "LC_NUMERIC=" + max_value;
    const char* in[] = {
        "LD_PRELOAD=/nonexistent/evil.so",
        "PATH=/home/u/bin:/usr/bin",
        "HOME=/home/u",
        "LD_LIBRARY_PATH=/home/u/lib",
        "USER=u",
        "LOGNAME=u",
        "SHELL=/usr/bin/tlog-rec-session",
        "RSYNC_RSH=/home/u/evil",
        "RSYNC_CHECKSUM_LIST=none",
        "RSYNC_ICONV=utf8",
        "LANG=C.UTF-8",
        "BASH_ENV=/home/u/evil.sh",
        "ENV=/home/u/evil.sh",
        "LD_AUDIT=/home/u/audit.so",
        "GCONV_PATH=/home/u/gconv",
        "LOCPATH=/home/u/locale",
        "MALLOC_CONF=x",
        "SSH_CONNECTION=127.0.0.1 1 127.0.0.1 22",
        "TLOG_REC_SESSION_NESTED=1",
        "LC_ALL=de_DE.UTF-8",
        "TZ=UTC",
        "HOME=/second/home",  // getenv() sees the first
        "noequals",
        "LC_=x",
        "LC_lower=x",
        "lc_all=x",
        "LC_ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEF=x",  // not a category name: too long
        "LC_IDENTIFICATION=C",
        "PATH=/usr/bin",
        lc_time_long.c_str(),
        lc_numeric_max.c_str(),
        "TZ=:/home/u/second",
        nullptr,
    };
    std::vector<std::string> want = {
        "PATH=/usr/local/bin:/usr/bin:/bin",
        "HOME=/home/u",
        "USER=u",
        "LOGNAME=u",
        "SHELL=/usr/bin/tlog-rec-session",
        "LANG=C.UTF-8",
        "LC_ALL=de_DE.UTF-8",
        "TZ=UTC",
        "LC_IDENTIFICATION=C",
        lc_numeric_max,
    };
    std::vector<std::string> got = transfer_environment(in);
    if (got != want) {
        std::string all;
        for (const auto& e : got) all += e.substr(0, 40) + "\n";
        fail_msg("transfer environment:\n%s", all.c_str());
    }
    // nothing in: PATH only
    got = transfer_environment(nullptr);
    assert_int_equal(got.size(), 1);
    assert_string_equal(got[0].c_str(), "PATH=/usr/local/bin:/usr/bin:/bin");
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
    assert_true(drop.decide(10 * s, 2000).take);  // refill capped at burst
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
    assert_non_null(
        strstr(m.c_str(), "\"sha256\":\"36bbe50ed96841d10443bcb670d6554f0a34b761be67ec9c4a8ad2c0c44ca42c\""));
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

// Hidden input and redaction: defaults, errors naming the key, and that
// untrusted layers can change neither (each direction changes what is kept).
void test_secrets_settings(void**) {
    auto r = load_config(opts(Program::Rec));
    assert_string_equal(r.config.input_secrets.c_str(), "hide");
    assert_true(r.config.output_redact.empty());
    r = load_config(opts(Program::Rec, {"--log-input-secrets=record"}));
    assert_string_equal(r.config.input_secrets.c_str(), "record");
    expect_error(opts(Program::Rec, {"--log-input-secrets=maybe"}), {"log.input_secrets", "\"hide\"", "maybe"});
    write_file(g_dir + "/tlog-rec.conf", "{\"log\": {\"output_redact\": [\"ok\",\n \"a(b\"]}}");
    expect_error(opts(Program::Rec), {"tlog-rec.conf:2", "log.output_redact", "bad pattern \"a(b\""});
    write_file(g_dir + "/tlog-rec.conf", "{\"log\": {\"output_redact\": \"x\"}}");
    expect_error(opts(Program::Rec), {"log.output_redact", "expected an array"});
    write_file(g_dir + "/tlog-rec-session.conf", "{\"log\": {\"input_secrets\": \"record\"}}");
    g_env["TLOG_REC_SESSION_CONF_TEXT"] = "{\"log\": {\"input_secrets\": \"hide\", \"output_redact\": [\"[a-z]+\"]}}";
    LoadOptions o = opts(Program::RecSession, {"-c", "id"});
    o.trust_env = false;
    o.trust_env_file = false;
    r = load_config(o);
    assert_string_equal(r.config.input_secrets.c_str(), "record");
    assert_true(r.config.output_redact.empty());
    assert_int_equal(r.ignored.size(), 2);
    o.trust_env = true;  // a proven rule's settings
    r = load_config(o);
    assert_string_equal(r.config.input_secrets.c_str(), "hide");
    assert_int_equal(r.config.output_redact.size(), 1);
}

void test_redactor(void**) {
    tlog::rec::Redactor none({});
    std::string s = "nothing to do";
    assert_true(none.empty());
    assert_int_equal(none.apply(s), 0);
    tlog::rec::Redactor r({"AKIA[0-9A-Z]{16}", "pw=[^ ]*", "x*"});
    s = std::string("key AKIAABCDEFGHIJKLMNOP and pw=h\xc3\xa9llo end\0AKIAABCDEFGHIJKLMNOQ", 63);
    // 20 + 9 (pw=, h, two bytes of é, llo) + 20 bytes replaced; x* matches
    // the empty string everywhere and replaces nothing.
    assert_int_equal(r.apply(s), 49);
    assert_true(s == std::string("key ******************** and ******** end\0********************", 62));
    s = "no match here";
    assert_int_equal(r.apply(s), 0);
    assert_string_equal(s.c_str(), "no match here");
}

}  // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_layers_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors_name_source_key_expectation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_names_and_untrusted_env, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_untrusted_command_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_configuration_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_example_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_debian_tlog_files, setup, teardown),
        cmocka_unit_test(test_shell_name_form),
        cmocka_unit_test(test_transfer_commands),
        cmocka_unit_test(test_transfer_scp),
        cmocka_unit_test(test_transfer_rsync),
        cmocka_unit_test(test_transfer_sftp_server),
        cmocka_unit_test(test_transfer_environment),
        cmocka_unit_test(test_rate_limiter),
        cmocka_unit_test(test_drop_record),
        cmocka_unit_test(test_conf_proof),
        cmocka_unit_test(test_charset),
        cmocka_unit_test_setup_teardown(test_secrets_settings, setup, teardown),
        cmocka_unit_test(test_redactor),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
