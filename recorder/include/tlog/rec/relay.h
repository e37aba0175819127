// The terminal relay: starts a program under a new pseudo-terminal (or, when
// the recorder's stdin/stdout are not both terminals, under pipes), relays
// both ways with the outer terminal in raw mode, forwards window changes and
// signals, and reports every byte and size change to an observer with its
// CLOCK_MONOTONIC time. One poll() loop, signals through a signalfd.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tlog::rec {

int64_t mono_now_ns();
int64_t real_now_ns();

class RelayObserver {
public:
    virtual ~RelayObserver() = default;
    virtual void input(int64_t mono_ns, std::string_view data) = 0;
    // Input read while the program's terminal was in canonical mode with
    // echo off (RelaySpec::watch_echo): what getpass() and every password
    // prompt set. The bytes still reach the program; the observer decides
    // what the recording keeps.
    virtual void secret_input(int64_t mono_ns, std::string_view data) { input(mono_ns, data); }
    virtual void output(int64_t mono_ns, std::string_view data) = 0;
    virtual void window(int64_t mono_ns, uint16_t width, uint16_t height) = 0;
    // The monotonic time tick() wants to run at (latency timer), INT64_MAX for never.
    virtual int64_t deadline() = 0;
    virtual void tick(int64_t mono_ns) = 0;
};

enum class EndReason {
    Exit,         // the program exited
    ChildSignal,  // the program was killed by a signal
    Hangup,       // the outer terminal went away (SIGHUP, EOF/EIO on a terminal)
    Signal,       // the recorder was told to stop (SIGTERM, SIGINT, SIGQUIT) and could not pass it on
    Error,        // the relay or the recording failed
};
// The word written as the last message's "end" marker.
const char* end_word(EndReason r);

struct RelaySpec {
    std::string path;               // program to execute
    std::vector<std::string> argv;  // its argv; argv[0] may be "-bash" (login shell)
    // Its environment ("NAME=value"); unset: the recorder's own.
    std::optional<std::vector<std::string>> env;
    int in_fd = 0, out_fd = 1, err_fd = 2;
    bool use_pty = true;  // false: pipes even on a terminal
    // Look at the pty's mode at each read of input and report input read
    // while it is canonical without echo through secret_input().
    bool watch_echo = false;
    // Hooks for the identity switch (privsep.h). All may be empty.
    // Calls `open` (which opens the pty) as the identity the pty should
    // belong to, e.g. inside an AsUser scope so the pty is the user's.
    std::function<void(const std::function<void()>& open)> as_pty_owner;
    std::function<void()> in_parent;  // after fork: become the tlog user completely
    std::function<void()> in_child;   // after fork, before exec: become the user (must not return on error: _exit)
    // The program's terminal exists (parent, before fork; pty mode only).
    std::function<void(int slave_fd)> on_pty;
    // Parent, after in_parent and the first window event, while the program's
    // process waits before exec: false stops it before it runs anything
    // (the recorder proves here that its first message was written).
    std::function<bool(int64_t mono_ns)> gate;
    // Seconds to wait for the program after a hangup before giving up on it.
    int hangup_wait_s = 5;
};

struct RelayResult {
    EndReason reason = EndReason::Exit;
    int status = 0;    // exit status for the recorder: the program's, or 128+signal
    int signal = 0;    // ChildSignal / Signal: which
    bool pty = false;  // a pty was used
    std::string error;
};

// Runs the program to completion. Throws std::system_error when it cannot
// start it at all (no pty, fork failure); failure to exec is status 126/127.
RelayResult run_relay(const RelaySpec& spec, RelayObserver& obs);

// Asks the running relay (from another part of the recorder, e.g. a writer
// that failed with lax off) to end the session: the program gets a hangup.
void relay_request_stop(const std::string& why);

}  // namespace tlog::rec
