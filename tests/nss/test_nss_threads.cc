// Many threads resolving users at once through nss_tlog while the cache is
// being replaced and another thread enumerates: every answer must be right.
// Built twice: normally (glibc loads libnss_tlog.so.2; the unit suite, also
// run under AddressSanitizer) and with -fsanitize=thread, where the module's
// sources are compiled in and called directly (NSS_TLOG_DIRECT) so that
// ThreadSanitizer sees every access.
//
//   test_nss_threads THREADS LOOKUPS_PER_THREAD [fork]
// With "fork", one more thread forks children that look a user up (plain
// build only: GCC 12's AddressSanitizer allocator is not fork-safe in
// threaded programs; its lock, not nss_tlog's, hangs the child).
// Needs TLOG_POLICY_CACHE (rules: record daemon and uid 3) and TLOG_NSS_NSSWITCH.
#include <errno.h>
#include <nss.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern "C" int __nss_configure_lookup(const char* db, const char* service_line);

#ifdef NSS_TLOG_DIRECT
extern "C" {
enum nss_status _nss_tlog_getpwnam_r(const char*, struct passwd*, char*, size_t, int*);
enum nss_status _nss_tlog_getpwuid_r(uid_t, struct passwd*, char*, size_t, int*);
enum nss_status _nss_tlog_setpwent(int);
enum nss_status _nss_tlog_getpwent_r(struct passwd*, char*, size_t, int*);
enum nss_status _nss_tlog_endpwent(void);
}
#endif

namespace {

std::atomic<long> g_errors{0};
std::atomic<bool> g_stop{false};
std::string g_recorder;

// Returns the shell of the answer, "" if not found (or not recorded, in direct mode).
std::string lookup(const char* name, uid_t uid, bool by_uid, size_t bufsize) {
    std::vector<char> buf(bufsize);
    struct passwd pw;
    for (;;) {
#ifdef NSS_TLOG_DIRECT
        int err = 0;
        enum nss_status st = by_uid ? _nss_tlog_getpwuid_r(uid, &pw, buf.data(), buf.size(), &err)
                                    : _nss_tlog_getpwnam_r(name, &pw, buf.data(), buf.size(), &err);
        if (st == NSS_STATUS_TRYAGAIN && err == ERANGE) {
            buf.resize(buf.size() * 2);
            continue;
        }
        if (st != NSS_STATUS_SUCCESS) return "";
#else
        struct passwd* res = nullptr;
        int rc = by_uid ? getpwuid_r(uid, &pw, buf.data(), buf.size(), &res)
                        : getpwnam_r(name, &pw, buf.data(), buf.size(), &res);
        if (rc == ERANGE) {
            buf.resize(buf.size() * 2);
            continue;
        }
        if (rc != 0 || !res) return "";
#endif
        return pw.pw_shell;
    }
}

void worker(int id, long n) {
    struct Q {
        const char* name;
        uid_t uid;
        bool recorded;
    };
    const Q qs[] = {{"daemon", 1, true}, {"sys", 3, true}, {"bin", 2, false}, {"root", 0, false}};
    for (long i = 0; i < n; ++i) {
        const Q& q = qs[(i + id) % 4];
        const bool by_uid = (i / 4 + id) % 2;
        const size_t bufsize = (i % 7 == 0) ? 16 : 1024;  // exercise the ERANGE path too
        const std::string shell = lookup(q.name, q.uid, by_uid, bufsize);
        bool ok;
#ifdef NSS_TLOG_DIRECT
        ok = q.recorded ? shell == g_recorder : shell.empty();  // NOTFOUND for the unrecorded
#else
        ok = q.recorded ? shell == g_recorder : (!shell.empty() && shell != g_recorder);
#endif
        if (!ok && g_errors++ < 10)
            fprintf(stderr, "thread %d: %s by %s: shell '%s'\n", id, q.name, by_uid ? "uid" : "name", shell.c_str());
    }
}

void enumerator() {
    while (!g_stop) {
        int recorded = 0;
#ifdef NSS_TLOG_DIRECT
        _nss_tlog_setpwent(0);
        char buf[1024];
        struct passwd pw;
        int err = 0;
        while (_nss_tlog_getpwent_r(&pw, buf, sizeof buf, &err) == NSS_STATUS_SUCCESS)
            recorded += std::string(pw.pw_shell) == g_recorder;
        _nss_tlog_endpwent();
#else
        setpwent();
        while (struct passwd* pw = getpwent()) recorded += std::string(pw->pw_shell) == g_recorder;
        endpwent();
#endif
        if (recorded != 2 && g_errors++ < 10) fprintf(stderr, "enumeration: %d recorded users\n", recorded);
    }
}

#ifndef NSS_TLOG_DIRECT
// Forks while the other threads hold nss_tlog's locks at random moments: the
// child must still be able to look users up (the module's fork handlers).
void forker() {
    while (!g_stop) {
        const pid_t pid = fork();
        if (pid == 0) {
            alarm(20);  // a deadlocked child dies and is counted as an error
            _exit(lookup("daemon", 1, false, 1024) == g_recorder ? 0 : 1);
        }
        int st = 0;
        if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            if (g_errors++ < 10) fprintf(stderr, "forked child failed (status %d)\n", st);
        }
        usleep(20000);
    }
}
#endif

// Replaces the cache file (same contents, new inode) while lookups run.
void replacer(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    int k = 0;
    while (!g_stop) {
        const std::string tmp = path + ".tmp";
        std::ofstream(tmp, std::ios::binary) << bytes;
        chmod(tmp.c_str(), 0644);  // whatever the umask: readers refuse group-writable caches
        if (rename(tmp.c_str(), path.c_str()) != 0) ++g_errors;
        usleep(100000 + (k++ % 3) * 50000);
    }
}

}  // namespace

int main(int argc, char** argv) {
    const int threads = argc > 1 ? atoi(argv[1]) : 32;
    const long lookups = argc > 2 ? atol(argv[2]) : 100000;
    const char* cache = getenv("TLOG_POLICY_CACHE");
    const char* rec = getenv("TEST_RECORDER");
    if (!cache || !rec) {
        fprintf(stderr, "TLOG_POLICY_CACHE and TEST_RECORDER must be set\n");
        return 1;
    }
    g_recorder = rec;
    __nss_configure_lookup("passwd", "tlog files");
    // Load every module before threads start: a fork(2) during another
    // thread's dlopen(3) leaves the child's loader inconsistent (a glibc
    // limit, not nss_tlog's); the forker is about nss_tlog's own locks.
    (void)lookup("bin", 2, true, 1024);
    if (lookup("daemon", 1, false, 1024) != g_recorder) {
        fprintf(stderr, "warm-up lookups failed\n");
        return 1;
    }
    std::vector<std::thread> pool;
    std::thread en(enumerator), re(replacer, std::string(cache));
#ifndef NSS_TLOG_DIRECT
    const bool forking = argc > 3 && std::string(argv[3]) == "fork";
    std::thread fk;
    if (forking) fk = std::thread(forker);
#endif
    for (int t = 0; t < threads; ++t) pool.emplace_back(worker, t, lookups);
    for (auto& t : pool) t.join();
    g_stop = true;
#ifndef NSS_TLOG_DIRECT
    if (forking) fk.join();
#endif
    en.join();
    re.join();
    printf("%d threads x %ld lookups: %ld errors\n", threads, lookups, g_errors.load());
    return g_errors ? 1 : 0;
}
