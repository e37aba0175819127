// The viewers' side of the HTTP interface (viewer_auth.cc): who sent a
// request (API token as Bearer or basic auth's password, or the session
// cookie of a PAM sign-in), POST /api/v1/login and /logout, and the
// throttle of failed sign-ins.
#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "tlog/server/store.h"
#include "tlog/server/viewers.h"

namespace tlog::server {

// Failed sign-ins counted per key (a user, a remote address) over a
// window; at the limit the key is refused for a backoff.
class LoginThrottle {
public:
    explicit LoginThrottle(const AuthSettings& s) : max_(s.login_max_failures), window_ms_(s.login_window_s * 1000) {}
    // Milliseconds until `key` may try again; 0: now.
    uint64_t wait_ms(const std::string& key, uint64_t now_ms);
    // Counts a failure; true if it reached the limit (a lockout begins).
    bool fail(const std::string& key, uint64_t now_ms);
    void clear(const std::string& key);

private:
    struct Entry {
        uint64_t first_ms = 0, last_ms = 0, count = 0;
    };
    uint64_t locked_until(const Entry& e) const;
    uint64_t max_, window_ms_;
    std::mutex mu_;
    std::map<std::string, Entry> entries_;
};

class ViewerAuth {
public:
    // The store is shared with the routes: each use takes `store_mu`.
    ViewerAuth(Store& store, std::mutex& store_mu, AuthSettings s)
        : store_(store), mu_(store_mu), s_(std::move(s)), throttle_(s_) {}
    // The viewer who sent `req`; nullopt: no valid credential.
    std::optional<std::string> viewer(const httplib::Request& req);
    // The answer to a request without valid credentials: the same for
    // every route.
    static void unauthorized(httplib::Response& res);
    void login(const httplib::Request& req, httplib::Response& res);
    void logout(const httplib::Request& req, httplib::Response& res);

private:
    std::optional<std::string> by_token(const std::string& token);
    // PAM's verdict in a worker thread: "" on success, else why not;
    // nullopt: PAM did not answer within the timeout.
    std::optional<std::string> pam_check(const std::string& user, const std::string& password,
                                         const std::string& remote);
    Store& store_;
    std::mutex& mu_;
    AuthSettings s_;
    LoginThrottle throttle_;
    // Worker threads not finished, hung ones too.
    std::shared_ptr<std::atomic<int>> pam_running_ = std::make_shared<std::atomic<int>>(0);
};

}  // namespace tlog::server
