// getpwnam/getpwuid latency with nss_tlog in the chain vs without it, for a
// recorded and a non-recorded user, with 10,000 users and 1,000 rules.
// Run as root (bench/policy/README.md): the program enters a private mount
// namespace and bind-mounts generated /etc/passwd, /etc/group and
// /var/lib/extrausers, so the host's files are never touched. Lookups go
// through glibc with __nss_configure_lookup, side by side in one run:
//   "files"            vs "tlog files"            (local users, tlog first)
//   "files extrausers" vs "files tlog extrausers" (directory users)
// plus the cache decision alone (what nss_tlog adds besides asking the next source).
//
//   LD_LIBRARY_PATH=build/nss_tlog build/bench/policy/bench_nss [USERS] [RULES]
#include <errno.h>
#include <pwd.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "tlog/policy/cache_reader.h"
#include "tlog/policy/cache_writer.h"
#include "tlog/policy/loader.h"

extern "C" int __nss_configure_lookup(const char* db, const char* service_line);

namespace {

using Clock = std::chrono::steady_clock;

void die(const std::string& msg) {
    perror(msg.c_str());
    exit(1);
}

void bind_mount(const std::string& from, const char* to) {
    if (mount(from.c_str(), to, nullptr, MS_BIND, nullptr) != 0) die(std::string("bind ") + to);
}

// Rounds of about 0.1 s, calibrated on the first function.
long calibrate(const std::function<void()>& f) {
    long n = 0;
    auto start = Clock::now();
    while (Clock::now() - start < std::chrono::milliseconds(20)) { f(); ++n; }
    return std::max(10L, n * 5);
}

double round_ns(const std::function<void()>& f, long n) {
    auto t0 = Clock::now();
    for (long i = 0; i < n; ++i) f();
    return std::chrono::duration<double, std::nano>(Clock::now() - t0).count() / n;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

std::string shell_by_name(const char* name) {
    char buf[1024];
    struct passwd pw, *res = nullptr;
    if (getpwnam_r(name, &pw, buf, sizeof buf, &res) != 0 || !res) return "";
    return pw.pw_shell;
}

std::string shell_by_uid(uid_t uid) {
    char buf[1024];
    struct passwd pw, *res = nullptr;
    if (getpwuid_r(uid, &pw, buf, sizeof buf, &res) != 0 || !res) return "";
    return pw.pw_shell;
}

} // namespace

int main(int argc, char** argv) {
    const int nusers = argc > 1 ? atoi(argv[1]) : 10000;
    const int nrules = argc > 2 ? atoi(argv[2]) : 1000;
    if (geteuid() != 0) {
        fprintf(stderr, "bench_nss: run as root (it uses a private mount namespace)\n");
        return 1;
    }
    if (unshare(CLONE_NEWNS) != 0) die("unshare");
    if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) die("mount private");
    char tmpl[] = "/tmp/bench-nss.XXXXXX";
    const std::string dir = mkdtemp(tmpl);

    // 10,000 users (uid 20000+i), 100 groups of 50 members each; half the
    // users in /etc/passwd, all of them also in extrausers for the directory order.
    const uid_t base = 20000;
    {
        std::ifstream in("/etc/passwd");
        std::ofstream pw(dir + "/passwd"), ex(dir + "/expasswd");
        pw << in.rdbuf();
        std::system(("cp /etc/passwd " + dir + "/passwd.base").c_str());
        for (int i = 0; i < nusers; ++i) {
            const std::string line = "u" + std::to_string(i) + ":x:" + std::to_string(base + i) + ":" +
                                     std::to_string(base + i) + ":User " + std::to_string(i) + ":/home/u" +
                                     std::to_string(i) + ":/bin/bash\n";
            pw << line;
            ex << line;
        }
        std::ifstream gin("/etc/group");
        std::ofstream gr(dir + "/group"), exg(dir + "/exgroup");
        gr << gin.rdbuf();
        for (int g = 0; g < 100; ++g) {
            std::string line = "g" + std::to_string(g) + ":x:" + std::to_string(60000 + g) + ":";
            for (int m = 0; m < 50; ++m) line += (m ? "," : "") + ("u" + std::to_string((g * 97 + m * 13) % nusers));
            gr << line << "\n";
            exg << line << "\n";
        }
    }
    bind_mount(dir + "/passwd", "/etc/passwd");
    bind_mount(dir + "/group", "/etc/group");
    if (mount("tmpfs", "/var/lib", "tmpfs", 0, nullptr) != 0) die("tmpfs /var/lib");
    mkdir("/var/lib/extrausers", 0755);
    std::system(("cp " + dir + "/expasswd /var/lib/extrausers/passwd && cp " + dir +
                 "/exgroup /var/lib/extrausers/group").c_str());

