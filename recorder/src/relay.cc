#include "tlog/rec/relay.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <climits>
#include <cstring>
#include <system_error>

namespace tlog::rec {

int64_t mono_now_ns() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

int64_t real_now_ns() {
    timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

const char* end_word(EndReason r) {
    switch (r) {
        case EndReason::Exit: return "exit";
        case EndReason::ChildSignal: return "killed";
        case EndReason::Hangup: return "hangup";
        case EndReason::Signal: return "signal";
        case EndReason::Error: return "error";
    }
    return "error";
}

namespace {

std::string g_stop_reason;

[[noreturn]] void throw_errno(const std::string& what) {
    throw std::system_error(errno, std::generic_category(), what);
}

void set_nonblock(int fd) {
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0) fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

// Writes everything, waiting when the descriptor is non-blocking and full.
// Returns false on a hard error (EPIPE, EIO): the reader is gone.
bool write_all(int fd, const char* p, size_t n) {
    while (n) {
        ssize_t w = ::write(fd, p, n);
        if (w > 0) {
            p += w;
            n -= static_cast<size_t>(w);
        } else if (w < 0 && errno == EINTR) {
            continue;
        } else if (w < 0 && errno == EAGAIN) {
            pollfd pfd{fd, POLLOUT, 0};
            ::poll(&pfd, 1, 1000);
        } else {
            return false;
        }
    }
    return true;
}

// Restores the outer terminal whatever way the relay ends.
struct RawMode {
    int fd = -1;
    termios saved{};
    bool active = false;
    void enter(int f) {
        if (tcgetattr(f, &saved) != 0) return;
        termios raw = saved;
        cfmakeraw(&raw);
        raw.c_cc[VMIN] = 1;
        raw.c_cc[VTIME] = 0;
        if (tcsetattr(f, TCSANOW, &raw) == 0) {  // not FLUSH: keep type-ahead
            fd = f;
            active = true;
        }
    }
    ~RawMode() {
        if (active) tcsetattr(fd, TCSADRAIN, &saved);
    }
};

struct Fd {
    int fd = -1;
    Fd() = default;
    explicit Fd(int f) : fd(f) {}
    ~Fd() { reset(); }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    void reset(int f = -1) {
        if (fd >= 0) ::close(fd);
        fd = f;
    }
    int release() {
        int f = fd;
        fd = -1;
        return f;
    }
};

constexpr int kSignals[] = {SIGCHLD, SIGWINCH, SIGHUP, SIGTERM, SIGINT, SIGQUIT, SIGTSTP, SIGTTIN, SIGTTOU};

int exec_failure_status(int err) { return err == ENOENT ? 127 : 126; }

void wait_child(pid_t pid) {
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
}

// The signal mask the recorder had: the child gets it back before exec, and
// the recorder when the relay ends.
struct SignalMask {
    sigset_t old{};
    bool active = false;
    ~SignalMask() {
        if (active) sigprocmask(SIG_SETMASK, &old, nullptr);
    }
};

struct SigpipeDisposition {
    struct sigaction old {};
    bool active = false;
    ~SigpipeDisposition() {
        if (active) sigaction(SIGPIPE, &old, nullptr);
    }
};

// The descriptors a poll() round watches, and where each one is in it
// (-1: not watched this round).
struct PollSet {
    pollfd fds[5];
    int n = 0;
    int in = -1, prog = -1, err = -1, prog_in = -1;
    int add(int fd, short events) {
        fds[n] = {fd, events, 0};
        return n++;
    }
};

// One run of the relay. The members are declared in the order the steps
// create them, so they are released in reverse: the outer terminal leaves
// raw mode first and the signal mask comes back last, as with the locals of
// one long function.
class Relay {
public:
    Relay(const RelaySpec& spec, RelayObserver& obs) : spec_(spec), obs_(obs) {}

    RelayResult run() {
        g_stop_reason.clear();
        look_at_terminal();
        take_signals();
        if (use_pty_)
            open_pty();
        else
            open_pipes();
        open_sync_pipes();
        spawn();
        after_fork();
        if (!pass_gate() || !program_started()) return res_;
        start_relaying();
        while (poll_round()) {}
        return result();
    }

private:
    static constexpr size_t kBuf = 65536;

    // ---- terminal setup

    // A pty only when both ends are terminals: `ssh host cmd` and pipes get
    // pipes, and no window is recorded.
    void look_at_terminal() {
        const bool in_tty = isatty(spec_.in_fd) == 1;
        const bool out_tty = isatty(spec_.out_fd) == 1;
        use_pty_ = spec_.use_pty && in_tty && out_tty;
        res_.pty = use_pty_;
        if (use_pty_) {
            tcgetattr(spec_.in_fd, &tio_);
            have_ws_ = ioctl(spec_.out_fd, TIOCGWINSZ, &ws_) == 0 || ioctl(spec_.in_fd, TIOCGWINSZ, &ws_) == 0;
        }
    }

    // Signals arrive through a signalfd, so the poll loop handles them
    // between reads and writes, never in the middle of one.
    void take_signals() {
        sigset_t mask;
        sigemptyset(&mask);
        for (int s : kSignals) sigaddset(&mask, s);
        if (sigprocmask(SIG_BLOCK, &mask, &mask_.old) != 0) throw_errno("sigprocmask");
        mask_.active = true;
        sigfd_.reset(signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
        if (sigfd_.fd < 0) throw_errno("signalfd");
        struct sigaction ign {};
        ign.sa_handler = SIG_IGN;
        sigaction(SIGPIPE, &ign, &sigpipe_.old);
        sigpipe_.active = true;
    }

    // The program's terminal. It is opened with the identity the pty hook
    // gives (the user's, in tlog-rec-session): devpts gives the slave the
    // opener's ids, and a login's terminal belongs to the user.
    void open_pty() {
        int m = -1, s = -1, err = 0;
        auto open_both = [&] {
            m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
            err = errno;
            if (m >= 0 && (grantpt(m) != 0 || unlockpt(m) != 0)) {
                err = errno;
                ::close(m);
                m = -1;
            }
            if (m >= 0) {
                // TIOCGPTPEER: no path lookup of the slave someone could race.
                s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
                if (s < 0) {
                    char name[128];
                    if (ptsname_r(m, name, sizeof name) == 0) s = ::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
                }
                err = errno;
            }
        };
        if (spec_.as_pty_owner)
            spec_.as_pty_owner(open_both);
        else
            open_both();
        if (m < 0 || s < 0) {
            if (m >= 0) ::close(m);
            errno = err;
            throw_errno("cannot open a pseudo-terminal");
        }
        master_.reset(m);
        slave_.reset(s);
        if (spec_.on_pty) spec_.on_pty(s);
        tcsetattr(s, TCSANOW, &tio_);
        if (have_ws_) ioctl(s, TIOCSWINSZ, &ws_);
        child_fds_[0] = child_fds_[1] = child_fds_[2] = s;
    }

    void open_pipes() {
        int p[3][2];
        for (int i = 0; i < 3; i++)
            if (pipe2(p[i], O_CLOEXEC) != 0) throw_errno("pipe");
        child_in_w_.reset(p[0][1]);
        pipe_ends_[0].reset(p[0][0]);
        child_out_r_.reset(p[1][0]);
        pipe_ends_[1].reset(p[1][1]);
        child_err_r_.reset(p[2][0]);
        pipe_ends_[2].reset(p[2][1]);
        for (int i = 0; i < 3; i++) child_fds_[i] = pipe_ends_[i].fd;
    }

    // errpipe carries a failed exec's errno back; gopipe holds the child
    // before exec until the gate opens.
    void open_sync_pipes() {
        if (pipe2(errpipe_, O_CLOEXEC) != 0) throw_errno("pipe");
        if (pipe2(gopipe_, O_CLOEXEC) != 0) {
            int e = errno;
            ::close(errpipe_[0]);
            ::close(errpipe_[1]);
            errno = e;
            throw_errno("pipe");
        }
    }

    // ---- spawn

    void spawn() {
        // Built before the fork: the child may not allocate.
        for (const auto& a : spec_.argv) argv_.push_back(const_cast<char*>(a.c_str()));
        argv_.push_back(nullptr);
        if (spec_.env) {
            for (const auto& e : *spec_.env) envp_.push_back(const_cast<char*>(e.c_str()));
            envp_.push_back(nullptr);
        }
        pid_ = fork();
        if (pid_ < 0) {
            int e = errno;
            for (int fd : {errpipe_[0], errpipe_[1], gopipe_[0], gopipe_[1]}) ::close(fd);
            errno = e;
            throw_errno("fork");
        }
        if (pid_ == 0) exec_child();
    }

    // The forked child: only async-signal-safe calls until exec (the parent
    // may hold locks of malloc or stdio that no thread will ever release here).
    [[noreturn]] void exec_child() {
        ::close(errpipe_[0]);
        ::close(gopipe_[1]);
        if (use_pty_) {
            setsid();
            ioctl(child_fds_[0], TIOCSCTTY, 0);
        }
        for (int i = 0; i < 3; i++) dup2(child_fds_[i], i);  // dup2 clears O_CLOEXEC
        signal(SIGPIPE, SIG_DFL);
        sigprocmask(SIG_SETMASK, &mask_.old, nullptr);
        if (spec_.in_child) spec_.in_child();
        char go = 0;
        ssize_t got;
        do got = ::read(gopipe_[0], &go, 1);
        while (got < 0 && errno == EINTR);
        if (got != 1) _exit(126);  // the recording could not start: run nothing
        if (spec_.env)
            execve(spec_.path.c_str(), argv_.data(), envp_.data());
        else
            execv(spec_.path.c_str(), argv_.data());
        int e = errno;
        (void)!::write(errpipe_[1], &e, sizeof e);
        _exit(exec_failure_status(e));
    }

    void after_fork() {
        ::close(errpipe_[1]);
        ::close(gopipe_[0]);
        go_.reset(gopipe_[1]);
        if (spec_.in_parent) spec_.in_parent();
        slave_.reset();
        for (auto& f : pipe_ends_) f.reset();
        t0_ = mono_now_ns();
        if (use_pty_ && have_ws_) obs_.window(t0_, ws_.ws_col, ws_.ws_row);
    }

    // ---- the gate

    // The child waits on gopipe; false from the gate closes it, and the
    // child exits without running the program.
    bool pass_gate() {
        if (!spec_.gate || spec_.gate(t0_)) return true;
        go_.reset();
        ::close(errpipe_[0]);
        wait_child(pid_);
        res_.reason = EndReason::Error;
        res_.status = 1;
        res_.error = "the recording could not start: " + spec_.path + " was not run";
        return false;
    }

    // Opens the gate and waits for the exec: EOF on errpipe (close-on-exec)
    // means the program runs, an errno means it never will.
    bool program_started() {
        (void)!::write(go_.fd, "g", 1);
        go_.reset();
        int e = 0;
        ssize_t n;
        do n = ::read(errpipe_[0], &e, sizeof e);
        while (n < 0 && errno == EINTR);
        ::close(errpipe_[0]);
        if (n != static_cast<ssize_t>(sizeof e)) return true;
        wait_child(pid_);
        res_.reason = EndReason::Error;
        res_.status = exec_failure_status(e);
        res_.error = "cannot execute " + spec_.path + ": " + strerror(e);
        return false;
    }

    // ---- the poll loop

    void start_relaying() {
        if (use_pty_) raw_.enter(spec_.in_fd);
        prog_fd_ = use_pty_ ? master_.fd : child_out_r_.fd;
        prog_in_fd_ = use_pty_ ? master_.fd : child_in_w_.fd;
        set_nonblock(prog_fd_);
        if (!use_pty_) {
            set_nonblock(child_err_r_.fd);
            set_nonblock(child_in_w_.fd);
        }
        buf_.assign(kBuf, '\0');
        err_open_ = !use_pty_;
    }

    // The descriptors the program reads from and writes to; a hangup closes them.
    void refresh_prog_fds() {
        prog_fd_ = use_pty_ ? master_.fd : child_out_r_.fd;
        prog_in_fd_ = use_pty_ ? master_.fd : child_in_w_.fd;
    }

    // One round: false when the relay is over.
    bool poll_round() {
        if (!g_stop_reason.empty() && !stopping_) {
            res_.error = g_stop_reason;
            hang_up(EndReason::Error, 0);
        }
        refresh_prog_fds();
        if (child_done_) {
            drain();
            return false;
        }
        PollSet ps;
        ps.add(sigfd_.fd, POLLIN);
        if (!in_eof_ && !stopping_ && inbuf_.size() < kBuf) ps.in = ps.add(spec_.in_fd, POLLIN);
        if (prog_open_ && prog_fd_ >= 0)
            ps.prog = ps.add(prog_fd_, static_cast<short>(POLLIN | (use_pty_ && !inbuf_.empty() ? POLLOUT : 0)));
        if (err_open_) ps.err = ps.add(child_err_r_.fd, POLLIN);
        if (!use_pty_ && !inbuf_.empty() && prog_in_fd_ >= 0) ps.prog_in = ps.add(prog_in_fd_, POLLOUT);
        int r = ::poll(ps.fds, static_cast<nfds_t>(ps.n), poll_timeout_ms());
        if (r < 0 && errno != EINTR) {
            res_.error = std::string("poll: ") + strerror(errno);
            hang_up(EndReason::Error, 0);
            return true;
        }
        int64_t now = mono_now_ns();
        if (obs_.deadline() <= now) obs_.tick(now);
        if (stopping_ && now >= stop_deadline_) {
            // The program ignored the hangup; it may not be ours to kill.
            ::kill(pid_, SIGKILL);
            res_.error = res_.error.empty() ? "program did not end after the hangup" : res_.error;
            return false;
        }
        if (r <= 0) return true;

        if (ps.fds[0].revents & POLLIN) dispatch_signals();
        prog_in_fd_ = use_pty_ ? master_.fd : child_in_w_.fd;  // a hangup may have closed it
        if (ps.in >= 0 && (ps.fds[ps.in].revents & (POLLIN | POLLHUP | POLLERR))) read_input(now);
        // A hangup above may have closed descriptors polled in this round.
        if (use_pty_ && master_.fd < 0) ps.prog = -1;
        if (!use_pty_ && child_in_w_.fd < 0) ps.prog_in = -1;
        prog_in_fd_ = use_pty_ ? master_.fd : child_in_w_.fd;
        if (ps.prog >= 0 && ps.fds[ps.prog].revents) {
            if (ps.fds[ps.prog].revents & POLLOUT) flush_input();
            if (ps.fds[ps.prog].revents & (POLLIN | POLLHUP | POLLERR)) pump_output(prog_fd_, spec_.out_fd, prog_open_);
        }
        if (ps.err >= 0 && ps.fds[ps.err].revents) pump_output(child_err_r_.fd, spec_.err_fd, err_open_);
        if (ps.prog_in >= 0 && ps.fds[ps.prog_in].revents) {
            if (ps.fds[ps.prog_in].revents & (POLLERR | POLLHUP)) {
                inbuf_.clear();
                child_in_w_.reset();
            } else {
                flush_input();
            }
        }
        if (!use_pty_ && !prog_open_ && !err_open_ && !child_done_) {
            // Output closed: wait for the program itself.
            int st = 0;
            pid_t w;
            do w = waitpid(pid_, &st, 0);
            while (w < 0 && errno == EINTR);
            child_done_ = true;
            child_status_ = st;
        }
        return true;
    }

    // Until the observer's next deadline (the latency timer) or the end of
    // the wait after a hangup; none: forever.
    int poll_timeout_ms() {
        int64_t now = mono_now_ns();
        int64_t dl = std::min(obs_.deadline(), stop_deadline_);
        if (dl == INT64_MAX) return -1;
        int64_t ms = dl <= now ? 0 : (dl - now + 999999) / 1000000;
        return ms > INT_MAX ? INT_MAX : static_cast<int>(ms);
    }

    void read_input(int64_t now) {
        ssize_t k = ::read(spec_.in_fd, buf_.data(), kBuf);
        if (k > 0) {
            std::string_view d(buf_.data(), static_cast<size_t>(k));
            if (reads_secret())
                obs_.secret_input(now, d);
            else
                obs_.input(now, d);
            inbuf_.append(d);
            flush_input();
        } else if (k == 0 || (errno != EINTR && errno != EAGAIN)) {
            in_eof_ = true;
            if (use_pty_) {
                // A terminal that reads as EOF or EIO is gone.
                hang_up(EndReason::Hangup, 0);
            } else {
                flush_input();
            }
        }
    }

    // The mode the program set on its terminal, read at each input read: a
    // password prompt (getpass, readpassphrase, sudo, PAM's conversation,
    // `read -s`) turns echo off and keeps canonical mode, while full-screen
    // programs and line editors that echo by themselves (vim, less, tmux,
    // readline) turn canonical mode off too, and keep their input recorded.
    // One ioctl per read of the user's keys; Linux answers TCGETS on the
    // master with the slave's termios. The bytes are judged by the mode at
    // the time they are read, before the program sees them: keys typed
    // ahead of the prompt are recorded (doc/recorder-design.md).
    bool reads_secret() const {
        if (!use_pty_ || !spec_.watch_echo || master_.fd < 0) return false;
        termios t{};
        if (tcgetattr(master_.fd, &t) != 0) return false;
        return (t.c_lflag & ICANON) != 0 && (t.c_lflag & ECHO) == 0;
    }

    // ---- signal dispatch

    void dispatch_signals() {
        signalfd_siginfo si;
        while (::read(sigfd_.fd, &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
            int sig = static_cast<int>(si.ssi_signo);
            if (sig == SIGCHLD) {
                int st = 0;
                pid_t w = waitpid(pid_, &st, WNOHANG);
                if (w == pid_) {
                    child_done_ = true;
                    child_status_ = st;
                }
            } else if (sig == SIGWINCH) {
                window_changed();
            } else if (sig == SIGHUP) {
                hang_up(EndReason::Hangup, SIGHUP);
            } else if (sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU) {
                // Job control belongs to the program under the pty; the
                // recorder itself is never stopped by the terminal.
            } else {
                // SIGTERM, SIGINT, SIGQUIT: pass on when we may, else end.
                if (::kill(pid_, sig) != 0)
                    hang_up(EndReason::Signal, sig);
                else if (!stop_signal_)
                    stop_signal_ = sig;
            }
        }
    }

    void window_changed() {
        winsize nws{};
        if (use_pty_ && (ioctl(spec_.out_fd, TIOCGWINSZ, &nws) == 0 || ioctl(spec_.in_fd, TIOCGWINSZ, &nws) == 0)) {
            if (master_.fd >= 0) ioctl(master_.fd, TIOCSWINSZ, &nws);
            if (nws.ws_col != ws_.ws_col || nws.ws_row != ws_.ws_row) {
                ws_ = nws;
                obs_.window(mono_now_ns(), ws_.ws_col, ws_.ws_row);
            }
        }
    }

    void hang_up(EndReason why, int sig) {
        if (stopping_) return;
        stopping_ = true;
        res_.reason = why;
        stop_signal_ = sig;
        if (use_pty_) {
            master_.reset();  // the kernel sends SIGHUP to the program's session
            prog_open_ = false;
        } else {
            child_in_w_.reset();
        }
        ::kill(pid_, SIGHUP);  // may be refused (EPERM) once we are the tlog user: the hangup does it
        ::kill(pid_, SIGCONT);
        stop_deadline_ = mono_now_ns() + static_cast<int64_t>(spec_.hangup_wait_s) * 1000000000;
    }

    // Reads what the program wrote and passes it on.
    void pump_output(int fd, int dest, bool& open) {
        for (int rounds = 0; rounds < 16; rounds++) {
            ssize_t n = ::read(fd, buf_.data(), kBuf);
            if (n > 0) {
                int64_t t = mono_now_ns();
                if (out_open_ && !write_all(dest, buf_.data(), static_cast<size_t>(n))) out_open_ = false;
                obs_.output(t, std::string_view(buf_.data(), static_cast<size_t>(n)));
                if (static_cast<size_t>(n) < kBuf) return;
                continue;
            }
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && errno == EAGAIN) return;
            open = false;  // EOF, or EIO: every slave descriptor is closed
            return;
        }
    }

    void flush_input() {
        while (!inbuf_.empty() && prog_in_fd_ >= 0) {
            ssize_t w = ::write(prog_in_fd_, inbuf_.data(), inbuf_.size());
            if (w > 0) {
                inbuf_.erase(0, static_cast<size_t>(w));
            } else if (w < 0 && errno == EINTR) {
                continue;
            } else if (w < 0 && errno == EAGAIN) {
                return;
            } else {
                inbuf_.clear();  // the program stopped reading for good
                return;
            }
        }
        if (inbuf_.empty() && in_eof_ && !use_pty_ && child_in_w_.fd >= 0) {
            child_in_w_.reset();  // pass the end of input on
            prog_in_fd_ = -1;
        }
    }

    // ---- drain

    // The pty moves data from the slave to the master asynchronously, so
    // "nothing to read now" after the program's exit is not the end: read
    // until EOF/EIO (every slave closed), or until it stays quiet for 50 ms
    // (a background process keeps the terminal open), at most 2 s.
    void drain() {
        int64_t give_up = mono_now_ns() + 2000000000;
        while ((prog_open_ && prog_fd_ >= 0) || err_open_) {
            pollfd dp[2];
            int dn = 0;
            if (prog_open_ && prog_fd_ >= 0) dp[dn++] = {prog_fd_, POLLIN, 0};
            if (err_open_) dp[dn++] = {child_err_r_.fd, POLLIN, 0};
            if (::poll(dp, static_cast<nfds_t>(dn), 50) <= 0 || mono_now_ns() > give_up) break;
            if (prog_open_ && prog_fd_ >= 0) pump_output(prog_fd_, spec_.out_fd, prog_open_);
            if (err_open_) pump_output(child_err_r_.fd, spec_.err_fd, err_open_);
        }
    }

    // ---- result

    RelayResult result() {
        if (!child_done_) {
            int st = 0;
            if (waitpid(pid_, &st, WNOHANG) == pid_) {
                child_done_ = true;
                child_status_ = st;
            }
        }
        if (!stopping_) {
            if (WIFSIGNALED(child_status_)) {
                res_.reason = stop_signal_ ? EndReason::Signal : EndReason::ChildSignal;
                res_.signal = WTERMSIG(child_status_);
            } else {
                res_.reason = EndReason::Exit;
            }
        } else {
            res_.signal = stop_signal_;
        }
        if (child_done_) {
            res_.status = WIFEXITED(child_status_)     ? WEXITSTATUS(child_status_)
                          : WIFSIGNALED(child_status_) ? 128 + WTERMSIG(child_status_)
                                                       : 1;
        } else {
            res_.status = 128 + SIGHUP;
        }
        if (res_.reason == EndReason::Error && res_.status == 0) res_.status = 1;
        return res_;
    }

    const RelaySpec& spec_;
    RelayObserver& obs_;
    RelayResult res_;

    // terminal setup
    bool use_pty_ = false;
    termios tio_{};
    winsize ws_{};
    bool have_ws_ = false;
    SignalMask mask_;
    Fd sigfd_;
    SigpipeDisposition sigpipe_;
    Fd master_, slave_;
    Fd child_in_w_, child_out_r_, child_err_r_;  // pipe mode, our ends
    int child_fds_[3] = {-1, -1, -1};
    Fd pipe_ends_[3];  // pipe mode, the child's ends
    int errpipe_[2] = {-1, -1};
    int gopipe_[2] = {-1, -1};

    // spawn
    std::vector<char*> argv_, envp_;
    pid_t pid_ = -1;
    Fd go_;
    int64_t t0_ = 0;

    // the poll loop
    RawMode raw_;
    int prog_fd_ = -1, prog_in_fd_ = -1;
    std::string buf_;
    std::string inbuf_;      // input waiting for the program
    bool in_eof_ = false;    // our input ended
    bool out_open_ = true;   // our output still takes data
    bool prog_open_ = true;  // the program's output is still readable
    bool err_open_ = false;  // pipe mode: the program's stderr
    bool child_done_ = false;
    int child_status_ = 0;
    bool stopping_ = false;  // we hung the program up; waiting for it
    int64_t stop_deadline_ = INT64_MAX;
    int stop_signal_ = 0;
};

}  // namespace

void relay_request_stop(const std::string& why) {
    if (g_stop_reason.empty()) g_stop_reason = why.empty() ? "stop requested" : why;
}

RelayResult run_relay(const RelaySpec& spec, RelayObserver& obs) { return Relay(spec, obs).run(); }

}  // namespace tlog::rec
