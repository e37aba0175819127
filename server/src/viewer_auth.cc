// Signing viewers in: API tokens (Bearer, or basic auth's password as
// Debian's tlog-play sends it from USER:TOKEN@ in its URL), and sessions
// of a PAM sign-in (service tlog-server) in the cookie tlog_session.
#include "viewer_auth.h"

#include <security/pam_appl.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <thread>
#include <utility>

#include "tlog/hex.h"
#include "tlog/json.h"
#include "tlog/server/secret.h"

namespace tlog::server {

namespace {

constexpr const char* json_type = "application/json; charset=UTF-8";
constexpr const char* cookie_name = "tlog_session";
// PAM sign-ins in progress at once, hung ones included: past this the
// server answers 503 rather than starting more threads.
constexpr int max_pam_threads = 16;
constexpr uint64_t base_backoff_ms = 30 * 1000;

uint64_t now_ms() {
    return static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count());
}

void reply(httplib::Response& res, int status, const std::string& error) {
    auto o = json::Value::make_object();
    o.set("error", json::Value::make_string(error));
    o.set("status", json::Value::make_uint(static_cast<uint64_t>(status)));
    res.status = status;
    res.set_content(json::dump(o) + "\n", json_type);
}

// One JSON line on standard error, as the request log: who tried, from
// where and why it failed (never the password).
void log_event(const char* event, const std::string& user, const std::string& remote, const std::string& reason) {
    std::string line = std::string("{\"time_ms\":") + std::to_string(now_ms()) + ",\"event\":" + json::quote(event) +
                       ",\"user\":" + json::quote(user.substr(0, 256)) + ",\"remote\":" + json::quote(remote) +
                       ",\"reason\":" + json::quote(reason) + "}\n";
    std::fwrite(line.data(), 1, line.size(), stderr);
}

// The value of cookie `name` in the request's Cookie headers, if any.
std::optional<std::string> cookie(const httplib::Request& req, const std::string& name) {
    size_t n = req.get_header_value_count("Cookie");
    for (size_t k = 0; k < n; ++k) {
        const std::string header = req.get_header_value("Cookie", k);
        std::string_view v = header;
        while (!v.empty()) {
            size_t semi = v.find(';');
            std::string_view part = v.substr(0, semi);
            v = semi == std::string_view::npos ? std::string_view() : v.substr(semi + 1);
            while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
            if (part.size() > name.size() && part.substr(0, name.size()) == name && part[name.size()] == '=') {
                return std::string(part.substr(name.size() + 1));
            }
        }
    }
    return std::nullopt;
}

bool is_secret(const std::string& s) {
    return s.size() == 64 && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

// What the PAM worker thread and the request share: the thread may
// outlive the request (a hung module), so both own it.
struct PamCall {
    std::string service, user, password, remote;
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    std::string verdict;  // "" success, else PAM's reason
};

// The conversation: the password for a hidden prompt, the user name for a
// visible one, nothing for messages.
extern "C" int converse(int n, const struct pam_message** msg, struct pam_response** resp, void* data) {
    if (n <= 0 || n > PAM_MAX_NUM_MSG) return PAM_CONV_ERR;
    auto* call = static_cast<PamCall*>(data);
    auto* r = static_cast<pam_response*>(std::calloc(static_cast<size_t>(n), sizeof(pam_response)));
    if (r == nullptr) return PAM_BUF_ERR;
    for (int i = 0; i < n; ++i) {
        const char* answer = nullptr;
        if (msg[i]->msg_style == PAM_PROMPT_ECHO_OFF) {
            answer = call->password.c_str();
        } else if (msg[i]->msg_style == PAM_PROMPT_ECHO_ON) {
            answer = call->user.c_str();
        }
        if (answer != nullptr) {
            r[i].resp = strdup(answer);
            if (r[i].resp == nullptr) {
                for (int j = 0; j < i; ++j) std::free(r[j].resp);
                std::free(r);
                return PAM_BUF_ERR;
            }
        }
    }
    *resp = r;
    return PAM_SUCCESS;
}

void run_pam(const std::shared_ptr<PamCall>& call) {
    pam_conv conv{converse, call.get()};
    pam_handle_t* h = nullptr;
    int rc = pam_start(call->service.c_str(), call->user.c_str(), &conv, &h);
    std::string verdict;
    if (rc != PAM_SUCCESS) {
        verdict = std::string("pam_start: ") + pam_strerror(nullptr, rc);
    } else {
        pam_set_item(h, PAM_RHOST, call->remote.c_str());
        rc = pam_authenticate(h, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
        if (rc == PAM_SUCCESS) {
            rc = pam_acct_mgmt(h, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
            if (rc != PAM_SUCCESS) verdict = std::string("account: ") + pam_strerror(h, rc);
        } else {
            verdict = pam_strerror(h, rc);
        }
        pam_end(h, rc);
    }
    std::lock_guard<std::mutex> g(call->mu);
    // The password is not kept past PAM's use of it.
    std::fill(call->password.begin(), call->password.end(), '\0');
    call->verdict = verdict.empty() && rc != PAM_SUCCESS ? "failed" : verdict;
    call->done = true;
    call->cv.notify_all();
}

}  // namespace

std::string issue_viewer_token(Store& store, ViewerToken& t) {
    t.id = hex::random(6);
    std::string token = new_secret();
    store.add_viewer_token(t, secret_hash(token));
    return token;
}

const char* permission_name(Permission p) {
    switch (p) {
        case Permission::Public: return "none";
        case Permission::Host: return "host";
        case Permission::Search: return "search";
        case Permission::View: return "view";
        case Permission::Export: return "export";
        case Permission::Purge: return "purge";
        case Permission::Hold: return "hold";
        case Permission::Manage: return "manage";
        case Permission::Viewer: return "viewer";
    }
    return "?";
}

uint64_t LoginThrottle::locked_until(const Entry& e) const {
    if (e.count < max_) return 0;
    uint64_t backoff = base_backoff_ms << std::min<uint64_t>(e.count - max_, 16);
    return e.last_ms + std::min(backoff, std::max(window_ms_, base_backoff_ms));
}

uint64_t LoginThrottle::wait_ms(const std::string& key, uint64_t now) {
    std::lock_guard<std::mutex> g(mu_);
    auto it = entries_.find(key);
    if (it == entries_.end()) return 0;
    uint64_t until = locked_until(it->second);
    return until > now ? until - now : 0;
}

bool LoginThrottle::fail(const std::string& key, uint64_t now) {
    std::lock_guard<std::mutex> g(mu_);
    // Bounded: entries whose window and lockout are over go first; an
    // attacker spraying addresses cannot grow the map without end.
    constexpr size_t bound = 65536;
    if (entries_.size() >= bound) {
        for (auto it = entries_.begin(); it != entries_.end();) {
            bool over = it->second.first_ms + window_ms_ <= now && locked_until(it->second) <= now;
            it = over ? entries_.erase(it) : std::next(it);
        }
        if (entries_.size() >= bound) entries_.erase(entries_.begin());
    }
    Entry& e = entries_[key];
    if (e.count == 0 || (e.first_ms + window_ms_ <= now && locked_until(e) <= now)) {
        e = {now, now, 0};
    }
    e.count++;
    e.last_ms = now;
    return e.count >= max_;
}

void LoginThrottle::clear(const std::string& key) {
    std::lock_guard<std::mutex> g(mu_);
    entries_.erase(key);
}

void ViewerAuth::unauthorized(httplib::Response& res) {
    res.set_header("WWW-Authenticate", "Bearer realm=\"tlog-server\", Basic realm=\"tlog-server\"");
    reply(res, 401, "authentication required");
}

std::optional<std::string> ViewerAuth::by_token(const std::string& token) {
    if (!is_secret(token)) return std::nullopt;
    const std::string hash = secret_hash(token);
    auto found = [&] {
        std::lock_guard<std::mutex> g(mu_);
        return store_.viewer_token(hash);
    }();
    if (!found || !same_hash(found->second, hash)) return std::nullopt;
    const ViewerToken& t = found->first;
    uint64_t now = now_ms();
    if (t.revoked_ms != 0 || (t.expires_ms != 0 && now >= t.expires_ms)) return std::nullopt;
    return t.viewer;
}

std::optional<std::string> ViewerAuth::viewer(const httplib::Request& req) {
    if (req.has_header("Authorization")) {
        auto c = authorization_credentials(req.get_header_value("Authorization"));
        if (!c) return std::nullopt;
        auto v = by_token(c->secret);
        // Basic's USER:TOKEN: the user must be the token's viewer.
        if (v && (!c->basic || *v == c->user)) return v;
        return std::nullopt;
    }
    auto id = cookie(req, cookie_name);
    if (!id || !is_secret(*id)) return std::nullopt;
    std::lock_guard<std::mutex> g(mu_);
    return store_.viewer_session(secret_hash(*id), now_ms(), s_.session_idle_s * 1000, s_.session_max_s * 1000);
}

std::optional<std::string> ViewerAuth::pam_check(const std::string& user, const std::string& password,
                                                 const std::string& remote) {
    auto call = std::make_shared<PamCall>();
    call->service = s_.pam_service;
    call->user = user;
    call->password = password;
    call->remote = remote;
    ++*pam_running_;
    // Detached: a hung PAM module keeps its thread, not the request's
    // (and may outlive this object: it owns what it uses).
    std::thread([call, running = pam_running_] {
        run_pam(call);
        --*running;
    }).detach();
    std::unique_lock<std::mutex> lk(call->mu);
    if (!call->cv.wait_for(lk, std::chrono::seconds(s_.pam_timeout_s), [&] { return call->done; })) {
        return std::nullopt;
    }
    return call->verdict;
}

void ViewerAuth::login(const httplib::Request& req, httplib::Response& res) {
    const std::string& remote = req.remote_addr;
    std::string user, password;
    try {
        auto v = json::parse(req.body, "request body");
        const auto* u = v.is_object() ? v.find("user") : nullptr;
        const auto* p = v.is_object() ? v.find("password") : nullptr;
        if (u == nullptr || p == nullptr || !u->is_string() || !p->is_string() || u->as_string().empty() ||
            v.members().size() != 2) {
            reply(res, 400, "expected {\"user\": NAME, \"password\": PASSWORD}");
            return;
        }
        user = u->as_string();
        password = p->as_string();
    } catch (const std::exception&) {
        reply(res, 400, "expected {\"user\": NAME, \"password\": PASSWORD}");
        return;
    }
    if (user.size() > 256 || user.find_first_of(std::string("\0:/\n", 4)) != std::string::npos) {
        log_event("login_failed", user, remote, "bad user name");
        reply(res, 401, "sign-in failed");
        return;
    }
    const std::string user_key = "user:" + user, remote_key = "remote:" + remote;
    uint64_t now = now_ms();
    uint64_t wait = std::max(throttle_.wait_ms(user_key, now), throttle_.wait_ms(remote_key, now));
    if (wait > 0) {
        log_event("login_refused", user, remote, "too many failed sign-ins");
        res.set_header("Retry-After", std::to_string((wait + 999) / 1000));
        reply(res, 429, "too many failed sign-ins; try again later");
        return;
    }
    if (pam_running_->load() >= max_pam_threads) {
        log_event("login_failed", user, remote, "too many sign-ins in progress");
        reply(res, 503, "too many sign-ins in progress");
        return;
    }
    auto verdict = pam_check(user, password, remote);
    std::fill(password.begin(), password.end(), '\0');
    if (!verdict) {
        log_event("login_failed", user, remote, "PAM did not answer in time");
        reply(res, 503, "the sign-in did not complete in time");
        return;
    }
    if (!verdict->empty()) {
        now = now_ms();
        bool locked_user = throttle_.fail(user_key, now);
        bool locked_remote = throttle_.fail(remote_key, now);
        log_event("login_failed", user, remote, *verdict);
        if (locked_user || locked_remote) {
            log_event("login_lockout", user, remote, locked_user ? "user" : "remote");
        }
        reply(res, 401, "sign-in failed");
        return;
    }
    throttle_.clear(user_key);
    std::string id = new_secret();
    now = now_ms();
    {
        std::lock_guard<std::mutex> g(mu_);
        store_.add_viewer_session(secret_hash(id), user, now, s_.session_idle_s * 1000, s_.session_max_s * 1000);
    }
    log_event("login", user, remote, "signed in");
    res.set_header("Set-Cookie", std::string(cookie_name) + "=" + id + "; Path=/; HttpOnly; SameSite=Strict" +
                                     (s_.secure_cookie ? "; Secure" : "") +
                                     "; Max-Age=" + std::to_string(s_.session_max_s));
    auto o = json::Value::make_object();
    o.set("viewer", json::Value::make_string(user));
    o.set("expires_ms", json::Value::make_uint(now + s_.session_max_s * 1000));
    o.set("idle_timeout_s", json::Value::make_uint(s_.session_idle_s));
    res.set_content(json::dump(o) + "\n", json_type);
}

void ViewerAuth::logout(const httplib::Request& req, httplib::Response& res) {
    auto id = cookie(req, cookie_name);
    if (id && is_secret(*id)) {
        std::lock_guard<std::mutex> g(mu_);
        store_.end_viewer_session(secret_hash(*id));
    }
    res.set_header("Set-Cookie", std::string(cookie_name) + "=; Path=/; HttpOnly; SameSite=Strict" +
                                     (s_.secure_cookie ? "; Secure" : "") + "; Max-Age=0");
    res.set_content("{\"signed_out\":true}\n", json_type);
}

}  // namespace tlog::server
