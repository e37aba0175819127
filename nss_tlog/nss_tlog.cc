// libnss_tlog.so.2: the C ABI glibc calls (nss_tlog(8)).
//
// For a user that the compiled policy records, answer the entry of the sources
// listed after "tlog" in nsswitch.conf with the shell replaced by the
// recorder; for everyone else NOTFOUND, so glibc goes on to those sources
// itself. This layer only translates: it catches everything, never throws
// across the ABI, and keeps the ERANGE contract (NSS_STATUS_TRYAGAIN with
// *errnop = ERANGE means "call again with a bigger buffer").
#include <errno.h>
#include <nss.h>
#include <pthread.h>
#include <pwd.h>

#include "next_sources.h"
#include "policy_state.h"

namespace nss_tlog {
namespace {

// Set while this thread is inside nss_tlog, so that a source that calls back
// into NSS (getpwnam -> ... -> nss_tlog) is refused instead of recursing.
__thread int t_depth = 0;

class Depth {
public:
    Depth() { ++t_depth; }
    ~Depth() { --t_depth; }
    Depth(const Depth&) = delete;
    Depth& operator=(const Depth&) = delete;
};

// The recorder path goes at the start of the caller's buffer; the source
// fills the rest. Rounded up so the source gets an aligned buffer.
size_t reserve_for_shell() {
    const size_t n = recorder_size();
    return n ? (n + 15) & ~size_t(15) : 0;
}

enum nss_status unavailable(int* errnop) {
    *errnop = ENOENT;
    return NSS_STATUS_UNAVAIL;
}

enum nss_status erange(int* errnop) {
    *errnop = ERANGE;
    return NSS_STATUS_TRYAGAIN;
}

// Applies the policy to an entry a source returned in buf[reserve..].
// Enumeration lists recorded users only, whatever the cache says.
enum nss_status finish(struct passwd* pwd, char* buf, size_t reserve, int* errnop, bool enumerating = false) {
    switch (decide(pwd->pw_name, pwd->pw_uid, pwd->pw_gid, buf, reserve)) {
        case Verdict::Recorded: pwd->pw_shell = buf; return NSS_STATUS_SUCCESS;
        case Verdict::PassThrough:
            if (!enumerating) return NSS_STATUS_SUCCESS;  // the next source's entry, unchanged
            [[fallthrough]];
        case Verdict::NotRecorded: *errnop = ENOENT; return NSS_STATUS_NOTFOUND;
        case Verdict::Unavailable: break;
    }
    // The recorder path grew since the reservation (a new cache): retry.
    return erange(errnop);
}

void fork_safe();

template <class Ask>
enum nss_status lookup(struct passwd* pwd, char* buf, size_t buflen, int* errnop, Ask ask) {
    if (t_depth > 0) return unavailable(errnop);
    fork_safe();
    Depth depth;
    int n = 0;
    const Source* sources = next_sources(&n);
    if (n == 0) return unavailable(errnop);
    const size_t reserve = reserve_for_shell();
    if (reserve == 0) return unavailable(errnop);  // no good cache: fail closed (see nss_tlog(8))
    if (buflen <= reserve) return erange(errnop);
    enum nss_status result = NSS_STATUS_UNAVAIL;
    int saved = ENOENT;
    for (int i = 0; i < n; ++i) {
        int err = 0;
        enum nss_status st = NSS_STATUS_UNAVAIL;
        if (!ask(sources[i], pwd, buf + reserve, buflen - reserve, &err, &st)) continue;
        if (st == NSS_STATUS_SUCCESS) return finish(pwd, buf, reserve, errnop);
        if (st == NSS_STATUS_TRYAGAIN && err == ERANGE) return erange(errnop);
        if (st == NSS_STATUS_TRYAGAIN) {
            result = st;
            saved = err;
        } else if (st == NSS_STATUS_NOTFOUND && result != NSS_STATUS_TRYAGAIN) {
            result = st;
        }
    }
    *errnop = saved;
    return result;
}

// Enumeration state: which source we are walking. glibc serializes
// getpwent(3) callers, but a program may use getpwent_r from several threads.
pthread_mutex_t g_ent_mu = PTHREAD_MUTEX_INITIALIZER;
int g_ent_source = -1;  // -1: not started

class EntLock {
public:
    EntLock() { pthread_mutex_lock(&g_ent_mu); }
    ~EntLock() { pthread_mutex_unlock(&g_ent_mu); }
    EntLock(const EntLock&) = delete;
    EntLock& operator=(const EntLock&) = delete;
};

// fork(2) while another thread holds one of our mutexes would leave it locked
// forever in the child. The handlers take both (enumeration first, the order
// every path uses) around fork. Registered on first use, not in a constructor.
pthread_once_t g_fork_once = PTHREAD_ONCE_INIT;
void before_fork() {
    pthread_mutex_lock(&g_ent_mu);
    lock_state();
}
void after_fork() {
    unlock_state();
    pthread_mutex_unlock(&g_ent_mu);
}
void register_fork_handlers() { pthread_atfork(before_fork, after_fork, after_fork); }
void fork_safe() { pthread_once(&g_fork_once, register_fork_handlers); }

void start_enumeration(const Source* sources, int n, int stayopen) {
    for (int i = 0; i < n; ++i)
        if (sources[i].setpwent) sources[i].setpwent(stayopen);
    g_ent_source = 0;
}

void end_enumeration(const Source* sources, int n) {
    for (int i = 0; i < n; ++i)
        if (sources[i].endpwent) sources[i].endpwent();
    g_ent_source = -1;
}

enum nss_status next_entry(struct passwd* pwd, char* buf, size_t buflen, int* errnop) {
    if (t_depth > 0) return unavailable(errnop);
    fork_safe();
    Depth depth;
    int n = 0;
    const Source* sources = next_sources(&n);
    if (n == 0) return unavailable(errnop);
    const size_t reserve = reserve_for_shell();
    if (reserve == 0) return unavailable(errnop);
    if (buflen <= reserve) return erange(errnop);
    EntLock lock;
    if (g_ent_source < 0) start_enumeration(sources, n, 0);
    while (g_ent_source < n) {
        const Source& s = sources[g_ent_source];
        enum nss_status st = NSS_STATUS_NOTFOUND;
        int err = 0;
        if (s.getpwent) st = s.getpwent(pwd, buf + reserve, buflen - reserve, &err);
        if (st == NSS_STATUS_SUCCESS) {
            const enum nss_status r = finish(pwd, buf, reserve, errnop, true);
            if (r == NSS_STATUS_NOTFOUND) continue;  // not recorded: not ours to list
            return r;
        }
        if (st == NSS_STATUS_TRYAGAIN) {
            *errnop = err;
            return st;
        }
        if (s.endpwent) s.endpwent();
        ++g_ent_source;
    }
    *errnop = ENOENT;
    return NSS_STATUS_NOTFOUND;
}

}  // namespace
}  // namespace nss_tlog

