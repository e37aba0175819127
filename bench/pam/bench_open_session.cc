// pam_sm_open_session latency with a large policy (bench/pam/README.md).
// Runs under pam_wrapper + nss_wrapper (run_open_session.sh sets them up):
// N rounds of pam_start / pam_open_session / pam_end through libpam, with
// the module's first call (mapping and checking the cache) timed apart.
// Prints the first call, then median, p99 and mean of the rest, in µs.
#include <security/pam_appl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <algorithm>
#include <vector>

static double now_us() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

int main(int argc, char** argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s SERVICE USER ROUNDS\n", argv[0]);
        return 2;
    }
    const char* service = argv[1];
    const char* user = argv[2];
    const int rounds = atoi(argv[3]);
    static const struct pam_conv conv = {nullptr, nullptr};
    std::vector<double> us;
    double first = 0;
    for (int i = 0; i <= rounds; ++i) {
        pam_handle_t* h = nullptr;
        if (pam_start(service, user, &conv, &h) != PAM_SUCCESS) return 1;
        pam_set_item(h, PAM_TTY, "ssh");
        pam_set_item(h, PAM_RHOST, "192.0.2.7");
        const double t0 = now_us();
        const int rc = pam_open_session(h, 0);
        const double t = now_us() - t0;
        if (rc != PAM_SUCCESS) {
            fprintf(stderr, "pam_open_session: %s\n", pam_strerror(h, rc));
            return 1;
        }
        if (i == 0)
            first = t;
        else
            us.push_back(t);
        pam_end(h, rc);
    }
    std::sort(us.begin(), us.end());
    double sum = 0;
    for (double v : us) sum += v;
    printf("open_session %s/%s: first %.1f us, median %.1f us, p99 %.1f us, mean %.1f us (%d rounds)\n", service, user,
           first, us[us.size() / 2], us[us.size() * 99 / 100], sum / us.size(), rounds);
    return 0;
}
