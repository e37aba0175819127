// Who the PAM user is, from NSS as the login program sees it (getpwnam_r,
// through nss_tlog when it is configured) and from the sources behind
// nss_tlog (the real shell). Shares nss_tlog's next-source loader
// (nss_tlog/next_sources.h) rather than parsing nsswitch.conf twice.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

namespace pam_tlog {

struct UserEntry {
    std::string name;
    uid_t uid = 0;
    gid_t gid = 0;
    std::string shell;
};

// getpwnam_r with a growing buffer; nullopt when NSS does not know the user.
// Throws std::runtime_error when NSS fails (not the same as "unknown").
std::optional<UserEntry> nss_user(const char* name);

// The user's shell as the sources after "tlog" on the passwd line answer it
// (all sources when tlog is absent): the shell the recorder must run.
// nullopt when none of them knows the user.
std::optional<std::string> real_shell(const char* name);

// True when the two paths name the same program (same string, or the same
// file after resolving symlinks).
bool same_program(const std::string& a, const std::string& b);

}  // namespace pam_tlog
