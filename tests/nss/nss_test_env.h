// Shared setup of the in-process NSS tests: a temporary directory with a
// nsswitch.conf ("passwd: tlog files"), rules and a compiled cache, and the
// environment that points libnss_tlog.so.2 at them. Must run before the
// first user lookup of the process (nss_tlog reads the settings once).
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "tlog/policy/cache_writer.h"
#include "tlog/policy/identity.h"
#include "tlog/policy/loader.h"

extern "C" int __nss_configure_lookup(const char* db, const char* service_line);

struct NssTestEnv {
    std::string dir;
    std::string cache;
    static constexpr const char* kRecorder = "/usr/local/libexec/test/tlog-rec-session";

    NssTestEnv() {
        char tmpl[] = "/tmp/nss-tlog-test.XXXXXX";
        dir = mkdtemp(tmpl);
        cache = dir + "/policy.cache";
        std::ofstream(dir + "/nsswitch.conf") << "# test\npasswd: tlog [NOTFOUND=continue] files\n";
        setenv("TLOG_POLICY_CACHE", cache.c_str(), 1);
        setenv("TLOG_NSS_NSSWITCH", (dir + "/nsswitch.conf").c_str(), 1);
    }
    ~NssTestEnv() {
        std::error_code ignored;  // a leftover temporary directory is no test failure
        std::filesystem::remove_all(dir, ignored);
    }

    // Compiles rules into the cache the module reads (atomically, as tlog-policy does).
    void compile(const std::string& rules) {
        auto p = tlog::policy::load_policy_text("recorder: " + std::string(kRecorder) + "\n" + rules, "test.yaml");
        auto c = tlog::policy::compile_cache(p, "testhost", "/unused", tlog::policy::lookup_group, 0);
        tlog::policy::write_atomically(cache, c.bytes);
    }
};
