#include "policy_state.h"

#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tlog/policy/cache_reader.h"
#include "tlog/policy/paths.h"

namespace nss_tlog {
namespace {

namespace cache = tlog::policy::cache;

// Plain data with constant initializers: no global constructor or destructor
// runs in the (many) processes that load this module. The mapping is never
// unmapped at exit: other threads may still be reading it.
constinit pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
constinit cache::Mapping g_map{};
bool g_loaded = false;
int64_t g_checked_ns = 0;
pthread_once_t g_path_once = PTHREAD_ONCE_INIT;
char g_path[PATH_MAX];

// How often a lookup looks at the cache file for a newer version.
constexpr int64_t kRecheckNs = 1000000000;

void init_path() {
    const char* p = secure_getenv(tlog::policy::kCacheEnv);
    if (!p || !*p || strlen(p) >= sizeof g_path) p = tlog::policy::kDefaultCachePath;
    memcpy(g_path, p, strlen(p) + 1);
}

int64_t now_ns() {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// Called with g_mu held. Keeps the last good mapping when a new file does not
// check out, so a broken cache never half-applies.
void refresh() {
    const int64_t now = now_ns();
    if (g_checked_ns != 0 && now - g_checked_ns < kRecheckNs) return;
    g_checked_ns = now ? now : 1;
    if (g_loaded && cache::same_file(g_path, g_map)) return;
    cache::Mapping fresh;
    if (cache::map_file(g_path, &fresh) != nullptr) return;
    if (g_loaded) cache::unmap(&g_map);
    g_map = fresh;
    g_loaded = true;
}

// The NSS view of the one decision (cache_reader.h): nss_tlog has no
// service and no session kind, so a user is recorded if recorded for any.
bool recorded(const char* name, uid_t uid, gid_t gid) {
    return g_map.view.decision(name, uid, gid, cache::kAnyService, cache::Kind::Unknown).recorded;
}

// Locks g_mu for a scope.
class Lock {
public:
    Lock() { pthread_mutex_lock(&g_mu); }
    ~Lock() { pthread_mutex_unlock(&g_mu); }
    Lock(const Lock&) = delete;
    Lock& operator=(const Lock&) = delete;
};

}  // namespace

Verdict decide(const char* name, uid_t uid, gid_t gid, char* shell, size_t shell_size) {
    pthread_once(&g_path_once, init_path);
    Lock lock;
    refresh();
    if (!g_loaded) return Verdict::Unavailable;
    if (!recorded(name, uid, gid))
        return (g_map.view.header().flags & cache::kAnswerUnrecorded) ? Verdict::PassThrough : Verdict::NotRecorded;
    const char* rec = g_map.view.recorder();
    const size_t n = strlen(rec) + 1;
    if (n > shell_size) return Verdict::Unavailable;
    memcpy(shell, rec, n);
    return Verdict::Recorded;
}

bool certainly_not_recorded_name(const char* name) {
    pthread_once(&g_path_once, init_path);
    Lock lock;
    refresh();
    if (!g_loaded || (g_map.view.header().flags & cache::kAnswerUnrecorded)) return false;
    return g_map.view.name_decides() && !recorded(name, 0, 0);
}

bool certainly_not_recorded_uid(uid_t uid) {
    pthread_once(&g_path_once, init_path);
    Lock lock;
    refresh();
    if (!g_loaded || (g_map.view.header().flags & cache::kAnswerUnrecorded)) return false;
    return g_map.view.uid_decides() && !recorded("", uid, 0);
}

void lock_state() { pthread_mutex_lock(&g_mu); }
void unlock_state() { pthread_mutex_unlock(&g_mu); }

size_t recorder_size() {
    pthread_once(&g_path_once, init_path);
    Lock lock;
    refresh();
    return g_loaded ? strlen(g_map.view.recorder()) + 1 : 0;
}

}  // namespace nss_tlog
