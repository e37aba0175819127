// ptyrun: runs a command on a fresh pty (as a terminal would), drains its
// output as fast as possible, and prints what the command tree cost:
//   wall_s user_s sys_s maxrss_kb
// Usage: ptyrun [--cols N --rows N] CMD [ARGS...]
#include <pty.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

int main(int argc, char** argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: ptyrun CMD [ARGS...]\n");
        return 2;
    }
    winsize ws{};
    ws.ws_col = 120;
    ws.ws_row = 40;
    int master = -1;
    timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid = forkpty(&master, nullptr, nullptr, &ws);
    if (pid < 0) {
        perror("forkpty");
        return 1;
    }
    if (pid == 0) {
        execvp(argv[1], argv + 1);
        perror("exec");
        _exit(127);
    }
    static char buf[1 << 16];
    unsigned long long bytes = 0;
    for (;;) {
        ssize_t n = read(master, buf, sizeof buf);
        if (n > 0) {
            bytes += static_cast<unsigned long long>(n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        break;  // EIO: every slave closed
    }
    int st = 0;
    rusage ru{};
    wait4(pid, &st, 0, &ru);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double wall = static_cast<double>(t1.tv_sec - t0.tv_sec) + static_cast<double>(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("%.3f %.3f %.3f %ld %llu %d\n", wall, static_cast<double>(ru.ru_utime.tv_sec) + ru.ru_utime.tv_usec / 1e6,
           static_cast<double>(ru.ru_stime.tv_sec) + ru.ru_stime.tv_usec / 1e6, ru.ru_maxrss, bytes,
           WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
    return 0;
}
