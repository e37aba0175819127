// tlog-server's subcommands, one file each (cmd_NAME.cc), named in main.cc's
// table; the server itself runs without one.
#pragma once

#include <string>
#include <vector>

namespace tlog::server {

// `args` follow the subcommand's name; returns the exit status.
using Command = int (*)(const std::vector<std::string>& args);

int cmd_token(const std::vector<std::string>& args);
int cmd_retention(const std::vector<std::string>& args);  // cmd_retention.cc
int cmd_hold(const std::vector<std::string>& args);       // cmd_hold.cc
int cmd_verify(const std::vector<std::string>& args);  // cmd_verify.cc
int cmd_keygen(const std::vector<std::string>& args);  // cmd_keygen.cc
int cmd_export(const std::vector<std::string>& args);  // cmd_export.cc

}  // namespace tlog::server
