#include "terminal.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <system_error>

namespace tlog::play::cli {

namespace {

// Enter: cursor hidden, attributes reset, screen cleared. Like tlog-play,
// no alternate screen: the last screen of the recording stays visible
// after the player ends.
constexpr char kEnter[] = "\x1b[0m\x1b[?25l\x1b[H\x1b[2J";
// Leave: scroll region (its reset homes the cursor: saved and restored
// around it), attributes, charset, cursor shown where the recording left it.
// No line feed: the last screen stays exactly as recorded, nothing scrolls.
constexpr char kLeave[] =
    "\x1b"
    "7\x1b[r\x1b"
    "8\x1b[0m\x1b(B\x0f\x1b[?25h";

int g_pipe[2] = {-1, -1};
volatile sig_atomic_t g_active = 0;
struct termios g_saved;
volatile sig_atomic_t g_raw = 0;

void on_signal(int sig) {
    int e = errno;
    unsigned char b = static_cast<unsigned char>(sig);
    if (g_pipe[1] >= 0) (void)!::write(g_pipe[1], &b, 1);
    errno = e;
}

// Crashes: restore the terminal with async-signal-safe calls only, then die
// of the same signal.
void on_fatal(int sig) {
    if (g_active) {
        (void)!::write(STDOUT_FILENO, kLeave, sizeof kLeave - 1);
        if (g_raw) ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &g_saved);
    }
    ::signal(sig, SIG_DFL);
    ::raise(sig);
}

void set_handler(int sig, void (*fn)(int)) {
    struct sigaction sa {};
    sa.sa_handler = fn;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    ::sigaction(sig, &sa, nullptr);
}

}  // namespace

Terminal::Terminal(bool keys, bool keyboard_signals) {
    if (g_pipe[0] < 0) {
        if (::pipe2(g_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
            throw std::system_error(errno, std::generic_category(), "pipe");
    }
    size(orig_rows_, orig_cols_);
    if (keys && ::isatty(STDIN_FILENO) && ::tcgetattr(STDIN_FILENO, &saved_) == 0) {
        struct termios t = saved_;
        t.c_lflag &= ~(ICANON | ECHO | IEXTEN);
        // Keyboard signals are read as keys (^C quits unless --persist), so
        // a terminal answer can never be taken for one either.
        t.c_lflag &= ~ISIG;
        t.c_iflag &= ~(IXON | ICRNL | INLCR);
        t.c_cc[VMIN] = 1;
        t.c_cc[VTIME] = 0;
        g_saved = saved_;
        raw_modes_ = t;
        raw_ = true;
    }
    (void)keyboard_signals;
    set_handler(SIGINT, on_signal);
    set_handler(SIGTERM, on_signal);
    set_handler(SIGHUP, on_signal);
    set_handler(SIGQUIT, on_signal);
    set_handler(SIGWINCH, on_signal);
    set_handler(SIGPIPE, SIG_IGN);
    set_handler(SIGTSTP, on_signal);
    for (int sig : {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL}) set_handler(sig, on_fatal);
    enter();
}

void Terminal::enter() {
    if (raw_) {
        if (::tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw_modes_) == 0)
            g_raw = 1;
        else
            raw_ = false;
    }
    g_active = 1;
    write(kEnter);
}

void Terminal::suspend() {
    g_active = 0;
    write(kLeave);
    if (g_raw) ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_);
    g_raw = 0;
    // Stop for real; execution continues here on SIGCONT.
    ::raise(SIGSTOP);
    enter();
}

Terminal::~Terminal() { restore(); }

void Terminal::restore() {
    if (restored_) return;
    restored_ = true;
    g_active = 0;
    std::string s = kLeave;
    if (resized_ && orig_rows_ && orig_cols_)
        s += "\x1b[8;" + std::to_string(orig_rows_) + ";" + std::to_string(orig_cols_) + "t";
    write(s);
    if (g_raw) ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_);
    g_raw = 0;
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGWINCH, SIGTSTP}) set_handler(sig, SIG_DFL);
}

void Terminal::write(std::string_view s) {
    while (!s.empty()) {
        ssize_t n = ::write(STDOUT_FILENO, s.data(), s.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) {
                usleep(1000);
                continue;
            }
            return;  // the terminal is gone (EIO, EPIPE): nothing to draw on
        }
        s.remove_prefix(static_cast<size_t>(n));
    }
}

bool Terminal::size(uint16_t& rows, uint16_t& cols) {
    struct winsize ws {};
    if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) != 0 || !ws.ws_row || !ws.ws_col) return false;
    rows = ws.ws_row;
    cols = ws.ws_col;
    return true;
}

int Terminal::signal_fd() const { return g_pipe[0]; }

bool Terminal::take_signals(bool& resized, bool& suspend) {
    unsigned char buf[64];
    bool stop = false;
    ssize_t n;
    while ((n = ::read(g_pipe[0], buf, sizeof buf)) > 0)
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] == SIGWINCH)
                resized = true;
            else if (buf[i] == SIGTSTP)
                suspend = true;
            else
                stop = true;
        }
    return stop;
}

void Terminal::request_size(uint16_t rows, uint16_t cols) {
    resized_ = true;
    write("\x1b[8;" + std::to_string(rows) + ";" + std::to_string(cols) + "t");
}

}  // namespace tlog::play::cli
