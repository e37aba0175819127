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

[[noreturn]] void throw_errno(const std::string& what) { throw std::system_error(errno, std::generic_category(), what); }

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

} // namespace

void relay_request_stop(const std::string& why) {
    if (g_stop_reason.empty()) g_stop_reason = why.empty() ? "stop requested" : why;
}

RelayResult run_relay(const RelaySpec& spec, RelayObserver& obs) {
    RelayResult res;
    g_stop_reason.clear();
    const bool in_tty = isatty(spec.in_fd) == 1;
    const bool out_tty = isatty(spec.out_fd) == 1;
    const bool use_pty = spec.use_pty && in_tty && out_tty;
    res.pty = use_pty;

    termios tio{};
    winsize ws{};
    bool have_ws = false;
    if (use_pty) {
        tcgetattr(spec.in_fd, &tio);
        have_ws = ioctl(spec.out_fd, TIOCGWINSZ, &ws) == 0 || ioctl(spec.in_fd, TIOCGWINSZ, &ws) == 0;
    }

    // Signals are taken through a signalfd; the child gets the old mask back.
    sigset_t mask, oldmask;
    sigemptyset(&mask);
    for (int s : kSignals) sigaddset(&mask, s);
    if (sigprocmask(SIG_BLOCK, &mask, &oldmask) != 0) throw_errno("sigprocmask");
    struct MaskGuard {
        sigset_t old;
        ~MaskGuard() { sigprocmask(SIG_SETMASK, &old, nullptr); }
    } mask_guard{oldmask};
    Fd sigfd(signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
    if (sigfd.fd < 0) throw_errno("signalfd");
    struct sigaction ign {}, old_pipe{};
    ign.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &ign, &old_pipe);
    struct PipeGuard {
        struct sigaction old;
        ~PipeGuard() { sigaction(SIGPIPE, &old, nullptr); }
    } pipe_guard{old_pipe};

    // The terminal (or the pipes) the program gets.
    Fd master, slave;
    Fd child_in_w, child_out_r, child_err_r;  // pipe mode, our ends
    int child_fds[3] = {-1, -1, -1};
    Fd pipe_ends[3];                          // pipe mode, the child's ends
    if (use_pty) {
        if (spec.before_pty) spec.before_pty();
        int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
        int err = errno;
        if (m >= 0 && (grantpt(m) != 0 || unlockpt(m) != 0)) {
            err = errno;
            ::close(m);
            m = -1;
        }
        int s = -1;
        if (m >= 0) {
            s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
            if (s < 0) {
                char name[128];
                if (ptsname_r(m, name, sizeof name) == 0) s = ::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
            }
            err = errno;
        }
        if (spec.after_pty) spec.after_pty();
        if (m < 0 || s < 0) {
            if (m >= 0) ::close(m);
            errno = err;
            throw_errno("cannot open a pseudo-terminal");
        }
        master.reset(m);
        slave.reset(s);
        if (spec.on_pty) spec.on_pty(s);
        tcsetattr(s, TCSANOW, &tio);
        if (have_ws) ioctl(s, TIOCSWINSZ, &ws);
        child_fds[0] = child_fds[1] = child_fds[2] = s;
    } else {
        int p[3][2];
        for (int i = 0; i < 3; i++)
            if (pipe2(p[i], O_CLOEXEC) != 0) throw_errno("pipe");
        child_in_w.reset(p[0][1]);
        pipe_ends[0].reset(p[0][0]);
        child_out_r.reset(p[1][0]);
        pipe_ends[1].reset(p[1][1]);
        child_err_r.reset(p[2][0]);
        pipe_ends[2].reset(p[2][1]);
        for (int i = 0; i < 3; i++) child_fds[i] = pipe_ends[i].fd;
    }

    // Reports exec failure from the child.
    int errpipe[2];
    if (pipe2(errpipe, O_CLOEXEC) != 0) throw_errno("pipe");
    // The child execs only after the parent's go byte (the gate).
    int gopipe[2];
    if (pipe2(gopipe, O_CLOEXEC) != 0) {
        int e = errno;
        ::close(errpipe[0]);
        ::close(errpipe[1]);
        errno = e;
        throw_errno("pipe");
    }

    std::vector<char*> argv;
    for (const auto& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    std::vector<char*> envp;
    if (spec.env) {
        for (const auto& e : *spec.env) envp.push_back(const_cast<char*>(e.c_str()));
        envp.push_back(nullptr);
    }

    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        for (int fd : {errpipe[0], errpipe[1], gopipe[0], gopipe[1]}) ::close(fd);
        errno = e;
        throw_errno("fork");
    }
    if (pid == 0) {
        // ---- child: only async-signal-safe calls until exec.
        ::close(errpipe[0]);
        ::close(gopipe[1]);
        if (use_pty) {
            setsid();
            ioctl(child_fds[0], TIOCSCTTY, 0);
        }
        for (int i = 0; i < 3; i++) dup2(child_fds[i], i);  // dup2 clears O_CLOEXEC
        signal(SIGPIPE, SIG_DFL);
        sigprocmask(SIG_SETMASK, &oldmask, nullptr);
        if (spec.in_child) spec.in_child();
        char go = 0;
        ssize_t got;
        do got = ::read(gopipe[0], &go, 1);
        while (got < 0 && errno == EINTR);
        if (got != 1) _exit(126);  // the recording could not start: run nothing
        if (spec.env)
            execve(spec.path.c_str(), argv.data(), envp.data());
        else
            execv(spec.path.c_str(), argv.data());
        int e = errno;
        (void)!::write(errpipe[1], &e, sizeof e);
        _exit(exec_failure_status(e));
    }
    // ---- parent
    ::close(errpipe[1]);
    ::close(gopipe[0]);
    Fd go(gopipe[1]);
    if (spec.in_parent) spec.in_parent();
    slave.reset();
    for (auto& f : pipe_ends) f.reset();
    int64_t t0 = mono_now_ns();
    if (use_pty && have_ws) obs.window(t0, ws.ws_col, ws.ws_row);
    if (spec.gate && !spec.gate(t0)) {
        go.reset();  // the child sees EOF and exits without running the program
        ::close(errpipe[0]);
        int st = 0;
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
        res.reason = EndReason::Error;
        res.status = 1;
        res.error = "the recording could not start: " + spec.path + " was not run";
        return res;
    }
    (void)!::write(go.fd, "g", 1);
    go.reset();
    {
        int e = 0;
        ssize_t n;
        do n = ::read(errpipe[0], &e, sizeof e);
        while (n < 0 && errno == EINTR);
        ::close(errpipe[0]);
        if (n == static_cast<ssize_t>(sizeof e)) {
            int st = 0;
            while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
            res.reason = EndReason::Error;
            res.status = exec_failure_status(e);
            res.error = "cannot execute " + spec.path + ": " + strerror(e);
            return res;
        }
    }

    RawMode raw;
    if (use_pty) raw.enter(spec.in_fd);

    int prog_fd = use_pty ? master.fd : child_out_r.fd;
    int prog_in_fd = use_pty ? master.fd : child_in_w.fd;
    set_nonblock(prog_fd);
    if (!use_pty) {
        set_nonblock(child_err_r.fd);
        set_nonblock(child_in_w.fd);
    }

    static constexpr size_t kBuf = 65536;
    std::string buf(kBuf, '\0');
    std::string inbuf;           // input waiting for the program
    bool in_eof = false;         // our input ended
    bool out_open = true;        // our output still takes data
    bool prog_open = true;       // the program's output is still readable
    bool err_open = !use_pty;    // pipe mode: the program's stderr
    bool child_done = false;
    int child_status = 0;
    bool stopping = false;       // we hung the program up; waiting for it
    int64_t stop_deadline = INT64_MAX;
    int stop_signal = 0;

    auto hang_up = [&](EndReason why, int sig) {
        if (stopping) return;
        stopping = true;
        res.reason = why;
        stop_signal = sig;
        if (use_pty) {
            master.reset();  // the kernel sends SIGHUP to the program's session
            prog_open = false;
        } else {
            child_in_w.reset();
        }
        ::kill(pid, SIGHUP);  // may be refused (EPERM) once we are the tlog user: the hangup does it
        ::kill(pid, SIGCONT);
        stop_deadline = mono_now_ns() + static_cast<int64_t>(spec.hangup_wait_s) * 1000000000;
    };

    // Reads what the program wrote and passes it on.
    auto pump_output = [&](int fd, int dest, bool& open) {
        for (int rounds = 0; rounds < 16; rounds++) {
            ssize_t n = ::read(fd, buf.data(), kBuf);
            if (n > 0) {
                int64_t t = mono_now_ns();
                if (out_open && !write_all(dest, buf.data(), static_cast<size_t>(n))) out_open = false;
                obs.output(t, std::string_view(buf.data(), static_cast<size_t>(n)));
                if (static_cast<size_t>(n) < kBuf) return;
                continue;
            }
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && errno == EAGAIN) return;
            open = false;  // EOF, or EIO: every slave descriptor is closed
            return;
        }
    };

    auto flush_input = [&]() {
        while (!inbuf.empty() && prog_in_fd >= 0) {
            ssize_t w = ::write(prog_in_fd, inbuf.data(), inbuf.size());
            if (w > 0) {
                inbuf.erase(0, static_cast<size_t>(w));
            } else if (w < 0 && errno == EINTR) {
                continue;
            } else if (w < 0 && errno == EAGAIN) {
                return;
            } else {
                inbuf.clear();  // the program stopped reading for good
                return;
            }
        }
        if (inbuf.empty() && in_eof && !use_pty && child_in_w.fd >= 0) {
            child_in_w.reset();  // pass the end of input on
            prog_in_fd = -1;
        }
    };

    for (;;) {
        if (!g_stop_reason.empty() && !stopping) {
            res.error = g_stop_reason;
            hang_up(EndReason::Error, 0);
        }
        prog_fd = use_pty ? master.fd : child_out_r.fd;
        prog_in_fd = use_pty ? master.fd : child_in_w.fd;
        if (child_done) {
            // Drain what the program left and end. The pty moves data from
            // the slave to the master asynchronously, so "nothing to read
            // now" is not the end: read until EOF/EIO (every slave closed),
            // or until it stays quiet for 50 ms (a background process keeps
            // the terminal open), at most 2 s.
            int64_t give_up = mono_now_ns() + 2000000000;
            while ((prog_open && prog_fd >= 0) || err_open) {
                pollfd dp[2];
                int dn = 0;
                if (prog_open && prog_fd >= 0) dp[dn++] = {prog_fd, POLLIN, 0};
                if (err_open) dp[dn++] = {child_err_r.fd, POLLIN, 0};
                if (::poll(dp, static_cast<nfds_t>(dn), 50) <= 0 || mono_now_ns() > give_up) break;
                if (prog_open && prog_fd >= 0) pump_output(prog_fd, spec.out_fd, prog_open);
                if (err_open) pump_output(child_err_r.fd, spec.err_fd, err_open);
            }
            break;
        }
        pollfd pfd[5];
        int n = 0;
        pfd[n++] = {sigfd.fd, POLLIN, 0};
        int i_in = -1, i_prog = -1, i_err = -1, i_pin = -1;
        if (!in_eof && !stopping && inbuf.size() < kBuf) {
            i_in = n;
            pfd[n++] = {spec.in_fd, POLLIN, 0};
        }
        if (prog_open && prog_fd >= 0) {
            i_prog = n;
            pfd[n++] = {prog_fd, static_cast<short>(POLLIN | (use_pty && !inbuf.empty() ? POLLOUT : 0)), 0};
        }
        if (err_open) {
            i_err = n;
            pfd[n++] = {child_err_r.fd, POLLIN, 0};
        }
        if (!use_pty && !inbuf.empty() && prog_in_fd >= 0) {
            i_pin = n;
            pfd[n++] = {prog_in_fd, POLLOUT, 0};
        }
        int64_t now = mono_now_ns();
        int64_t dl = std::min(obs.deadline(), stop_deadline);
        int timeout = -1;
        if (dl != INT64_MAX) {
            int64_t ms = dl <= now ? 0 : (dl - now + 999999) / 1000000;
            timeout = ms > INT_MAX ? INT_MAX : static_cast<int>(ms);
        }
        int r = ::poll(pfd, static_cast<nfds_t>(n), timeout);
        if (r < 0 && errno != EINTR) {
            res.error = std::string("poll: ") + strerror(errno);
            hang_up(EndReason::Error, 0);
            continue;
        }
        now = mono_now_ns();
        if (obs.deadline() <= now) obs.tick(now);
        if (stopping && now >= stop_deadline) {
            // The program ignored the hangup; it may not be ours to kill.
            ::kill(pid, SIGKILL);
            res.error = res.error.empty() ? "program did not end after the hangup" : res.error;
            break;
        }
        if (r <= 0) continue;

        if (pfd[0].revents & POLLIN) {
            signalfd_siginfo si;
            while (::read(sigfd.fd, &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
                int sig = static_cast<int>(si.ssi_signo);
                if (sig == SIGCHLD) {
                    int st = 0;
                    pid_t w = waitpid(pid, &st, WNOHANG);
                    if (w == pid) {
                        child_done = true;
                        child_status = st;
                    }
                } else if (sig == SIGWINCH) {
                    winsize nws{};
                    if (use_pty && (ioctl(spec.out_fd, TIOCGWINSZ, &nws) == 0 || ioctl(spec.in_fd, TIOCGWINSZ, &nws) == 0)) {
                        if (master.fd >= 0) ioctl(master.fd, TIOCSWINSZ, &nws);
                        if (nws.ws_col != ws.ws_col || nws.ws_row != ws.ws_row) {
                            ws = nws;
                            obs.window(mono_now_ns(), ws.ws_col, ws.ws_row);
                        }
                    }
                } else if (sig == SIGHUP) {
                    hang_up(EndReason::Hangup, SIGHUP);
                } else if (sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU) {
                    // Job control belongs to the program under the pty; the
                    // recorder itself is never stopped by the terminal.
                } else {
                    // SIGTERM, SIGINT, SIGQUIT: pass on when we may, else end.
                    if (::kill(pid, sig) != 0) hang_up(EndReason::Signal, sig);
                    else if (!stop_signal) stop_signal = sig;
                }
            }
        }
        prog_in_fd = use_pty ? master.fd : child_in_w.fd;  // a hangup may have closed it
        if (i_in >= 0 && (pfd[i_in].revents & (POLLIN | POLLHUP | POLLERR))) {
            ssize_t k = ::read(spec.in_fd, buf.data(), kBuf);
            if (k > 0) {
                std::string_view d(buf.data(), static_cast<size_t>(k));
                obs.input(now, d);
                inbuf.append(d);
                flush_input();
            } else if (k == 0 || (errno != EINTR && errno != EAGAIN)) {
                in_eof = true;
                if (use_pty) {
                    // A terminal that reads as EOF or EIO is gone.
                    hang_up(EndReason::Hangup, 0);
                } else {
                    flush_input();
                }
            }
        }
        // A hangup above may have closed descriptors polled in this round.
        if (use_pty && master.fd < 0) i_prog = -1;
        if (!use_pty && child_in_w.fd < 0) i_pin = -1;
        prog_in_fd = use_pty ? master.fd : child_in_w.fd;
        if (i_prog >= 0 && pfd[i_prog].revents) {
            if (pfd[i_prog].revents & POLLOUT) flush_input();
            if (pfd[i_prog].revents & (POLLIN | POLLHUP | POLLERR))
                pump_output(prog_fd, spec.out_fd, prog_open);
        }
        if (i_err >= 0 && pfd[i_err].revents) pump_output(child_err_r.fd, spec.err_fd, err_open);
        if (i_pin >= 0 && pfd[i_pin].revents) {
            if (pfd[i_pin].revents & (POLLERR | POLLHUP)) {
                inbuf.clear();
                child_in_w.reset();
            } else {
                flush_input();
            }
        }
        if (!use_pty && !prog_open && !err_open && !child_done) {
            // Output closed: wait for the program itself.
            int st = 0;
            pid_t w;
            do w = waitpid(pid, &st, 0);
            while (w < 0 && errno == EINTR);
            child_done = true;
            child_status = st;
        }
    }

    if (!child_done) {
        int st = 0;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            child_done = true;
            child_status = st;
        }
    }
    if (!stopping) {
        if (WIFSIGNALED(child_status)) {
            res.reason = stop_signal ? EndReason::Signal : EndReason::ChildSignal;
            res.signal = WTERMSIG(child_status);
        } else {
            res.reason = EndReason::Exit;
        }
    } else {
        res.signal = stop_signal;
    }
    if (child_done) {
        res.status = WIFEXITED(child_status) ? WEXITSTATUS(child_status)
                     : WIFSIGNALED(child_status) ? 128 + WTERMSIG(child_status) : 1;
    } else {
        res.status = 128 + SIGHUP;
    }
    if (res.reason == EndReason::Error && res.status == 0) res.status = 1;
    return res;
}

} // namespace tlog::rec
