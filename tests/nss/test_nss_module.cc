// libnss_tlog.so.2 loaded by glibc itself, in the "tlog files" order set with
// __nss_configure_lookup (no root needed): answers, the ERANGE contract,
// enumeration, reloading a new cache, keeping the last good one, and the
// passwd-line parser that keeps the module from calling itself.
#include <dlfcn.h>
#include <errno.h>
#include <nss.h>
#include <pwd.h>
#include <string.h>

#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cmocka_cxx.h"
#include "next_sources.h"
#include "nss_test_env.h"

namespace {

NssTestEnv* g_env;

const char kRules[] =
    "rules:\n"
    "  - {name: rec-daemon, action: record, users: [daemon]}\n"
    "  - {name: rec-man-group, action: record, groups: [man]}\n"  // user man: primary group man
    "  - {name: rec-uid-3, action: record, uids: [3]}\n"          // sys
    "  - {name: no-root, action: exclude, priority: 5, users: [root]}\n";

struct Entry {
    std::string name, passwd, gecos, dir, shell;
    uid_t uid;
    gid_t gid;
};

bool get(const char* line, const char* name, Entry* e) {
    __nss_configure_lookup("passwd", line);
    struct passwd pw, *res = nullptr;
    char buf[4096];
    if (getpwnam_r(name, &pw, buf, sizeof buf, &res) != 0 || !res) return false;
    *e = Entry{pw.pw_name, pw.pw_passwd, pw.pw_gecos, pw.pw_dir, pw.pw_shell, pw.pw_uid, pw.pw_gid};
    return true;
}

void test_recorded_and_not(void**) {
    struct Case {
        const char* name;
        bool recorded;
    };
    for (const Case& c : {Case{"daemon", true}, Case{"man", true}, Case{"sys", true}, Case{"bin", false},
                          Case{"root", false}, Case{"nobody", false}}) {
        Entry plain, ours;
        assert_true(get("files", c.name, &plain));
        if (!get("tlog files", c.name, &ours)) fail_msg("%s not found with tlog", c.name);
        assert_string_equal(ours.name.c_str(), plain.name.c_str());
        assert_int_equal(ours.uid, plain.uid);
        assert_int_equal(ours.gid, plain.gid);
        assert_string_equal(ours.dir.c_str(), plain.dir.c_str());
        assert_string_equal(ours.gecos.c_str(), plain.gecos.c_str());
        assert_string_equal(ours.passwd.c_str(), plain.passwd.c_str());
        if (ours.shell != (c.recorded ? std::string(NssTestEnv::kRecorder) : plain.shell))
            fail_msg("%s: shell %s", c.name, ours.shell.c_str());
    }
    Entry e;
    errno = 0;
    assert_false(get("tlog files", "no-such-user-here", &e));
}

void test_by_uid(void**) {
    __nss_configure_lookup("passwd", "tlog files");
    struct passwd* pw = getpwuid(1);
    assert_non_null(pw);
    assert_string_equal(pw->pw_name, "daemon");
    assert_string_equal(pw->pw_shell, NssTestEnv::kRecorder);
    pw = getpwuid(2);
    assert_non_null(pw);
    assert_string_not_equal(pw->pw_shell, NssTestEnv::kRecorder);
    assert_null(getpwuid(4000000));
}

// getpwnam_r must answer ERANGE for every too-small buffer and never write
// past the end, then succeed once the buffer is big enough.
void test_erange_contract(void**) {
    __nss_configure_lookup("passwd", "tlog files");
    bool succeeded = false;
    for (size_t size = 1; size < 512 && !succeeded; ++size) {
        std::vector<char> buf(size + 64, '\x5a');
        struct passwd pw, *res = nullptr;
        const int rc = getpwnam_r("daemon", &pw, buf.data(), size, &res);
        for (size_t i = size; i < buf.size(); ++i)
            if (buf[i] != '\x5a') fail_msg("size %zu: byte %zu written", size, i);
        if (rc == ERANGE) {
            assert_null(res);
            continue;
        }
        assert_int_equal(rc, 0);
        assert_non_null(res);
        assert_string_equal(pw.pw_shell, NssTestEnv::kRecorder);
        succeeded = true;
    }
    assert_true(succeeded);

    // The module itself: NSS_STATUS_TRYAGAIN with *errnop = ERANGE.
    void* h = dlopen("libnss_tlog.so.2", RTLD_NOW | RTLD_NOLOAD);
    assert_non_null(h);
    using fn = enum nss_status (*)(const char*, struct passwd*, char*, size_t, int*);
    auto f = reinterpret_cast<fn>(dlsym(h, "_nss_tlog_getpwnam_r"));
    assert_non_null(f);
    char small[8];
    struct passwd pw;
    int err = 0;
    assert_int_equal(f("daemon", &pw, small, sizeof small, &err), NSS_STATUS_TRYAGAIN);
    assert_int_equal(err, ERANGE);
    char big[2048];
    err = 0;
    assert_int_equal(f("bin", &pw, big, sizeof big, &err), NSS_STATUS_NOTFOUND);  // not recorded: glibc goes on
    assert_int_equal(f("no-such-user-here", &pw, big, sizeof big, &err), NSS_STATUS_NOTFOUND);
    assert_int_equal(f("daemon", &pw, big, sizeof big, &err), NSS_STATUS_SUCCESS);
    assert_ptr_equal(pw.pw_shell, big);  // the recorder path lives in the caller's buffer
    dlclose(h);
}

void test_enumeration(void**) {
    __nss_configure_lookup("passwd", "tlog files");
    std::vector<std::string> recorded_first;
    std::set<std::string> seen_recorder;
    size_t total = 0;
    setpwent();
    bool in_tlog_part = true;
    while (struct passwd* pw = getpwent()) {
        ++total;
        const bool rec = std::string(pw->pw_shell) == NssTestEnv::kRecorder;
        if (rec && !in_tlog_part) fail_msg("recorder shell after the tlog part: %s", pw->pw_name);
        if (!rec) in_tlog_part = false;
        if (rec && !seen_recorder.insert(pw->pw_name).second) fail_msg("%s listed twice by tlog", pw->pw_name);
    }
    endpwent();
    // nss_tlog lists the recorded users (with the recorder), then files lists everyone.
    assert_true(seen_recorder == (std::set<std::string>{"daemon", "man", "sys"}));
    assert_true(total > seen_recorder.size());
    // A second pass gives the same (state was reset).
    setpwent();
    size_t again = 0;
    while (getpwent()) ++again;
    endpwent();
    assert_int_equal(again, total);

    // Lookups by name and uid in the middle of an enumeration (a common
    // pattern: "for each user, look up ...") neither deadlock nor disturb it.
    setpwent();
    size_t third = 0;
    while (struct passwd* pw = getpwent()) {
        ++third;
        const std::string name = pw->pw_name;
        const uid_t uid = pw->pw_uid;
        char buf[1024];
        struct passwd p2, *res = nullptr;
        assert_int_equal(getpwnam_r(name.c_str(), &p2, buf, sizeof buf, &res), 0);
        assert_non_null(res);
        assert_int_equal(getpwuid_r(uid, &p2, buf, sizeof buf, &res), 0);
        assert_non_null(res);
    }
    endpwent();
    assert_int_equal(third, total);
}

void test_reload_and_last_good(void**) {
    __nss_configure_lookup("passwd", "tlog files");
    g_env->compile("rules:\n  - {name: rec-bin, action: record, users: [bin]}\n");
    usleep(1200000);  // the module looks for a new cache at most once a second
    struct passwd* pw = getpwnam("bin");
    assert_non_null(pw);
    assert_string_equal(pw->pw_shell, NssTestEnv::kRecorder);
    pw = getpwnam("daemon");
    assert_non_null(pw);
    assert_string_not_equal(pw->pw_shell, NssTestEnv::kRecorder);

    // A damaged file renamed into place: the last good cache stays in force.
    std::string junk = g_env->dir + "/junk";
    { std::ofstream(junk) << "TLOGPOL garbage"; }
    assert_int_equal(rename(junk.c_str(), g_env->cache.c_str()), 0);
    usleep(1200000);
    pw = getpwnam("bin");
    assert_non_null(pw);
    assert_string_equal(pw->pw_shell, NssTestEnv::kRecorder);
    // And a vanished file too.
    unlink(g_env->cache.c_str());
    usleep(1200000);
    pw = getpwnam("bin");
    assert_non_null(pw);
    assert_string_equal(pw->pw_shell, NssTestEnv::kRecorder);
    g_env->compile(kRules);
    usleep(1200000);
}

// nss: {unrecorded: answer}: the next source's entry unchanged instead of
// NOTFOUND (one lookup instead of two); enumeration still lists recorded users only.
void test_answer_unrecorded(void**) {
    g_env->compile(std::string("nss: {unrecorded: answer}\n") + kRules);
    usleep(1200000);
    void* h = dlopen("libnss_tlog.so.2", RTLD_NOW | RTLD_NOLOAD);
    assert_non_null(h);
    using fn = enum nss_status (*)(const char*, struct passwd*, char*, size_t, int*);
    auto f = reinterpret_cast<fn>(dlsym(h, "_nss_tlog_getpwnam_r"));
    char buf[2048];
    struct passwd pw;
    int err = 0;
    Entry plain;
    assert_true(get("files", "bin", &plain));
    assert_int_equal(f("bin", &pw, buf, sizeof buf, &err), NSS_STATUS_SUCCESS);
    assert_string_equal(pw.pw_shell, plain.shell.c_str());
    assert_int_equal(f("daemon", &pw, buf, sizeof buf, &err), NSS_STATUS_SUCCESS);
    assert_string_equal(pw.pw_shell, NssTestEnv::kRecorder);
    assert_int_equal(f("no-such-user-here", &pw, buf, sizeof buf, &err), NSS_STATUS_NOTFOUND);
    char small[8];
    assert_int_equal(f("bin", &pw, small, sizeof small, &err), NSS_STATUS_TRYAGAIN);
    assert_int_equal(err, ERANGE);
    dlclose(h);
    __nss_configure_lookup("passwd", "tlog files");
    setpwent();
    std::set<std::string> listed_with_recorder;
    size_t before_files = 0;
    while (struct passwd* p = getpwent()) {
        if (std::string(p->pw_shell) != NssTestEnv::kRecorder) break;
        ++before_files;
    }
    endpwent();
    assert_int_equal(before_files, 3);  // daemon, man, sys: tlog's part still lists recorded users only
    g_env->compile(kRules);
    usleep(1200000);
}

void test_passwd_line_parser(void**) {
    struct Case {
        const char* line;
        std::vector<std::string> want;
    };
    const Case cases[] = {
        {" files tlog sss", {"sss"}},
        {" tlog files sss\n", {"files", "sss"}},
        {"\ttlog [UNAVAIL=return] files", {"files"}},
        {" tlog [ NOTFOUND = continue ] files [SUCCESS=return] systemd", {"files", "systemd"}},
        {" files sss", {"files", "sss"}},      // not listed: all sources (nss_wrapper)
        {" tlog tlog files tlog", {"files"}},  // never itself
        {" tlog", {}},
        {" files tlog # sss", {}},
        {" files tlog ../evil bad/name x", {"x"}},  // names that cannot be a library are dropped
        {" tlog a b c d e f g h i j", {"a", "b", "c", "d", "e", "f", "g", "h"}},
    };
    for (const auto& c : cases) {
        char names[nss_tlog::kMaxSources][32];
        const int n = nss_tlog::parse_passwd_line(c.line, names);
        std::vector<std::string> got(names, names + n);
        if (got != c.want) fail_msg("'%s': got %d names", c.line, n);
    }
}

}  // namespace

int main() {
    NssTestEnv env;
    g_env = &env;
    env.compile(kRules);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_recorded_and_not),     cmocka_unit_test(test_by_uid),
        cmocka_unit_test(test_erange_contract),      cmocka_unit_test(test_enumeration),
        cmocka_unit_test(test_reload_and_last_good), cmocka_unit_test(test_answer_unrecorded),
        cmocka_unit_test(test_passwd_line_parser),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