using namespace nss_tlog;

extern "C" {

__attribute__((visibility("default"))) enum nss_status _nss_tlog_getpwnam_r(const char* name, struct passwd* pwd,
                                                                            char* buf, size_t buflen, int* errnop) {
    try {
        fork_safe();
        if (!name || !*name || (t_depth == 0 && certainly_not_recorded_name(name))) {
            *errnop = ENOENT;
            return NSS_STATUS_NOTFOUND;
        }
        return lookup(pwd, buf, buflen, errnop,
                      [name](const Source& s, struct passwd* p, char* b, size_t l, int* e, enum nss_status* st) {
                          if (!s.getpwnam) return false;
                          *st = s.getpwnam(name, p, b, l, e);
                          return true;
                      });
    } catch (...) {
        return unavailable(errnop);
    }
}

__attribute__((visibility("default"))) enum nss_status _nss_tlog_getpwuid_r(uid_t uid, struct passwd* pwd, char* buf,
                                                                            size_t buflen, int* errnop) {
    try {
        fork_safe();
        if (t_depth == 0 && certainly_not_recorded_uid(uid)) {
            *errnop = ENOENT;
            return NSS_STATUS_NOTFOUND;
        }
        return lookup(pwd, buf, buflen, errnop,
                      [uid](const Source& s, struct passwd* p, char* b, size_t l, int* e, enum nss_status* st) {
                          if (!s.getpwuid) return false;
                          *st = s.getpwuid(uid, p, b, l, e);
                          return true;
                      });
    } catch (...) {
        return unavailable(errnop);
    }
}

__attribute__((visibility("default"))) enum nss_status _nss_tlog_setpwent(int stayopen) {
    try {
        fork_safe();
        int n = 0;
        const Source* sources = next_sources(&n);
        EntLock lock;
        if (g_ent_source >= 0) end_enumeration(sources, n);
        start_enumeration(sources, n, stayopen);
        return NSS_STATUS_SUCCESS;
    } catch (...) {
        return NSS_STATUS_UNAVAIL;
    }
}

__attribute__((visibility("default"))) enum nss_status _nss_tlog_getpwent_r(struct passwd* pwd, char* buf,
                                                                            size_t buflen, int* errnop) {
    try {
        return next_entry(pwd, buf, buflen, errnop);
    } catch (...) {
        return unavailable(errnop);
    }
}

__attribute__((visibility("default"))) enum nss_status _nss_tlog_endpwent(void) {
    try {
        int n = 0;
        const Source* sources = next_sources(&n);
        EntLock lock;
        end_enumeration(sources, n);
        return NSS_STATUS_SUCCESS;
    } catch (...) {
        return NSS_STATUS_UNAVAIL;
    }
}

}  // extern "C"
