// pam_tlog under pam_wrapper and nss_wrapper (suite unit, no root): the
// module is loaded by libpam from a service file naming it by absolute path,
// users come from nss_wrapper (the login program's view, shell possibly the
// recorder) and from libnss_pamtest (the sources behind nss_tlog: the real
// shell). Run by pam_unit.sh, which sets the preloads and files.
#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <security/pam_appl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "cmocka_cxx.h"

extern "C" {
#include <libpamtest.h>
}

#include "tlog/conf_proof.h"
#include "tlog/integrity.h"
#include "tlog/json.h"
#include "tlog/rec_marker.h"

namespace {

std::string env(const char* n) {
    const char* v = getenv(n);
    return v ? v : "";
}

const std::string kDir = env("PAM_TLOG_TEST_DIR");  // service files, cache, key
const std::string kModule = env("PAM_TLOG_MODULE");
const std::string kRunDir = kDir + "/run";     // rundir= of every service
const std::string kShells = kDir + "/shells";  // shells= of every service
const std::string kRecorder = "/opt/tlog/bin/tlog-rec-session";

struct Result {
    int rc = -1;
    std::map<std::string, std::string> env;
};

enum Op { Open, Close, Acct };

// The module's own entry points, so each test sees pam_tlog's exact return
// code (libpam folds PAM_IGNORE into the stack's result).
using sm_fn = int (*)(pam_handle_t*, int, int, const char**);
sm_fn entry(const char* name) {
    static void* so = dlopen(kModule.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!so) fail_msg("dlopen %s: %s", kModule.c_str(), dlerror());
    return reinterpret_cast<sm_fn>(dlsym(so, name));
}

// The module arguments of a service file's last line (pam_unit.sh wrote them).
std::vector<std::string> service_args(const char* service) {
    std::ifstream f(kDir + "/services/" + service);
    std::string line, last;
    while (std::getline(f, line))
        if (!line.empty()) last = line;
    std::vector<std::string> out;
    size_t i = 0, n = 0;
    while (i < last.size()) {
        size_t j = last.find(' ', i);
        if (j == std::string::npos) j = last.size();
        if (j > i && ++n > 3) out.push_back(last.substr(i, j - i));
        i = j + 1;
    }
    return out;
}

// pam_start (under pam_wrapper) .. the module's entry point .. pam_getenvlist .. pam_end.
Result run(const char* service, const char* user, Op op, const char* tty = "ssh", const char* rhost = "192.0.2.1",
           const char* ruser = nullptr) {
    static const struct pam_conv conv = {nullptr, nullptr};
    pam_handle_t* h = nullptr;
    Result r;
    assert_int_equal(pam_start(service, user, &conv, &h), PAM_SUCCESS);
    if (tty) pam_set_item(h, PAM_TTY, tty);
    if (rhost) pam_set_item(h, PAM_RHOST, rhost);
    if (ruser) pam_set_item(h, PAM_RUSER, ruser);
    std::vector<std::string> args = service_args(service);
    std::vector<const char*> argv;
    for (const auto& a : args) argv.push_back(a.c_str());
    const char* fn = op == Open ? "pam_sm_open_session" : op == Close ? "pam_sm_close_session" : "pam_sm_acct_mgmt";
    r.rc = entry(fn)(h, 0, static_cast<int>(argv.size()), argv.data());
    if (char** l = pam_getenvlist(h)) {
        for (char** p = l; *p; ++p) {
            std::string kv = *p;
            auto eq = kv.find('=');
            r.env[kv.substr(0, eq)] = kv.substr(eq + 1);
            free(*p);
        }
        free(l);
    }
    pam_end(h, r.rc);
    return r;
}

uint32_t my_session() {
    FILE* f = fopen("/proc/self/sessionid", "re");
    unsigned long v = 4294967295ul;
    if (f) {
        if (fscanf(f, "%lu", &v) != 1) v = 4294967295ul;
        fclose(f);
    }
    return static_cast<uint32_t>(v);
}

void check_proof(const Result& r, const char* user) {
    auto key = tlog::integrity::load_key_file(kDir + "/proof.key");
    std::string why;
    assert_true(r.env.count("TLOG_REC_CONF_PROOF"));
    const bool ok = tlog::rec::verify_conf_proof(key, r.env.at("TLOG_REC_CONF_PROOF"), user, my_session(),
                                                 time(nullptr), r.env.at("TLOG_REC_CONF_TEXT"), why);
    if (!ok) fail_msg("proof: %s", why.c_str());
}

// ---- session

void recorded_user_gets_real_shell_settings_and_proof(void**) {
    Result r = run("sshd", "alice", Open);
    assert_int_equal(r.rc, PAM_SUCCESS);
    assert_string_equal(r.env["TLOG_REC_SHELL"].c_str(), "/bin/zsh");  // from the source behind nss_tlog
    auto v = tlog::json::parse(r.env["TLOG_REC_CONF_TEXT"], "conf");
    assert_true(v.find("log") && v.find("log")->find("input") && v.find("log")->find("input")->as_bool());
    const auto* pam = v.find("pam");
    assert_non_null(pam);
    assert_true(pam->find("record")->as_bool());
    assert_true(pam->find("rec") && !pam->find("rec")->as_string().empty());
    check_proof(r, "alice");
}

void non_recorded_user_gets_nothing(void**) {
    Result r = run("sshd", "bob", Open);
    assert_int_equal(r.rc, PAM_IGNORE);
    assert_int_equal(
        r.env.count("TLOG_REC_SHELL") + r.env.count("TLOG_REC_CONF_TEXT") + r.env.count("TLOG_REC_CONF_PROOF"), 0);
}

void excluded_user_not_recorded(void**) {
    Result r = run("sshd", "eve", Open);
    assert_int_equal(r.rc, PAM_IGNORE);
    assert_int_equal(r.env.count("TLOG_REC_CONF_TEXT"), 0);
}

void su_rule_records_su_not_sshd(void**) {
    // carol's NSS shell is the recorder (recorded for su): sshd must tell the
    // recorder, with a proof, that this login is not recorded.
    Result s = run("sshd", "carol", Open);
    assert_int_equal(s.rc, PAM_IGNORE);
    auto v = tlog::json::parse(s.env["TLOG_REC_CONF_TEXT"], "conf");
    assert_false(v.find("pam")->find("record")->as_bool());
    assert_string_equal(s.env["TLOG_REC_SHELL"].c_str(), "/bin/dash");
    check_proof(s, "carol");
    Result u = run("su", "carol", Open, "/dev/pts/3", nullptr);
    assert_int_equal(u.rc, PAM_SUCCESS);
    assert_true(tlog::json::parse(u.env["TLOG_REC_CONF_TEXT"], "c").find("pam")->find("record")->as_bool());
}

void invoking_user_in_proven_text(void**) {
    // su names the invoking user (PAM_RUSER): the recorder gets it, with the
    // service, inside the proven text, for the recording's "login" field.
    Result u = run("su", "carol", Open, "/dev/pts/3", nullptr, "bob");
    assert_int_equal(u.rc, PAM_SUCCESS);
    const auto v = tlog::json::parse(u.env["TLOG_REC_CONF_TEXT"], "c");
    assert_string_equal(v.find("pam")->find("service")->as_string().c_str(), "su");
    assert_string_equal(v.find("pam")->find("ruser")->as_string().c_str(), "bob");
    check_proof(u, "carol");
    // none named (sshd, login): no "ruser"; a forged line break is cleaned
    Result s = run("sshd", "alice", Open);
    assert_null(tlog::json::parse(s.env["TLOG_REC_CONF_TEXT"], "c").find("pam")->find("ruser"));
    Result h = run("su", "carol", Open, "/dev/pts/3", nullptr, "bob\nop=tlog-session-end");
    assert_string_equal(
        tlog::json::parse(h.env["TLOG_REC_CONF_TEXT"], "c").find("pam")->find("ruser")->as_string().c_str(),
        "bob?op=tlog-session-end");
    // bytes that are not UTF-8: the text stays valid JSON and proven
    Result b = run("su", "carol", Open, "/dev/pts/3", nullptr,
                   "b\xff\xc3"
                   "x");
    assert_int_equal(b.rc, PAM_SUCCESS);
    assert_string_equal(
        tlog::json::parse(b.env["TLOG_REC_CONF_TEXT"], "c").find("pam")->find("ruser")->as_string().c_str(),
        "b?"
        "?x");
    check_proof(b, "carol");
    // an absurdly long one is refused like any other hostile item
    const std::string huge(1 << 16, 'r');
    assert_int_equal(run("su", "carol", Open, "/dev/pts/3", nullptr, huge.c_str()).rc, PAM_SESSION_ERR);
    // not recorded: no service or invoking user to hand on
    Result n = run("sshd", "carol", Open, "ssh", nullptr, "bob");
    assert_null(tlog::json::parse(n.env["TLOG_REC_CONF_TEXT"], "c").find("pam")->find("ruser"));
}

void sshd_kind_decided_by_recorder(void**) {
    // gina is recorded for interactive sessions only. sshd's PAM_TTY "ssh"
    // does not say which: the per-kind answers go to the recorder.
    Result r = run("sshd", "gina", Open);
    assert_int_equal(r.rc, PAM_SUCCESS);
    auto v = tlog::json::parse(r.env["TLOG_REC_CONF_TEXT"], "conf");
    const auto* pam = v.find("pam");
    if (!pam || !pam->find("interactive")) fail_msg("no per-kind keys: %s", r.env["TLOG_REC_CONF_TEXT"].c_str());
    assert_true(pam->find("interactive")->as_bool());
    assert_false(pam->find("command")->as_bool());
    assert_false(pam->find("transfer")->as_bool());
    check_proof(r, "gina");
    // a terminal login program (su on a tty) knows the kind: no per-kind keys
    Result t = run("login", "gina", Open, "/dev/tty1", nullptr);
    assert_int_equal(t.rc, PAM_SUCCESS);
    assert_null(tlog::json::parse(t.env["TLOG_REC_CONF_TEXT"], "c").find("pam")->find("command"));
    // su -c without a terminal: a command, not recorded
    assert_int_equal(run("login", "gina", Open, nullptr, nullptr).rc, PAM_IGNORE);
}

void close_session_codes(void**) {
    // recorded: open then close on one handle, through libpam (pam_set_data
    // works only inside libpam's dispatch); twice closed is harmless
    static const struct pam_conv conv = {nullptr, nullptr};
    pam_handle_t* h = nullptr;
    assert_int_equal(pam_start("sshd", "alice", &conv, &h), PAM_SUCCESS);
    assert_int_equal(pam_open_session(h, 0), PAM_SUCCESS);
    assert_non_null(pam_getenv(h, "TLOG_REC_CONF_PROOF"));
    assert_int_equal(pam_close_session(h, 0), PAM_SUCCESS);
    assert_int_equal(pam_close_session(h, 0), PAM_SUCCESS);
    pam_end(h, PAM_SUCCESS);
    // not recorded: close says PAM_IGNORE
    assert_int_equal(run("sshd", "bob", Close).rc, PAM_IGNORE);
    // libpamtest: a whole sequence for a non-recorded user
    struct pam_testcase tests[] = {
        pam_test(PAMTEST_ACCOUNT, PAM_SUCCESS),  // the only module ignores: libpam says success
        pam_test(PAMTEST_OPEN_SESSION, PAM_SUCCESS),
        pam_test(PAMTEST_GETENVLIST, PAM_SUCCESS),
        pam_test(PAMTEST_CLOSE_SESSION, PAM_SUCCESS),
    };
    enum pamtest_err perr = run_pamtest("sshd", "bob", nullptr, tests, nullptr);
    assert_int_equal(perr, PAMTEST_ERR_OK);
    assert_null(tests[2].case_out.envlist[0]);
    pamtest_free_env(tests[2].case_out.envlist);
}

// ---- what close_session reports

// pam_syslog under pam_wrapper goes to pam_wrapper's own log on stderr
// ("PWRAP_...(pid) - SYSLOG(PRIORITY): text") when PAM_WRAPPER_DEBUGLEVEL
// allows it: the log lines of `f`, read back from a file put on fd 2.
std::string captured_log(const std::function<void()>& f) {
    const std::string path = kDir + "/captured.log";
    const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    fflush(stderr);
    const int saved = dup(2);
    dup2(fd, 2);
    close(fd);
    setenv("PAM_WRAPPER_DEBUGLEVEL", "2", 1);
    f();
    unsetenv("PAM_WRAPPER_DEBUGLEVEL");
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// The log line containing `text`, or "" when there is none.
std::string line_with(const std::string& log, const std::string& text) {
    std::istringstream in(log);
    std::string line;
    while (std::getline(in, line))
        if (line.find(text) != std::string::npos) return line;
    return "";
}

void expect_line(const std::string& log, const std::string& text, int priority) {
    const std::string l = line_with(log, text);
    if (l.empty()) fail_msg("no log line with \"%s\" in:\n%s", text.c_str(), log.c_str());
    const std::string prio = "SYSLOG(" + std::to_string(priority) + ")";
    if (l.find(prio) == std::string::npos) fail_msg("not logged at %s: %s", prio.c_str(), l.c_str());
}

std::vector<std::string> markers_left() {
    std::vector<std::string> out;
    DIR* d = opendir(kRunDir.c_str());
    assert_non_null(d);
    while (struct dirent* e = readdir(d))
        if (e->d_name[0] != '.') out.push_back(e->d_name);
    closedir(d);
    return out;
}

// A recorded login through libpam (pam_set_data works only inside libpam's
// dispatch): open_session, then whatever the recorder would have left, then
// close_session; returns the log of the close and the recording id.
struct Closed {
    std::string rec, log;
    int rc = -1;
};
Closed open_and_close(const std::function<void(const std::string& rec)>& recorder) {
    static const struct pam_conv conv = {nullptr, nullptr};
    pam_handle_t* h = nullptr;
    Closed c;
    assert_int_equal(pam_start("sshd", "alice", &conv, &h), PAM_SUCCESS);
    pam_set_item(h, PAM_TTY, "ssh");
    assert_int_equal(pam_open_session(h, 0), PAM_SUCCESS);
    const char* text = pam_getenv(h, "TLOG_REC_CONF_TEXT");
    assert_non_null(text);
    c.rec = tlog::json::parse(text, "conf").find("pam")->find("rec")->as_string();
    assert_false(c.rec.empty());
    recorder(c.rec);
    c.log = captured_log([&] { c.rc = pam_close_session(h, 0); });
    // a second close reports nothing again
    const std::string again = captured_log([&] { assert_int_equal(pam_close_session(h, 0), PAM_SUCCESS); });
    if (!line_with(again, "rec " + c.rec).empty()) fail_msg("reported twice: %s", again.c_str());
    pam_end(h, PAM_SUCCESS);
    return c;
}

void close_without_marker_says_never_started(void**) {
    Closed c = open_and_close([](const std::string&) {});
    assert_int_equal(c.rc, PAM_SUCCESS);
    expect_line(c.log,
                "rec " + c.rec +
                    ": the announced recording never started: the login program did not run "
                    "the recorder (internal-sftp, ForceCommand, a subsystem, or a shell other than the recorder)",
                3);
    assert_true(line_with(c.log, "recorded, ended").empty());
}

void close_reports_each_session(void**) {
    pid_t recorder_pid = getpid();
    Closed c = open_and_close([&](const std::string& rec) {
        using tlog::marker::Marker;
        Marker::claim(kRunDir, rec).set("ended", "exit");
        Marker::claim(kRunDir, rec)
            .set("unrecorded",
                 "the rules record only interactive sessions; this is a "
                 "command session");
        Marker::claim(kRunDir, rec).set("recording", "");
        Marker::claim(kRunDir, rec);  // left at "starting"
        std::ofstream(kRunDir + "/rec." + rec + "-5") << "{\"state\":\"ended\",\"detail\":\"exit\n\x01forged";
        // control characters from a marker never reach the log as such
        Marker::claim(kRunDir, rec).set("unrecorded", "inside recording X\nforged: line");
        Marker::claim(kRunDir, "someone-else");  // another login's marker
    });
    assert_int_equal(c.rc, PAM_SUCCESS);
    expect_line(c.log, "rec " + c.rec + ": recorded, ended (exit)", 6);
    expect_line(c.log,
                "rec " + c.rec +
                    "-2: NOT recorded: the rules record only interactive sessions; this is a "
                    "command session",
                4);
    const std::string pid = std::to_string(recorder_pid);
    expect_line(c.log, "rec " + c.rec + "-3: recording did not end cleanly (state recording, recorder pid " + pid + ")",
                3);
    expect_line(c.log, "rec " + c.rec + "-4: recording did not end cleanly (state starting, recorder pid " + pid + ")",
                3);
    expect_line(c.log, "rec " + c.rec + "-5: the recording marker is unreadable: " + kRunDir + "/rec." + c.rec + "-5",
                3);
    expect_line(c.log, "rec " + c.rec + "-6: NOT recorded: inside recording X?forged: line", 4);
    assert_true(line_with(c.log, "forged: line").find("SYSLOG") != std::string::npos);
    assert_true(line_with(c.log, "never started").empty());
    // reported once each, then removed; another login's marker stays
    assert_true(markers_left() == std::vector<std::string>{"rec.someone-else"});
    unlink((kRunDir + "/rec.someone-else").c_str());
}

void close_reports_past_an_unreadable_marker(void**) {
    Closed c = open_and_close([](const std::string& rec) {
        assert_int_equal(mkdir((kRunDir + "/rec." + rec).c_str(), 0700), 0);
        tlog::marker::Marker::claim(kRunDir, rec).set("ended", "hangup");
        tlog::marker::Marker::claim(kRunDir, rec).set("paused\x1b[2J", "");
    });
    expect_line(c.log, "rec " + c.rec + ": the recording marker is unreadable: " + kRunDir + "/rec." + c.rec, 3);
    expect_line(c.log, "rec " + c.rec + "-2: recorded, ended (hangup)", 6);
    expect_line(c.log, "rec " + c.rec + "-3: the recording marker has the unknown state \"paused?[2J\"", 3);
    // the directory in the marker's place cannot be unlinked; the file after it is gone
    assert_true(markers_left() == std::vector<std::string>{"rec." + c.rec});
    rmdir((kRunDir + "/rec." + c.rec).c_str());
}

// ---- the recorder in /etc/shells

void write_shells(const std::string& text) { std::ofstream(kShells) << text; }

void shells_listing_recorder_denies_su_warns_sshd(void**) {
    write_shells("# /etc/shells: valid login shells\n/bin/sh\n\n/usr/bin/bash\n" + kRecorder + "\n");
    std::string log = captured_log([] {
        assert_int_equal(run("su", "carol", Acct, "/dev/pts/3", nullptr).rc, PAM_PERM_DENIED);
        Result r = run("su", "carol", Open, "/dev/pts/3", nullptr);
        assert_int_equal(r.rc, PAM_SESSION_ERR);
        assert_int_equal(r.env.count("TLOG_REC_CONF_TEXT") + r.env.count("TLOG_REC_SHELL"), 0);
    });
    expect_line(log,
                "account: carol (service su): the recorder " + kRecorder + " is listed in " + kShells + " (line 5)", 3);
    expect_line(
        log, "open_session: carol (service su): the recorder " + kRecorder + " is listed in " + kShells + " (line 5)",
        3);
    assert_true(line_with(log, "account: carol").find("fix: remove-shell " + kRecorder + " [denied]") !=
                std::string::npos);
    // sshd does not run a shell the user names: logged, allowed, recorded
    log = captured_log([] {
        assert_int_equal(run("sshd", "alice", Acct).rc, PAM_SUCCESS);
        Result r = run("sshd", "alice", Open);
        assert_int_equal(r.rc, PAM_SUCCESS);
        assert_true(r.env.count("TLOG_REC_CONF_PROOF"));
    });
    expect_line(log, "open_session: alice (service sshd): the recorder " + kRecorder + " is listed", 3);
    assert_true(line_with(log, "service sshd): the recorder")
                    .find("[allowed: this service does not honour a "
                          "chosen shell]") != std::string::npos);
    assert_true(line_with(log, "account: alice").empty());  // said once per login, at open_session
    // fail=open (the runuser service here): logged, allowed
    log = captured_log([] { assert_int_equal(run("runuser", "alice", Acct, nullptr, nullptr).rc, PAM_SUCCESS); });
    expect_line(log, "account: alice (service runuser): the recorder " + kRecorder + " is listed", 3);
    // an unrecorded user is none of its business
    assert_int_equal(run("su", "bob", Acct, "/dev/pts/3", nullptr).rc, PAM_IGNORE);
    unlink(kShells.c_str());
}

void shells_entry_parsed_like_getusershell(void**) {
    // what su reads is what counts: an entry from the first '/' to blank or '#'
    write_shells("  " + kRecorder + "   # the recorder, by mistake\n");
    assert_int_equal(run("su", "carol", Acct, "/dev/pts/3", nullptr).rc, PAM_PERM_DENIED);
    write_shells("/bin/sh\n" + kRecorder + "#x\n");
    assert_int_equal(run("su", "carol", Acct, "/dev/pts/3", nullptr).rc, PAM_PERM_DENIED);
    unlink(kShells.c_str());
}

void shells_not_listing_recorder_allows_su(void**) {
    // missing file: nothing listed
    assert_int_equal(run("su", "carol", Acct, "/dev/pts/3", nullptr).rc, PAM_SUCCESS);
    // comments, a longer path, a prefix: not the recorder
    write_shells("# " + kRecorder + "\n/bin/sh\n" + kRecorder + "-old\n/opt/tlog/bin\n#" + kRecorder + "\n");
    const std::string log = captured_log([] {
        assert_int_equal(run("su", "carol", Acct, "/dev/pts/3", nullptr).rc, PAM_SUCCESS);
        Result r = run("su", "carol", Open, "/dev/pts/3", nullptr);
        assert_int_equal(r.rc, PAM_SUCCESS);
        assert_true(r.env.count("TLOG_REC_CONF_PROOF"));
    });
    assert_true(line_with(log, "is listed in").empty());
    unlink(kShells.c_str());
}

void shells_uncheckable_fails_closed_for_su(void**) {
    // a symlink is refused (O_NOFOLLOW): pam_tlog cannot tell what su sees
    std::ofstream(kShells + ".real") << "/bin/sh\n";
    assert_int_equal(symlink((kShells + ".real").c_str(), kShells.c_str()), 0);
    const std::string log = captured_log([] {
        assert_int_equal(run("su", "carol", Acct, "/dev/pts/3", nullptr).rc, PAM_PERM_DENIED);
        assert_int_equal(run("sshd", "alice", Open).rc, PAM_SUCCESS);
    });
    expect_line(log, "account: carol (service su): cannot check " + kShells + " for the recorder", 3);
    expect_line(log, "open_session: alice (service sshd): cannot check " + kShells, 3);
    unlink(kShells.c_str());
    unlink((kShells + ".real").c_str());
}

// ---- account

void account_denies_when_nss_does_not_give_recorder(void**) {
    assert_int_equal(run("sshd", "dave", Acct).rc, PAM_PERM_DENIED);
    assert_int_equal(run("sshd", "dave", Open).rc, PAM_SESSION_ERR);
    assert_int_equal(run("sshd", "alice", Acct).rc, PAM_SUCCESS);
    assert_int_equal(run("nocheck", "dave", Acct).rc, PAM_SUCCESS);
}

void account_unknown_user(void**) {
    assert_int_equal(run("sshd", "nosuchuser", Acct).rc, PAM_USER_UNKNOWN);
    assert_int_equal(run("sshd", "nosuchuser", Open).rc, PAM_SESSION_ERR);
}

void libpamtest_account_sequence(void**) {
    struct pam_testcase tests[] = {
        pam_test(PAMTEST_ACCOUNT, PAM_PERM_DENIED),
    };
    assert_int_equal(run_pamtest("sshd", "dave", nullptr, tests, nullptr), PAMTEST_ERR_OK);
}

// ---- failure policy

void missing_cache_fail_closed_and_open(void**) {
    assert_int_equal(run("missing_closed", "alice", Open).rc, PAM_SESSION_ERR);
    assert_int_equal(run("missing_closed", "alice", Acct).rc, PAM_PERM_DENIED);
    Result r = run("missing_open", "alice", Open);
    // fail=open: pam_tlog steps aside; libpam turns "all ignored" into success
    assert_true(r.rc == PAM_SUCCESS || r.rc == PAM_IGNORE);
    assert_int_equal(r.env.count("TLOG_REC_CONF_TEXT"), 0);
}

void corrupt_cache_fails_closed(void**) { assert_int_equal(run("corrupt", "alice", Open).rc, PAM_SESSION_ERR); }

void missing_proof_key_still_records(void**) {
    Result r = run("nokey", "alice", Open);
    assert_int_equal(r.rc, PAM_SUCCESS);
    assert_int_equal(r.env.count("TLOG_REC_CONF_PROOF"), 0);  // recorder falls back to strict config
    assert_string_equal(r.env["TLOG_REC_SHELL"].c_str(), "/bin/zsh");
}

void audit_required_without_kernel_audit_denies(void**) {
    // The test machine's kernel audit is disabled (or we are not root), so
    // audit=required cannot be met; audit=optional records all the same.
    Result r = run("audit_required", "alice", Open);
    assert_int_equal(r.rc, PAM_SESSION_ERR);
    assert_int_equal(r.env.count("TLOG_REC_CONF_TEXT"), 0);
    assert_int_equal(run("audit_optional", "alice", Open).rc, PAM_SUCCESS);
}

// ---- hostile input: nothing may throw across the ABI or crash

void unknown_and_absurd_arguments(void**) {
    assert_int_equal(run("badargs", "alice", Open).rc, PAM_SUCCESS);  // defaults kept, all logged
}

void hostile_items(void**) {
    static const struct pam_conv conv = {nullptr, nullptr};
    // no user at all
    pam_handle_t* h = nullptr;
    assert_int_equal(pam_start("sshd", nullptr, &conv, &h), PAM_SUCCESS);
    assert_int_equal(pam_open_session(h, 0), PAM_SESSION_ERR);
    assert_int_equal(pam_acct_mgmt(h, 0), PAM_USER_UNKNOWN);
    pam_end(h, PAM_SUCCESS);
    // absurd lengths
    const std::string huge(1 << 20, 'u');
    assert_int_equal(run("sshd", huge.c_str(), Open).rc, PAM_SESSION_ERR);
    assert_int_equal(run("sshd", huge.c_str(), Acct).rc, PAM_PERM_DENIED);  // hostile item: denied
    assert_int_equal(run("sshd", "alice", Open, huge.c_str()).rc, PAM_SESSION_ERR);
    assert_int_equal(run("sshd", "alice", Open, "ssh", huge.c_str()).rc, PAM_SESSION_ERR);
    // odd bytes in names and items
    assert_int_equal(run("sshd", "al\nice", Acct).rc, PAM_USER_UNKNOWN);
    assert_int_equal(run("sshd", "alice", Open, "\x01\xff", "\xc3\x28 x=y").rc, PAM_SUCCESS);
    // no PAM_TTY, no PAM_RHOST
    assert_int_equal(run("sshd", "alice", Open, nullptr, nullptr).rc, PAM_SUCCESS);
}

void entry_points_direct(void**) {
    // authenticate/setcred: PAM_IGNORE; a null handle never crashes.
    void* so = dlopen(kModule.c_str(), RTLD_NOW | RTLD_LOCAL);
    assert_non_null(so);
    using fn = int (*)(pam_handle_t*, int, int, const char**);
    auto auth = reinterpret_cast<fn>(dlsym(so, "pam_sm_authenticate"));
    auto cred = reinterpret_cast<fn>(dlsym(so, "pam_sm_setcred"));
    assert_int_equal(auth(nullptr, 0, 0, nullptr), PAM_IGNORE);
    assert_int_equal(cred(nullptr, 0, 0, nullptr), PAM_IGNORE);
    // A null handle (a broken caller) and a null argv: an error code, no crash.
    auto open = reinterpret_cast<fn>(dlsym(so, "pam_sm_open_session"));
    auto close = reinterpret_cast<fn>(dlsym(so, "pam_sm_close_session"));
    auto acct = reinterpret_cast<fn>(dlsym(so, "pam_sm_acct_mgmt"));
    assert_int_equal(open(nullptr, 0, 3, nullptr), PAM_SESSION_ERR);
    assert_int_equal(close(nullptr, 0, 0, nullptr), PAM_IGNORE);
    assert_int_equal(acct(nullptr, 0, 0, nullptr), PAM_USER_UNKNOWN);
    const char* holes[] = {nullptr, "debug", nullptr};
    assert_int_equal(acct(nullptr, 0, 3, holes), PAM_USER_UNKNOWN);
    dlclose(so);
}

void forged_variables_replaced(void**) {
    // Something earlier in the stack (pam_env with user_readenv) set our
    // variables: pam_tlog removes them for unrecorded users, replaces them for recorded ones.
    Result b = run("forge", "bob", Open);
    assert_int_equal(b.env.count("TLOG_REC_CONF_TEXT") + b.env.count("TLOG_REC_SHELL"), 0);
    Result a = run("forge", "alice", Open);
    assert_string_equal(a.env["TLOG_REC_SHELL"].c_str(), "/bin/zsh");
    assert_true(tlog::json::parse(a.env["TLOG_REC_CONF_TEXT"], "c").find("pam")->find("record")->as_bool());
}

}  // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(recorded_user_gets_real_shell_settings_and_proof),
        cmocka_unit_test(non_recorded_user_gets_nothing),
        cmocka_unit_test(excluded_user_not_recorded),
        cmocka_unit_test(su_rule_records_su_not_sshd),
        cmocka_unit_test(invoking_user_in_proven_text),
        cmocka_unit_test(sshd_kind_decided_by_recorder),
        cmocka_unit_test(close_session_codes),
        cmocka_unit_test(close_without_marker_says_never_started),
        cmocka_unit_test(close_reports_each_session),
        cmocka_unit_test(close_reports_past_an_unreadable_marker),
        cmocka_unit_test(shells_listing_recorder_denies_su_warns_sshd),
        cmocka_unit_test(shells_entry_parsed_like_getusershell),
        cmocka_unit_test(shells_not_listing_recorder_allows_su),
        cmocka_unit_test(shells_uncheckable_fails_closed_for_su),
        cmocka_unit_test(account_denies_when_nss_does_not_give_recorder),
        cmocka_unit_test(account_unknown_user),
        cmocka_unit_test(libpamtest_account_sequence),
        cmocka_unit_test(missing_cache_fail_closed_and_open),
        cmocka_unit_test(corrupt_cache_fails_closed),
        cmocka_unit_test(missing_proof_key_still_records),
        cmocka_unit_test(audit_required_without_kernel_audit_denies),
        cmocka_unit_test(unknown_and_absurd_arguments),
        cmocka_unit_test(hostile_items),
        cmocka_unit_test(entry_points_direct),
        cmocka_unit_test(forged_variables_replaced),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
