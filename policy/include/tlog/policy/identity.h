// Looking up a user through the system's NSS (for tools and PAM; never used
// inside nss_tlog, which must not recurse into NSS).
#pragma once

#include <optional>
#include <string>

#include "tlog/policy/evaluator.h"

namespace tlog::policy {

// By name, or by uid when `who` is all digits. nullopt if unknown.
std::optional<Subject> lookup_subject(const std::string& who);

// A group's gid and member names via getgrnam_r; nullopt if unknown.
struct GroupInfo {
    gid_t gid = 0;
    std::vector<std::string> members;
    bool has_gid = true;  // false: a directory group without gidNumber, matched by members only
};
std::optional<GroupInfo> lookup_group(const std::string& name);

std::string local_hostname();

}  // namespace tlog::policy
