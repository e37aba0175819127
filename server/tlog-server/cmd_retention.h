// tlog-server's retention commands (cmd_retention.cc, cmd_hold.cc).
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "commands.h"
#include "tlog/server/admin_api.h"
#include "tlog/server/http.h"

namespace tlog::server {

// A command's words and options (--config and --database are main's):
// the options in `valued` with a value, the others flags.
struct CommandArgs {
    std::vector<std::string> words;
    std::map<std::string, std::string> values;
    std::set<std::string> flags;
};
// Throws std::invalid_argument naming a bad or unknown option.
CommandArgs parse_command(const std::vector<std::string>& args, const std::set<std::string>& valued,
                          const std::set<std::string>& flags);
// Who runs it: the account, or "LOGIN (as ACCOUNT)" when the audit login
// uid (sudo, su) names another user.
std::string invoking_user();

}  // namespace tlog::server
