// echo_latency: keystroke echo round trips through a command on a pty.
// Sends one byte, waits for its echo, N times; prints p50 p99 max in
// microseconds. The command is e.g. `cat` (bare pty: the line discipline
// echoes) or `tlog-rec -o LOG cat` (through the recorder: outer pty ->
// recorder -> inner pty echo -> recorder -> outer pty).
// Usage: echo_latency N CMD [ARGS...]
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

static long long now_ns() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char** argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: echo_latency N CMD [ARGS...]\n");
        return 2;
    }
    int n = atoi(argv[1]);
    int master = -1;
    winsize ws{};
    ws.ws_col = 80;
    ws.ws_row = 24;
    pid_t pid = forkpty(&master, nullptr, nullptr, &ws);
    if (pid < 0) return 1;
    if (pid == 0) {
        execvp(argv[2], argv + 2);
        _exit(127);
    }
    // Let the command set up (the recorder puts the terminal in raw mode).
    usleep(300000);
    char buf[4096];
    pollfd pfd{master, POLLIN, 0};
    while (poll(&pfd, 1, 100) > 0) (void)!read(master, buf, sizeof buf);  // notice, prompts
    std::vector<long long> lat;
    lat.reserve(static_cast<size_t>(n));
    for (int i = 0; i < n; i++) {
        char c = static_cast<char>('a' + i % 26);
        long long t = now_ns();
        if (write(master, &c, 1) != 1) return 1;
        bool got = false;
        while (!got) {
            if (poll(&pfd, 1, 5000) <= 0) {
                fprintf(stderr, "no echo after %d round trips\n", i);
                return 1;
            }
            ssize_t r = read(master, buf, sizeof buf);
            if (r <= 0) return 1;
            for (ssize_t k = 0; k < r; k++) got = got || buf[k] == c;
        }
        lat.push_back(now_ns() - t);
        if (i % 64 == 63) {  // keep cat's line short: a newline now and then
            long long t2 = now_ns();
            (void)t2;
            (void)!write(master, "\r", 1);
            while (poll(&pfd, 1, 50) > 0) (void)!read(master, buf, sizeof buf);
        }
    }
    kill(pid, SIGHUP);
    (void)!write(master, "\x04", 1);
    close(master);
    waitpid(pid, nullptr, 0);
    std::sort(lat.begin(), lat.end());
    auto pct = [&](double p) { return lat[std::min(lat.size() - 1, static_cast<size_t>(p * lat.size()))] / 1000.0; };
    printf("%.1f %.1f %.1f\n", pct(0.50), pct(0.99), lat.back() / 1000.0);
    return 0;
}
