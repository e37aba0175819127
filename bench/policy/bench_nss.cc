// getpwnam/getpwuid latency with nss_tlog in the chain vs without it, for a
// recorded and a non-recorded user, with 10,000 users and 1,000 rules.
// Run as root (README.md): the program enters a private mount namespace and
// bind-mounts generated /etc/passwd, /etc/group and a tmpfs /var/lib (for
// libnss-extrausers), so the host's files are never touched. Lookups go
// through glibc with __nss_configure_lookup, without and with tlog, side by
// side (alternating rounds, medians) in one run:
//   files            vs tlog files              mixed rules (users, uids, groups, services)
//   files            vs tlog files              same rules, nss: {unrecorded: answer}
//   files            vs tlog files              1,000 rules naming users only
//   files extrausers vs files tlog extrausers   mixed rules, directory users
// for users near the top of the 10,000-line files (a cheap next-source
// lookup, so nss_tlog's own cost shows) and in the middle (~line 5000).
// Also printed: the cache decision alone.
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
constexpr uid_t kBase = 20000;
const char kRecorder[] = "/usr/bin/tlog-rec-session";

void die(const std::string& msg) {
    perror(msg.c_str());
    exit(1);
}

void bind_mount(const std::string& from, const char* to) {
    if (mount(from.c_str(), to, nullptr, MS_BIND, nullptr) != 0) die(std::string("bind ") + to);
}

long calibrate(const std::function<void()>& f) {  // calls per ~0.1 s round
    long n = 0;
    auto start = Clock::now();
    while (Clock::now() - start < std::chrono::milliseconds(20)) {
        f();
        ++n;
    }
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

std::string user(int i) { return "u" + std::to_string(i); }

void compile(const std::string& rules, const std::string& path) {
    auto p = tlog::policy::load_policy_text(rules, "bench.yaml");
    auto c = tlog::policy::compile_cache(p, "benchhost", kRecorder, tlog::policy::lookup_group, 0);
    tlog::policy::write_atomically(path, c.bytes);
}

struct Probe {
    const char* where;
    bool recorded;
    int index;  // user index
};

}  // namespace

