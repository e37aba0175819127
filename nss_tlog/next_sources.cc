#include "next_sources.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlog/policy/paths.h"

namespace nss_tlog {
namespace {

// Loaded once: a process's nsswitch.conf rarely changes under it, and
// reloading modules while other threads use them would need reference counts.
pthread_once_t g_once = PTHREAD_ONCE_INIT;
Source g_sources[kMaxSources];
int g_count = 0;

bool valid_name(const char* s, size_t n) {
    if (n == 0 || n >= sizeof(Source::name)) return false;
    for (size_t i = 0; i < n; ++i) {
        const char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return false;
    }
    return true;
}

template <class F>
F sym(void* handle, const char* module, const char* what) {
    char name[96];
    if (snprintf(name, sizeof name, "_nss_%s_%s", module, what) >= static_cast<int>(sizeof name)) return nullptr;
    return reinterpret_cast<F>(dlsym(handle, name));
}

void load() {
    const char* path = secure_getenv(tlog::policy::kNsswitchEnv);
    if (!path || !*path) path = tlog::policy::kDefaultNsswitchPath;
    FILE* f = fopen(path, "re");
    if (!f) return;
    char* line = nullptr;
    size_t cap = 0;
    char names[kMaxSources][32];
    int n = 0;
    while (getline(&line, &cap, f) >= 0) {
        const char* p = line;
        while (*p == ' ' || *p == '\t') ++p;
        if (strncmp(p, "passwd", 6) != 0) continue;
        const char* q = p + 6;
        while (*q == ' ' || *q == '\t') ++q;
        if (*q != ':') continue;
        n = parse_passwd_line(q + 1, names);
        break;  // glibc uses the first passwd line
    }
    free(line);
    fclose(f);
    for (int i = 0; i < n; ++i) {
        char lib[64];
        if (snprintf(lib, sizeof lib, "libnss_%s.so.2", names[i]) >= static_cast<int>(sizeof lib)) continue;
        // RTLD_LOCAL: the module's symbols stay out of the global namespace.
        // Never closed: other threads may be inside it.
        void* h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
        if (!h) continue;
        Source& s = g_sources[g_count];
        memcpy(s.name, names[i], sizeof s.name);
        s.getpwnam = sym<getpwnam_fn>(h, names[i], "getpwnam_r");
        s.getpwuid = sym<getpwuid_fn>(h, names[i], "getpwuid_r");
        s.setpwent = sym<setpwent_fn>(h, names[i], "setpwent");
        s.getpwent = sym<getpwent_fn>(h, names[i], "getpwent_r");
        s.endpwent = sym<endpwent_fn>(h, names[i], "endpwent");
        if (s.getpwnam || s.getpwuid || s.getpwent) ++g_count;
    }
}

}  // namespace

int parse_passwd_line(const char* line, char names[][32]) {
    char all[kMaxSources * 2][32];
    int total = 0, after_tlog = -1;
    const char* p = line;
    while (*p && *p != '\n' && *p != '#') {
        if (*p == ' ' || *p == '\t') {
            ++p;
            continue;
        }
        if (*p == '[') {  // an action block such as [NOTFOUND=return]
            while (*p && *p != ']' && *p != '\n') ++p;
            if (*p == ']') ++p;
            continue;
        }
        const char* start = p;
        while (*p && *p != ' ' && *p != '\t' && *p != '\n' && *p != '[' && *p != '#') ++p;
        const size_t len = static_cast<size_t>(p - start);
        if (len == 4 && memcmp(start, "tlog", 4) == 0) {
            if (after_tlog < 0) after_tlog = total;
            continue;  // never ourselves: that would recurse
        }
        if (!valid_name(start, len) || total >= kMaxSources * 2) continue;
        memcpy(all[total], start, len);
        all[total][len] = '\0';
        ++total;
    }
    const int first = after_tlog < 0 ? 0 : after_tlog;
    int n = 0;
    for (int i = first; i < total && n < kMaxSources; ++i) memcpy(names[n++], all[i], 32);
    return n;
}

const Source* next_sources(int* count) {
    pthread_once(&g_once, load);
    *count = g_count;
    return g_sources;
}

}  // namespace nss_tlog
