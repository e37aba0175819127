// tlog-server's subcommands, one file each (cmd_NAME.cc), run by main.cc
// after the options before them (--config, --database) are read.
#pragma once

#include <string>
#include <vector>

#include "tlog/server/http.h"

namespace tlog::server {

// The exit status; `args` are those after the command's name.
using Command = int (*)(const ServerConfig& c, const std::vector<std::string>& args);

int cmd_viewer_token(const ServerConfig& c, const std::vector<std::string>& args);

}  // namespace tlog::server