int main(int argc, char** argv) {
    const int nusers = argc > 1 ? atoi(argv[1]) : 10000;
    const int nrules = argc > 2 ? atoi(argv[2]) : 1000;
    if (geteuid() != 0) {
        fprintf(stderr, "bench_nss: run as root (it uses a private mount namespace)\n");
        return 1;
    }
    if (nusers < 200 || nrules < 2) {
        fprintf(stderr, "bench_nss: at least 200 users and 2 rules\n");
        return 1;
    }
    if (unshare(CLONE_NEWNS) != 0) die("unshare");
    if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) die("mount private");
    char tmpl[] = "/tmp/bench-nss.XXXXXX";
    const std::string dir = mkdtemp(tmpl);

    // Users u0..u9999 (uid 20000+i, own primary group), 100 groups of 50 members.
    {
        std::ifstream in("/etc/passwd");
        std::ofstream base(dir + "/passwd.base");
        base << in.rdbuf();
    }
    {
        std::ifstream in(dir + "/passwd.base");
        std::ofstream pw(dir + "/passwd"), ex(dir + "/expasswd");
        pw << in.rdbuf();
        for (int i = 0; i < nusers; ++i) {
            const std::string line = user(i) + ":x:" + std::to_string(kBase + i) + ":" + std::to_string(kBase + i) +
                                     ":User " + std::to_string(i) + ":/home/" + user(i) + ":/bin/bash\n";
            pw << line;
            ex << line;
        }
        std::ifstream gin("/etc/group");
        std::ofstream gr(dir + "/group"), exg(dir + "/exgroup");
        gr << gin.rdbuf();
        for (int g = 0; g < 100; ++g) {
            std::string line = "g" + std::to_string(g) + ":x:" + std::to_string(60000 + g) + ":";
            for (int m = 0; m < 50; ++m) line += (m ? "," : "") + user((g * 97 + m * 13) % nusers);
            gr << line << "\n";
            exg << line << "\n";
        }
    }
    bind_mount(dir + "/passwd", "/etc/passwd");
    bind_mount(dir + "/group", "/etc/group");
    if (mount("tmpfs", "/var/lib", "tmpfs", 0, nullptr) != 0) die("tmpfs /var/lib");
    mkdir("/var/lib/extrausers", 0755);
    if (std::system(
            ("cp " + dir + "/expasswd /var/lib/extrausers/passwd && cp " + dir + "/exgroup /var/lib/extrausers/group")
                .c_str()) != 0)
        die("extrausers");

    // The probes: a recorded and a non-recorded user near the top of the
    // user list and in the middle. Recorded ones are named by a final rule of
    // high priority; non-recorded ones are never named by a rule.
    const int mid = nusers / 2;
    std::vector<Probe> probes = {
        {"top", true, 2}, {"top", false, 3}, {"middle", true, mid}, {"middle", false, mid + 1}};
    auto avoid = [&](int i) { return i == 3 || i == mid + 1 ? 0 : i; };

    // 1,000 mixed rules over users, uids, groups with services, session kinds.
    std::string mixed = std::string("recorder: ") + kRecorder + "\nrules:\n";
    for (int r = 0; r < nrules - 1; ++r) {
        mixed += "  - name: r" + std::to_string(r) + "\n    action: " + (r % 4 == 3 ? "exclude" : "record") + "\n";
        switch (r % 4) {
            case 0:
                mixed += "    users: [" + user(avoid((r * 7919) % nusers)) + ", " + user(avoid((r * 104729) % nusers)) +
                         "]\n";
                break;
            case 1: mixed += "    uids: [" + std::to_string(kBase + 9000 + r % 900) + "]\n"; break;
            case 2:
                mixed +=
                    "    groups: [g" + std::to_string(r % 100) + "]\n    services: [s" + std::to_string(r % 10) + "]\n";
                break;
            default: mixed += "    users: [" + user(avoid((r * 31) % nusers)) + "]\n    sessions: [transfer]\n";
        }
    }
    const std::string recorded_rule =
        "  - {name: the-recorded, action: record, priority: 1000, users: [u2, " + user(mid) + "]}\n";
    mixed += recorded_rule;
    // 1,000 rules naming users only.
    std::string names = std::string("recorder: ") + kRecorder + "\nrules:\n";
    for (int r = 0; r < nrules - 1; ++r)
        names += "  - {name: n" + std::to_string(r) + ", action: " + (r % 4 == 3 ? "exclude" : "record") +
                 ", users: [" + user(avoid((r * 7919) % nusers)) + ", " + user(avoid((r * 104729) % nusers)) + "]}\n";
    names += recorded_rule;

    const std::string cache_mixed = dir + "/mixed.cache", cache_answer = dir + "/answer.cache",
                      cache_names = dir + "/names.cache";
    compile(mixed, cache_mixed);
    compile("nss: {unrecorded: answer}\n" + mixed, cache_answer);
    compile(names, cache_names);
    std::ofstream(dir + "/nsswitch.tlog-files") << "passwd: tlog files\n";
    std::ofstream(dir + "/nsswitch.files-tlog") << "passwd: files tlog extrausers\n";

    // Probes that a group rule happens to record are replaced by a neighbour.
    tlog::policy::cache::Mapping m;
    if (const char* err = tlog::policy::cache::map_file(cache_mixed.c_str(), &m)) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    for (auto& p : probes) {
        while (!p.recorded && m.view.recorded(user(p.index).c_str(), kBase + p.index, kBase + p.index)) p.index += 2;
    }
    printf("nss_tlog benchmark: %d users, %d rules (%u KiB cache); probes: u%d/u%d (top), u%d/u%d (middle)\n", nusers,
           nrules, static_cast<unsigned>(m.size / 1024), probes[0].index, probes[1].index, probes[2].index,
           probes[3].index);
    {
        volatile bool sink = false;
        std::vector<double> r1, r2;
        const std::string a = user(probes[2].index), b = user(probes[3].index);
        std::function<void()> d1 = [&] {
            sink = m.view.recorded(a.c_str(), kBase + probes[2].index, kBase + probes[2].index);
        };
        std::function<void()> d2 = [&] {
            sink = m.view.recorded(b.c_str(), kBase + probes[3].index, kBase + probes[3].index);
        };
        const long dn = calibrate(d1);
        for (int r = 0; r < 7; ++r) {
            r1.push_back(round_ns(d1, dn));
            r2.push_back(round_ns(d2, dn));
        }
        (void)sink;
        printf("cache decision alone (mixed rules): recorded %.0f ns, not recorded %.0f ns\n\n", median(r1),
               median(r2));
    }
    tlog::policy::cache::unmap(&m);

    struct Order {
        const char* label;
        const char* without;
        const char* with;
        const char* nsswitch;  // what nss_tlog reads for its next sources
        const std::string* cache;
        bool directory;  // test users only in extrausers
    };
    const Order orders[] = {
        {"tlog files", "files", "tlog files", "nsswitch.tlog-files", &cache_mixed, false},
        {"tlog files, unrecorded: answer", "files", "tlog files", "nsswitch.tlog-files", &cache_answer, false},
        {"tlog files, rules by name only", "files", "tlog files", "nsswitch.tlog-files", &cache_names, false},
        {"files tlog extrausers", "files extrausers", "files tlog extrausers", "nsswitch.files-tlog", &cache_mixed,
         true},
    };
    printf("%-31s %-6s %-12s %-8s %11s %11s %7s %11s\n", "order (with tlog)", "where", "user", "lookup", "without",
           "with tlog", "ratio", "added");
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
        for (const Probe& p : probes) {
            const std::string name = user(p.index);
            const uid_t uid = kBase + p.index;
            __nss_configure_lookup("passwd", o.with);
            const std::string s1 = shell_by_name(name.c_str()), s2 = shell_by_uid(uid);
            const std::string want = p.recorded ? kRecorder : "/bin/bash";
            if (s1 != want || s2 != want) {
                fprintf(stderr, "bench: wrong answer for %s: '%s' '%s'\n", name.c_str(), s1.c_str(), s2.c_str());
                _exit(1);
            }
            for (int by_uid = 0; by_uid < 2; ++by_uid) {
                std::function<void()> call = [&] {
                    if (by_uid)
                        shell_by_uid(uid);
                    else
                        shell_by_name(name.c_str());
                };
                __nss_configure_lookup("passwd", o.without);
                const long n = calibrate(call);
                std::vector<double> t0, t1;
                for (int r = 0; r < 7; ++r) {  // alternate so that load from other processes hits both alike
                    __nss_configure_lookup("passwd", o.without);
                    t0.push_back(round_ns(call, n));
                    __nss_configure_lookup("passwd", o.with);
                    t1.push_back(round_ns(call, n));
                }
                const double a = median(t0), b = median(t1);
                printf("%-31s %-6s %-12s %-8s %8.2f us %8.2f us %6.2fx %8.2f us\n", o.label, p.where,
                       p.recorded ? "recorded" : "not recorded", by_uid ? "getpwuid" : "getpwnam", a / 1000, b / 1000,
                       b / a, (b - a) / 1000);
                fflush(stdout);
            }
        }
        _exit(0);
    }
    umount("/var/lib");
    umount("/etc/group");
    umount("/etc/passwd");
    if (std::system(("rm -rf " + dir).c_str()) != 0) return 1;
    return 0;
}
