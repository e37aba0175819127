// One recording per login: a lock file per audit session id, held by the
// recorder for the life of the recording (flock on
// RUNDIR/session.ID.lock, RUNDIR owned by tlog, mode 0700, so the recorded
// user can neither take nor remove a lock). A nested tlog-rec-session in the
// same audit session (su -, sudo -i) finds the lock held and runs the shell
// unrecorded: the outer recorder already sees everything. An unset audit
// session id (4294967295) is never locked, so unrelated sessions are never
// merged into one lock.
#pragma once

#include <cstdint>
#include <string>

namespace tlog::rec {

constexpr uint32_t kUnsetSession = 4294967295u;
constexpr const char* kDefaultLockDir = "/run/tlog";

// The audit session id of this process (/proc/self/sessionid), kUnsetSession when unknown.
uint32_t audit_session_id();

class SessionLock {
public:
    enum class State {
        Acquired,  // we record; the lock is held until destruction
        Busy,      // another live recorder holds it
        Unset,     // no audit session id: nothing to lock
        Failed,    // could not create the lock (error()): record anyway, never skip
    };
    SessionLock(uint32_t session, const std::string& dir = kDefaultLockDir);
    ~SessionLock();
    SessionLock(const SessionLock&) = delete;
    SessionLock& operator=(const SessionLock&) = delete;
    State state() const { return state_; }
    const std::string& error() const { return error_; }
    int fd() const { return fd_; }

private:
    State state_;
    int fd_ = -1;
    std::string error_;
};

} // namespace tlog::rec
