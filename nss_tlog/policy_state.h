// The compiled policy as nss_tlog sees it: one process-wide mapping of the
// cache, replaced when `tlog-policy compile` renames a new file into place.
#pragma once

#include <sys/types.h>

#include <cstddef>

namespace nss_tlog {

enum class Verdict {
    Recorded,     // substitute the recorder
    NotRecorded,  // answer NOTFOUND
    PassThrough,  // not recorded, and the cache says: answer the entry unchanged
    Unavailable,  // no good cache was ever loaded: the caller fails closed
};

// Decides for a user entry. When recorded, copies the recorder path into
// `shell` (of `shell_size` bytes, NUL-terminated) or returns Unavailable if it
// does not fit. Thread-safe.
Verdict decide(const char* name, uid_t uid, gid_t gid, char* shell, size_t shell_size);

// Before asking the next source: true if the user with this name (or uid)
// is certainly not recorded whatever the rest of the entry (see
// View::name_decides) and the cache wants NOTFOUND for such users.
bool certainly_not_recorded_name(const char* name);
bool certainly_not_recorded_uid(uid_t uid);

// Length of the current recorder path plus its NUL, or 0 if no cache is loaded.
size_t recorder_size();

// The cache mutex, for the fork handlers only (see nss_tlog.cc).
void lock_state();
void unlock_state();

}  // namespace nss_tlog
