// Compiling a policy into the cache nss_tlog reads, and replacing the cache
// file atomically so readers see the old or the new file, never a mix.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "tlog/policy/identity.h"
#include "tlog/policy/rule.h"

namespace tlog::policy {

using GroupResolver = std::function<std::optional<GroupInfo>(const std::string&)>;

struct CompileResult {
    std::string bytes;
    std::vector<std::string> warnings;  // e.g. a group that does not resolve
};

// Resolves host matching for `host` and group membership with `groups`
// (lookup_group for the real system). Throws InputError if the policy cannot
// be represented (more than 20 distinct services).
CompileResult compile_cache(const Policy& policy, const std::string& host, const std::string& default_recorder,
                            const GroupResolver& groups, uint64_t created);

// Writes `bytes` to a temporary file in the target directory, fsyncs it,
// renames it over `path` and fsyncs the directory. Mode 0644: the cache is
// read by every process. Throws std::runtime_error naming the path on failure,
// leaving any previous file in place.
void write_atomically(const std::string& path, const std::string& bytes);

}  // namespace tlog::policy
