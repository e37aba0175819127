// tlog-server's commands (`tlog-server NAME ...`), each in cmd_NAME.cc and
// one line of main.cc's table; no command: the server itself.
#pragma once

namespace tlog::server {

// argv[0] is the command's name. Returns the exit status; exceptions
// (a bad configuration, a database that does not open) go to main.
int cmd_verify(int argc, char** argv);
int cmd_keygen(int argc, char** argv);
int cmd_export(int argc, char** argv);

}  // namespace tlog::server
