// The recording marker: how pam_tlog learns what became of the recording it
// announced. pam_tlog writes "recording USER ... rec ID" at open_session,
// before the login program has even chosen what to run (sshd's
// internal-sftp, a ForceCommand, several sessions over one connection).
// The recorder, running as the tlog account, leaves one small file per
// session in the tlog-owned run directory (mode 0700: the recorded user can
// neither write nor remove it); close_session reads them and reports each
// session as recorded, or as not recorded with the recorder's reason, or the
// announced recording as never started, in the auth log and an audit record.
//
//   DIR/rec.ID         the first session of the login (ID = pam_tlog's id)
//   DIR/rec.ID-2, -3   later sessions of the same login (one ssh connection
//                      carries many); each is also that recording's "rec"
//
// A file holds one JSON object: {"rec":ID,"state":S,"detail":TEXT,"pid":N}
// with S one of "starting" (claimed, the writer not yet proven), "recording"
// (the first message is written), "ended" (detail: the end reason), or
// "unrecorded" (detail: why the session runs without a recording).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "tlog/api.h"

namespace tlog::marker {

constexpr int kMaxSessions = 999;  // sessions per login that get a marker of their own

struct TLOG_API State {
    std::string rec;     // the recording id (the file's ID)
    std::string state;   // "starting" | "recording" | "ended" | "unrecorded" | "unreadable"
    std::string detail;  // end reason, or why not recorded, or the read error
    pid_t pid = 0;       // the recorder's pid
};

// A marker owned by this recorder. claim() creates the first free file of
// the login (O_EXCL, O_NOFOLLOW), so two sessions never share an id.
class TLOG_API Marker {
public:
    Marker() = default;
    // Throws std::runtime_error naming the file when the directory is not
    // usable or every id is taken.
    static Marker claim(const std::string& dir, const std::string& pam_rec);
    const std::string& rec() const { return rec_; }
    bool claimed() const { return !path_.empty(); }
    // Rewrites the file (write to a temporary name, rename over); does
    // nothing once pam_tlog has removed it. Throws on failure.
    void set(const std::string& state, const std::string& detail) const;

private:
    std::string path_, rec_, dir_;
};

// The states of every session of login `pam_rec`, in order (pam_tlog).
// Empty when the recorder never ran for it.
TLOG_API std::vector<State> read_all(const std::string& dir, const std::string& pam_rec);
// Removes them (close_session, after reporting).
TLOG_API void remove_all(const std::string& dir, const std::string& pam_rec);

// One recording per terminal. The recorder registers the pseudo-terminal it
// creates for the recorded program (tlog::rec::TerminalLock):
// DIR/pty.MAJOR.MINOR.lock, flock'ed for the life of the recording and
// holding the recording's id (DIR is tlog's, mode 0700: the recorded user
// can neither take, forge nor remove a lock). Two readers ask whether a
// process already sits on a recorded terminal: the recorder itself (su,
// sudo without use_pty: the shell runs on the caller's terminal) and
// pam_tlog, in the login program's process, for login programs that give
// the shell a terminal of their own and relay it to theirs (sudo's
// use_pty, su --pty).

// The lock file's name for a terminal device.
TLOG_API std::string terminal_lock_path(const std::string& dir, dev_t rdev);

// The id of the live recording whose terminal this process's standard
// input, output and error all are, with no other controlling terminal, or
// nullopt.
TLOG_API std::optional<std::string> recording_of_terminal(const std::string& dir);

}  // namespace tlog::marker