    // 1,000 rules over users, uid ranges, groups and services. The middle user
    // u5000 is recorded by an explicit rule near the end; u5001 is not recorded.
    std::string rules = "recorder: /usr/bin/tlog-rec-session\nrules:\n";
    for (int r = 0; r < nrules - 1; ++r) {
        rules += "  - name: r" + std::to_string(r) + "\n    action: " + (r % 4 == 3 ? "exclude" : "record") + "\n";
        switch (r % 4) {
        case 0: rules += "    users: [u" + std::to_string((r * 7919) % nusers) + ", u" + std::to_string((r * 104729) % nusers) + "]\n"; break;
        case 1: rules += "    uids: [" + std::to_string(base + 9000 + r) + "-" + std::to_string(base + 9000 + r) + "]\n"; break;
        case 2: rules += "    groups: [g" + std::to_string(r % 100) + "]\n    services: [s" + std::to_string(r % 10) + "]\n"; break;
        default: rules += "    users: [u" + std::to_string((r * 31) % nusers) + "]\n    sessions: [transfer]\n";
        }
    }
    rules += "  - {name: the-recorded-one, action: record, users: [u" + std::to_string(nusers / 2) + "]}\n";
    const std::string rec_name = "u" + std::to_string(nusers / 2);
    std::string plain_name = "u" + std::to_string(nusers / 2 + 1);
    auto policy = tlog::policy::load_policy_text(rules, "bench.yaml");
    auto compiled = tlog::policy::compile_cache(policy, "benchhost", "/usr/bin/tlog-rec-session",
                                                tlog::policy::lookup_group, 0);
    const std::string cache = dir + "/policy.cache";
    tlog::policy::write_atomically(cache, compiled.bytes);
    setenv("TLOG_POLICY_CACHE", cache.c_str(), 1);
    std::ofstream(dir + "/nsswitch.tlog-files") << "passwd: tlog files\n";
    std::ofstream(dir + "/nsswitch.files-tlog") << "passwd: files tlog extrausers\n";

    tlog::policy::cache::Mapping m;
    if (const char* err = tlog::policy::cache::map_file(cache.c_str(), &m)) { fprintf(stderr, "%s\n", err); return 1; }
    if (m.view.recorded(plain_name.c_str(), base + nusers / 2 + 1, base + nusers / 2 + 1)) {
        fprintf(stderr, "bench: %s unexpectedly recorded\n", plain_name.c_str());
        return 1;
    }
    const uid_t rec_uid = base + nusers / 2, plain_uid = rec_uid + 1;
    printf("nss_tlog benchmark: %d users, %d rules (%u compiled, %zu KiB cache), users at line ~%d\n", nusers, nrules,
           m.view.rule_count(), m.size / 1024, nusers / 2);
    volatile bool sink = false;
    std::function<void()> d1 = [&] { sink = m.view.recorded(rec_name.c_str(), rec_uid, rec_uid); };
    std::function<void()> d2 = [&] { sink = m.view.recorded(plain_name.c_str(), plain_uid, plain_uid); };
    const long dn = calibrate(d1);
    std::vector<double> r1, r2;
    for (int r = 0; r < 7; ++r) { r1.push_back(round_ns(d1, dn)); r2.push_back(round_ns(d2, dn)); }
    const double decide_rec = median(r1), decide_plain = median(r2);
    (void)sink;
    printf("cache decision alone: recorded %.0f ns, not recorded %.0f ns\n\n", decide_rec, decide_plain);

