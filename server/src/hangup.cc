#include "hangup.h"

#include <atomic>
#include <csignal>

namespace tlog::server {
namespace {

std::atomic<unsigned> count{0};
static_assert(std::atomic<unsigned>::is_always_lock_free, "the signal handler needs a lock-free counter");

extern "C" void on_sighup(int /*sig*/) { count.fetch_add(1); }

}  // namespace

void catch_hangups() {
    static const bool installed = [] {
        struct sigaction sa {};
        sa.sa_handler = on_sighup;
        sigaction(SIGHUP, &sa, nullptr);
        return true;
    }();
    (void)installed;
}

unsigned hangups() { return count.load(); }

}  // namespace tlog::server
