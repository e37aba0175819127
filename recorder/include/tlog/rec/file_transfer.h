// Transfer mode's gate. In transfer mode the recorder keeps only byte
// counts and hashes of the session, so a command line may only count as a
// transfer when nothing but the transfer itself can happen in it: the
// command line must be exactly what a real scp, rsync or sftp client asks
// the server for, and the program then runs with an environment the user
// did not choose. Everything else is an ordinary command, recorded in full.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace tlog::rec {

// The argv to execute directly for a `shell -c CMD` command line that is a
// file transfer's server side (argv[0] the system program's absolute path,
// for which `exists` must be true), bypassing the user's shell, aliases,
// functions and startup files; nullopt for anything else. The shapes:
//   scp [-v] [-r] [-p] [-d] -t|-f [--] PATH      (OpenSSH's legacy scp)
//   rsync --server [--sender] [-FLAGS] [OPTION...] . PATH...
//   sftp-server [-e] [-R] [-l LEVEL] [-f FACILITY] [-u UMASK]
// optionally after "exec"; the rsync options are a fixed list of those its
// client sends (file_transfer.cc).
std::optional<std::vector<std::string>> file_transfer_argv(const std::string& cmd,
                                                           const std::function<bool(const std::string&)>& exists);
bool is_file_transfer_command(const std::string& cmd);  // with access(X_OK) as `exists`

// The transfer program's environment ("NAME=value" entries): PATH fixed to
// the system's directories; HOME, USER, LOGNAME, SHELL, LANG, LC_* and TZ
// taken from `environ_in` (the first of each name, dropped when longer than
// kTransferEnvValueMax); nothing else.
inline constexpr size_t kTransferEnvValueMax = 1024;
std::vector<std::string> transfer_environment(const char* const* environ_in);

}  // namespace tlog::rec
