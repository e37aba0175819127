// The auditor's terminal: raw mode and the alternate screen while playing,
// and their restoration on every way out (normal return, exception, the
// signals that end a process). Signals are turned into bytes on a pipe the
// main loop polls, so nothing but restoring runs in a signal handler.
#pragma once

#include <termios.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace tlog::play::cli {

class Terminal {
public:
    // `keys`: put stdin in raw mode (it is a terminal and keys are wanted).
    // `keyboard_signals`: let ^C/^\ stop the player (false for --persist).
    Terminal(bool keys, bool keyboard_signals);
    ~Terminal();
    Terminal(const Terminal&) = delete;
    Terminal& operator=(const Terminal&) = delete;

    // Restores now (idempotent). Called by the destructor.
    void restore();
    // Writes to the terminal (stdout), retrying short writes.
    static void write(std::string_view s);
    // The terminal's size, or false when stdout is not a terminal.
    static bool size(uint16_t& rows, uint16_t& cols);
    // The read end of the signal pipe: readable after SIGINT, SIGTERM,
    // SIGHUP, SIGQUIT (stop) or SIGWINCH (resize).
    int signal_fd() const;
    // Reads what arrived on the signal pipe: returns true if playback must
    // stop, sets `resized` on SIGWINCH and `suspend` on SIGTSTP.
    bool take_signals(bool& resized, bool& suspend);
    // SIGTSTP: give the terminal back as it was, stop, and take it again
    // when continued (the caller redraws).
    void suspend();
    // Asks the terminal to take a size (XTWINOPS); the original size is put
    // back on restore.
    void request_size(uint16_t rows, uint16_t cols);

private:
    void enter();
    bool raw_ = false;
    struct termios raw_modes_ {};
    bool restored_ = false;
    bool resized_ = false;
    uint16_t orig_rows_ = 0, orig_cols_ = 0;
    struct termios saved_ {};
};

}  // namespace tlog::play::cli