    // The same rules with `nss: {unrecorded: answer}`.
    const std::string cache_answer = dir + "/policy-answer.cache";
    {
        auto p2 = tlog::policy::load_policy_text("nss: {unrecorded: answer}\n" + rules, "bench.yaml");
        auto c2 = tlog::policy::compile_cache(p2, "benchhost", "/usr/bin/tlog-rec-session", tlog::policy::lookup_group, 0);
        tlog::policy::write_atomically(cache_answer, c2.bytes);
    }
    struct Order {
        const char* label;
        const char* without;
        const char* with;
        const char* nsswitch;   // what nss_tlog reads for its next sources
        const std::string* cache;
        bool directory;         // test users only in extrausers
    };
    const Order orders[] = {
        {"tlog files", "files", "tlog files", "nsswitch.tlog-files", &cache, false},
        {"tlog files, unrecorded: answer", "files", "tlog files", "nsswitch.tlog-files", &cache_answer, false},
        {"files tlog extrausers", "files extrausers", "files tlog extrausers", "nsswitch.files-tlog", &cache, true},
    };
    printf("%-32s %-12s %-8s %12s %12s %8s %12s\n", "order (with tlog)", "user", "lookup", "without", "with tlog",
           "ratio", "added");
    fflush(stdout);
    for (const Order& o : orders) {
        // nss_tlog reads its settings once per process: each order runs in a
        // child of its own (the parent makes no passwd lookups).
        const pid_t pid = fork();
        if (pid < 0) die("fork");
        if (pid > 0) {
            int st = 0;
            waitpid(pid, &st, 0);
            if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) return 1;
            continue;
        }
        if (o.directory) bind_mount(dir + "/passwd.base", "/etc/passwd");
        setenv("TLOG_NSS_NSSWITCH", (dir + "/" + o.nsswitch).c_str(), 1);
        setenv("TLOG_POLICY_CACHE", o.cache->c_str(), 1);
        for (int kind = 0; kind < 2; ++kind) {
            const std::string& name = kind == 0 ? rec_name : plain_name;
            const uid_t uid = kind == 0 ? rec_uid : plain_uid;
            __nss_configure_lookup("passwd", o.with);
            const std::string s1 = shell_by_name(name.c_str()), s2 = shell_by_uid(uid);
            const bool ok = kind == 0 ? (s1 == "/usr/bin/tlog-rec-session" && s2 == s1) : (s1 == "/bin/bash" && s2 == s1);
            if (!ok) { fprintf(stderr, "bench: wrong answer for %s: '%s' '%s'\n", name.c_str(), s1.c_str(), s2.c_str()); _exit(1); }
            for (int by_uid = 0; by_uid < 2; ++by_uid) {
                std::function<void()> call = [&] { if (by_uid) shell_by_uid(uid); else shell_by_name(name.c_str()); };
                // Alternate without / with so that load from other processes hits both alike.
                __nss_configure_lookup("passwd", o.without);
                const long n = calibrate(call);
                std::vector<double> t0, t1;
                for (int r = 0; r < 7; ++r) {
                    __nss_configure_lookup("passwd", o.without);
                    t0.push_back(round_ns(call, n));
                    __nss_configure_lookup("passwd", o.with);
                    t1.push_back(round_ns(call, n));
                }
                const double a = median(t0), b = median(t1);
                printf("%-32s %-12s %-8s %9.2f us %9.2f us %7.2fx %9.2f us\n", o.label,
                       kind == 0 ? "recorded" : "not recorded", by_uid ? "getpwuid" : "getpwnam", a / 1000, b / 1000,
                       b / a, (b - a) / 1000);
                fflush(stdout);
            }
        }
        _exit(0);
    }
    tlog::policy::cache::unmap(&m);
    umount("/var/lib");
    umount("/etc/group");
    umount("/etc/passwd");
    std::system(("rm -rf " + dir).c_str());
    return 0;
}
