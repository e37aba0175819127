// tlog-server's subcommands, one file each (cmd_NAME.cc), named in main.cc's
// table and run by it with the configuration loaded (--config and
// --database, before or after the command's name); the server itself runs
// without one.
#pragma once

#include <string>
#include <vector>

#include "tlog/server/http.h"

namespace tlog::server {

// The exit status; `args` are those after the command's name, without
// --config and --database.
using Command = int (*)(const ServerConfig& c, const std::vector<std::string>& args);

int cmd_token(const ServerConfig& c, const std::vector<std::string>& args);         // cmd_token.cc
int cmd_viewer_token(const ServerConfig& c, const std::vector<std::string>& args);  // cmd_viewer_token.cc
int cmd_retention(const ServerConfig& c, const std::vector<std::string>& args);     // cmd_retention.cc
int cmd_hold(const ServerConfig& c, const std::vector<std::string>& args);          // cmd_hold.cc
int cmd_verify(const ServerConfig& c, const std::vector<std::string>& args);        // cmd_verify.cc
int cmd_keygen(const ServerConfig& c, const std::vector<std::string>& args);        // cmd_keygen.cc
int cmd_export(const ServerConfig& c, const std::vector<std::string>& args);        // cmd_export.cc
int cmd_access(const ServerConfig& c, const std::vector<std::string>& args);        // cmd_access.cc

}  // namespace tlog::server
