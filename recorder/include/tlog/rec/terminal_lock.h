// One recording per terminal. The recorder registers the pseudo-terminal it
// creates for the recorded program: RUNDIR/pty.MAJOR.MINOR.lock, flock'ed
// for the life of the recording and holding the recording's id (RUNDIR is
// owned by tlog, mode 0700: the recorded user can neither take, forge nor
// remove a lock).
//
// A tlog-rec-session started inside a recorded session (su -, sudo -i, a
// nested login shell) whose standard input, output and error are all such a
// registered terminal, and whose controlling terminal is that terminal too or
// none at all (su -c starts its command in a new session without one), runs
// the shell without a second recording: everything it shows and reads passes
// through the outer recorder (the recorder closes every other descriptor
// the login program left open). Anything else records:
// several sessions over one ssh connection share an audit session id but
// never a terminal, and a nested recorder with a descriptor elsewhere is not
// covered by the outer recording. The registry's reader,
// tlog::marker::recording_of_terminal, is in librec: pam_tlog asks it too.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

namespace tlog::rec {

constexpr const char* kDefaultRunDir = "/run/tlog";

class TerminalLock {
public:
    TerminalLock() = default;
    // Registers the terminal `tty_fd` refers to as recorded by `rec`.
    // Throws std::runtime_error naming the file when it cannot (the caller
    // records anyway: a nested recorder then records a second time, which
    // loses nothing).
    TerminalLock(int tty_fd, const std::string& rec, const std::string& dir = kDefaultRunDir);
    ~TerminalLock();
    TerminalLock(TerminalLock&& o) noexcept;
    TerminalLock& operator=(TerminalLock&& o) noexcept;
    TerminalLock(const TerminalLock&) = delete;
    TerminalLock& operator=(const TerminalLock&) = delete;

private:
    int fd_ = -1;
    std::string path_;
};

// The recorder's own terminal (the one sshd or login gave the "shell") made
// exclusive for as long as the recorder runs: no process of the recorded
// user can open it again to read the typed input or write to the screen
// past the recording. Released (and undone) when the shell is run without a
// recording, so that it gets an ordinary terminal.
class ExclusiveTerminal {
public:
    explicit ExclusiveTerminal(int fd);
    ~ExclusiveTerminal();
    ExclusiveTerminal(const ExclusiveTerminal&) = delete;
    ExclusiveTerminal& operator=(const ExclusiveTerminal&) = delete;
    void release();
    bool active() const { return fd_ >= 0; }

private:
    int fd_ = -1;
};

}  // namespace tlog::rec
