// Whether the recorder is listed in the shells file (/etc/shells). su and
// runuser honour `-s SHELL` only when the target's shell is listed there,
// and chsh lets a user leave a listed shell: a recorder that is listed lets
// a recorded user pick an unrecorded shell. pam_tlog looks on every
// recorded login (the file is small; nothing is cached across calls).
#pragma once

#include <string>

namespace pam_tlog {

constexpr size_t kMaxShellsFile = 64 * 1024;

struct ShellsListing {
    int line = 0;       // the line naming the recorder; 0 when it is not listed
    std::string error;  // non-empty when the file could not be checked
};

// Reads `path` the way glibc's getusershell() does (an entry runs from the
// first '/' of a line to white space or '#'; lines starting with '#' and
// blank lines are skipped). An entry matches when it is `recorder` or
// resolves to the same real path. A missing file lists nothing. Never
// blocks on a FIFO or device, refuses a symlink and a file over
// kMaxShellsFile; never throws for a bad file (only std::bad_alloc).
ShellsListing find_in_shells(const std::string& path, const std::string& recorder);

}  // namespace pam_tlog
