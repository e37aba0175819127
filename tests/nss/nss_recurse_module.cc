// A deliberately hostile NSS module for the recursion test: its getpwnam_r
// and getpwuid_r resolve the user through glibc again (as a module that calls
// getpwnam(3) internally would), which re-enters nss_tlog. nss_tlog must
// refuse the inner call instead of recursing without end.
#include <nss.h>
#include <pwd.h>

#include <atomic>

static std::atomic<int> g_calls{0};

extern "C" __attribute__((visibility("default"))) enum nss_status _nss_recurse_getpwnam_r(const char* name,
                                                                                          struct passwd* pwd, char* buf,
                                                                                          size_t buflen, int* errnop) {
    if (++g_calls > 1000) __builtin_trap();  // runaway recursion: crash loudly
    // Its own buffer, as a real module would use: the caller's shrinking
    // buffer must not be what ends a recursion.
    (void)pwd, (void)buf, (void)buflen;
    char own[2048];
    struct passwd pw, *res = nullptr;
    (void)getpwnam_r(name, &pw, own, sizeof own, &res);
    --g_calls;
    *errnop = 2;  // ENOENT
    return NSS_STATUS_NOTFOUND;
}

extern "C" __attribute__((visibility("default"))) enum nss_status _nss_recurse_getpwuid_r(uid_t uid, struct passwd* pwd,
                                                                                          char* buf, size_t buflen,
                                                                                          int* errnop) {
    if (++g_calls > 1000) __builtin_trap();
    (void)pwd, (void)buf, (void)buflen;
    char own[2048];
    struct passwd pw, *res = nullptr;
    (void)getpwuid_r(uid, &pw, own, sizeof own, &res);
    --g_calls;
    *errnop = 2;
    return NSS_STATUS_NOTFOUND;
}
