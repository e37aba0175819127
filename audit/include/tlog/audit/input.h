// Where tlog-audit reads audit text from: files (one, or a rotated set),
// a file followed as auditd appends to it, or a stream (auditd's plugin
// interface gives events on stdin).
#pragma once

#include <atomic>
#include <string>
#include <vector>

#include "tlog/audit/converter.h"

namespace tlog::audit {

// PATH.N ... PATH.1, PATH: the files of a set auditd rotated, oldest first.
// Only the numbered files that exist (up to the first gap) are listed.
std::vector<std::string> rotated_set(const std::string& path);

// Feeds a whole file. Throws std::runtime_error naming the file.
void read_file(const std::string& path, Converter& c);

// Feeds what can be read from `fd` until end of file or `stop`.
void read_stream(int fd, const std::string& name, Converter& c, const std::atomic<bool>& stop);

// Feeds the file, then what is appended to it, until `stop`; when auditd
// rotates it (a new file at `path`) the rest of the old one is read first.
void follow_file(const std::string& path, Converter& c, const std::atomic<bool>& stop);

}  // namespace tlog::audit
