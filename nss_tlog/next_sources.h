// The NSS sources listed after "tlog" on the passwd line of nsswitch.conf,
// loaded with dlopen so that nss_tlog can ask them for the real entry without
// going through getpwnam(3) again (which would recurse into nss_tlog).
#pragma once

#include <nss.h>
#include <pwd.h>
#include <sys/types.h>

#include <cstddef>

namespace nss_tlog {

using getpwnam_fn = enum nss_status (*)(const char*, struct passwd*, char*, size_t, int*);
using getpwuid_fn = enum nss_status (*)(uid_t, struct passwd*, char*, size_t, int*);
using setpwent_fn = enum nss_status (*)(int);
using getpwent_fn = enum nss_status (*)(struct passwd*, char*, size_t, int*);
using endpwent_fn = enum nss_status (*)();

struct Source {
    char name[32];
    getpwnam_fn getpwnam;  // each may be null if the module lacks it
    getpwuid_fn getpwuid;
    setpwent_fn setpwent;
    getpwent_fn getpwent;
    endpwent_fn endpwent;
};

constexpr int kMaxSources = 8;

// Parses the passwd line of `nsswitch_path` (once per process) and loads the
// modules. Returns the sources in order; *count is 0 if none could be loaded.
// Thread-safe.
const Source* next_sources(int* count);

// Exposed for the unit test: the source names after "tlog" on a passwd line
// (all names if "tlog" is absent, "tlog" itself always skipped, [ACTION]
// blocks ignored). Writes at most kMaxSources names; returns the count.
int parse_passwd_line(const char* line, char names[][32]);

}  // namespace nss_tlog
