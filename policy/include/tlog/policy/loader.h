// Loads a rules file (tlog-rules.yaml(5)). All or nothing: any error throws
// tlog::InputError naming the file, line and key, and nothing is returned.
#pragma once

#include <string>

#include "tlog/policy/rule.h"

namespace tlog::policy {

// Parses YAML text; `source` names it in errors.
Policy load_policy_text(const std::string& text, const std::string& source);
// Reads and parses a file. Unreadable file: InputError naming the file.
Policy load_policy_file(const std::string& path);

}  // namespace tlog::policy
