// The routes: ingest (JSON lines, _bulk), sessions, messages, audit events
// (tlog-audit's JSON lines, and a recording's events), and the
// Elasticsearch search that Debian's tlog-play -r es sends.
#include "tlog/server/http.h"

#include <httplib.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <string_view>
#include <thread>
#include <tuple>
#include <vector>

#include "hangup.h"
#include "index_http.h"
#include "recording_audit.h"
#include "tlog/error.h"
#include "tlog/json.h"
#include "tlog/server/access.h"
#include "tlog/server/access_ldap.h"
#include "tlog/server/admin_api.h"
#include "tlog/server/checkpoint.h"
#include "tlog/server/frames.h"
#include "tlog/server/index.h"
#include "tlog/server/ingest.h"
#include "tlog/server/ingest_auth.h"
#include "tlog/server/live.h"
#include "tlog/server/sessions_api.h"
#include "tlog/server/store.h"
#include "tlog/server/ui.h"
#include "tlog/server/verify.h"
#include "tlog_build_config.h"
#include "tls.h"
#include "viewer_auth.h"

namespace tlog::server {

namespace {

constexpr size_t max_body_bytes = 64U << 20U;

// As Elasticsearch labels its responses. cpp-httplib compresses bodies of
// exactly "application/json" for clients that accept it, preferring
// Brotli at its slowest quality: 0.3 s of CPU for one _bulk response of
// 500 items against 0.05 s for the whole request, and minutes for a large
// search page. With the parameter it leaves them as they are.
constexpr const char* json_type = "application/json; charset=UTF-8";
constexpr size_t max_page = 1000;

uint64_t now_ms() {
    return static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count());
}

void reply_error(httplib::Response& res, int status, const std::string& what) {
    auto o = json::Value::make_object();
    o.set("error", json::Value::make_string(what));
    o.set("status", json::Value::make_uint(static_cast<uint64_t>(status)));
    res.status = status;
    res.set_content(json::dump(o) + "\n", json_type);
}

// A parameter's unsigned value; throws InputError naming it.
uint64_t uint_param(const httplib::Request& req, const char* name, uint64_t dflt) {
    if (!req.has_param(name)) {
        return dflt;
    }
    auto v = req.get_param_value(name);
    auto parsed = json::Value::make_number(v).as_uint();
    if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos || !parsed) {
        throw InputError({"", 0, 0, name}, "not an unsigned integer: " + json::quote(v));
    }
    return *parsed;
}

// The recording an Elasticsearch query string names: rec:ID or rec:"ID",
// the forms tlog's documentation uses.
std::string rec_of_query(const std::string& q) {
    std::string_view v = q;
    while (!v.empty() && v.front() == ' ') {
        v.remove_prefix(1);
    }
    while (!v.empty() && v.back() == ' ') {
        v.remove_suffix(1);
    }
    if (v.substr(0, 4) != "rec:") {
        throw InputError({"", 0, 0, "q"},
                         "only the queries rec:ID and rec:\"ID\" are supported, not " + json::quote(q));
    }
    v.remove_prefix(4);
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') {
        v = v.substr(1, v.size() - 2);
    }
    if (v.empty() || v.find_first_of("\" \\*?:") != std::string_view::npos) {
        throw InputError({"", 0, 0, "q"}, "not a recording id: " + json::quote(q));
    }
    return std::string(v);
}

// What /metrics reports. Counters only grow; a scrape reads them under the
// same lock the requests take to add to them.
class Metrics {
public:
    void request(const std::string& method, const char* route, int status) {
        std::lock_guard<std::mutex> g(mu_);
        requests_[{method, route, status}]++;
    }
    void ingest(const IngestReport& r, size_t bytes) {
        created_ += r.created;
        duplicates_ += r.duplicates;
        refused_ += r.failed;
        ingest_bytes_ += bytes;
    }
    void audit(const IngestReport& r, size_t bytes) {
        audit_created_ += r.created;
        audit_duplicates_ += r.duplicates;
        audit_refused_ += r.failed;
        ingest_bytes_ += bytes;
    }
    void store_error() { store_errors_++; }

    // Prometheus' text exposition format, version 0.0.4.
    std::string text() const {
        std::string out;
        auto head = [&](const char* name, const char* type, const char* help) {
            out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
        };
        auto line = [&](const std::string& name, uint64_t v) { out += name + " " + std::to_string(v) + "\n"; };
        head("tlog_server_requests_total", "counter", "HTTP requests by method, route and status.");
        {
            std::lock_guard<std::mutex> g(mu_);
            for (const auto& [key, n] : requests_) {
                const auto& [method, route, status] = key;
                // The labels are the route table's and the method httplib
                // accepted: no quote or backslash to escape.
                line("tlog_server_requests_total{method=\"" + method + "\",route=\"" + route + "\",status=\"" +
                         std::to_string(status) + "\"}",
                     n);
            }
        }
        head("tlog_server_messages_total", "counter", "Messages received for storage, by result.");
        line("tlog_server_messages_total{result=\"created\"}", created_.load());
        line("tlog_server_messages_total{result=\"duplicate\"}", duplicates_.load());
        line("tlog_server_messages_total{result=\"refused\"}", refused_.load());
        head("tlog_server_audit_events_total", "counter", "Audit events received for storage, by result.");
        line("tlog_server_audit_events_total{result=\"created\"}", audit_created_.load());
        line("tlog_server_audit_events_total{result=\"duplicate\"}", audit_duplicates_.load());
        line("tlog_server_audit_events_total{result=\"refused\"}", audit_refused_.load());
        head("tlog_server_ingest_bytes_total", "counter", "Bytes of request bodies received for ingest.");
        line("tlog_server_ingest_bytes_total", ingest_bytes_.load());
        head("tlog_server_store_errors_total", "counter", "Requests that failed inside the store (answered 500).");
        line("tlog_server_store_errors_total", store_errors_.load());
        head("tlog_server_uptime_seconds", "gauge", "Seconds since the server started.");
        line("tlog_server_uptime_seconds",
             static_cast<uint64_t>(
                 std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - start_).count()));
        return out;
    }

private:
    const std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
    mutable std::mutex mu_;
    std::map<std::tuple<std::string, std::string, int>, uint64_t> requests_;
    std::atomic<uint64_t> created_{0}, duplicates_{0}, refused_{0}, ingest_bytes_{0}, store_errors_{0};
    std::atomic<uint64_t> audit_created_{0}, audit_duplicates_{0}, audit_refused_{0};
};

// The route the request on this thread matched (its OpenAPI path), and
// when it started: httplib runs the pre-routing handler, the route and the
// logger on one thread, one request after the other.
thread_local const char* t_route = nullptr;
thread_local std::chrono::steady_clock::time_point t_start;
// The viewer the request was authenticated as ("": a public or host
// route), and the viewer's groups (NSS) for the access rules.
thread_local std::string t_viewer;
thread_local std::vector<std::string> t_viewer_groups;
// What the request's handler read, for the access log: the recording and
// whether it was refused (visible()), or a search's query and hits.
struct AccessNote {
    std::string host, rec, detail = "{}";
    bool refused = false, absent = false;
};
thread_local AccessNote t_access;

class Routes;
using Handler = void (Routes::*)(const httplib::Request&, httplib::Response&);

struct RouteDef {
    const char* method;
    const char* pattern;   // httplib's regular expression
    const char* api_path;  // the path in server/openapi.yaml, and the metrics' label
    Handler handler;
    Permission perm;  // what the client must have (viewer routes: authenticated first)
};

class Routes {
public:
    Routes(Store& store, const StreamSettings& streams, const SearchSettings& search, const IngestGate& gate,
           const AuthSettings& auth, AccessRules rules, Indexer* indexer = nullptr)
        : store_(store),
          indexer_(indexer),
          streams_(streams),
          search_(search),
          groups_(search.user_groups),
          gate_(gate),
          auth_(store, mu_, auth),
          access_(std::move(rules), search) {}
    LiveHub& hub() { return hub_; }
    AccessControl& access() { return access_; }
    void set_verify(const VerifyService* v) { verify_ = v; }
    void set_ui(const UiFiles* ui) { ui_ = ui; }
    // Export, holds and retention (admin_api.h): the checkpoints' key
    // (nullptr: none configured) and the server's configuration.
    void set_admin(const proof::Key* key, const ServerConfig* config) {
        checkpoint_key_ = key;
        config_ = config;
    }

    template <class Fn>
    auto locked(Fn&& fn) {
        // One database connection; requests take turns on it (instances
        // scale out beside each other on PostgreSQL).
        std::lock_guard<std::mutex> g(mu_);
        return fn();
    }

    void guarded(httplib::Response& res, const std::function<void()>& fn) {
        try {
            fn();
        } catch (const InputError& e) {
            reply_error(res, 400, e.what());
        } catch (const std::exception& e) {
            std::cerr << "tlog-server: " << e.what() << '\n';
            metrics_.store_error();
            reply_error(res, 500, e.what());
        }
    }

    static const std::vector<RouteDef>& table();

    void install(httplib::Server& srv) {
        for (const auto& def : table()) {
            auto handler = [this, &def](const httplib::Request& req, httplib::Response& res) {
                t_route = def.api_path;
                guarded(res, [&] {
                    if (def.perm == Permission::Public || def.perm == Permission::Host) {
                        t_viewer.clear();
                    } else if (auto v = auth_.viewer(req)) {
                        t_viewer = std::move(*v);
                        t_viewer_groups = groups_.groups_of_user(t_viewer);
                    } else {
                        ViewerAuth::unauthorized(res);
                        return;
                    }
                    t_access = {};
                    // Cross-site requests can POST forms with the cookie:
                    // json_content_type() in ui.h. Tokens are not sent so.
                    if (std::string_view(def.method) == "POST" && def.perm != Permission::Host &&
                        !req.has_header("Authorization") && !json_content_type(req)) {
                        reply_error(res, 415, "expected Content-Type: application/json");
                        record_access(req, def, res);
                        return;
                    }
                    // A right over no recording (manage): refused outright.
                    if (def.perm == Permission::Manage && !access_.may(t_viewer, t_viewer_groups, def.perm)) {
                        reply_error(res, 403, "not permitted");
                        record_access(req, def, res);
                        return;
                    }
                    (this->*def.handler)(req, res);
                    record_access(req, def, res);
                });
                // Counted before the response goes out, so a scrape that
                // follows it sees it. (-1: httplib's 200 to come.)
                metrics_.request(req.method, def.api_path, res.status == -1 ? 200 : res.status);
            };
            if (std::string_view(def.method) == "GET") {
                srv.Get(def.pattern, handler);
            } else {
                srv.Post(def.pattern, handler);
            }
        }
        srv.set_pre_routing_handler([](const httplib::Request&, httplib::Response&) {
            t_route = nullptr;
            t_start = std::chrono::steady_clock::now();
            return httplib::Server::HandlerResponse::Unhandled;
        });
        // A request no route took (unknown path, too large) is answered with
        // an error status: counted here, also before the response goes out.
        httplib::Server::HandlerWithResponse on_error = [this](const httplib::Request& req, httplib::Response& res) {
            if (t_route == nullptr) metrics_.request(req.method, "unmatched", res.status);
            return httplib::Server::HandlerResponse::Unhandled;
        };
        srv.set_error_handler(on_error);
        srv.set_logger([](const httplib::Request& req, const httplib::Response& res) { log(req, res); });
    }

private:
    // One line per request on standard error, a JSON object: what was
    // asked and how it went, never a message's content. The path is the
    // client's: quoted, and cut short.
    static void log(const httplib::Request& req, const httplib::Response& res) {
        const char* route = t_route != nullptr ? t_route : "unmatched";
        // A request refused before routing (too large) did not start the
        // clock: 0 ms, not the time since the thread's last request.
        double ms = t_start == std::chrono::steady_clock::time_point{}
                        ? 0.0
                        : std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t_start).count();
        t_route = nullptr;
        t_start = {};
        char ms_text[32];
        std::snprintf(ms_text, sizeof ms_text, "%.3f", ms);
        std::string line = "{\"time_ms\":" + std::to_string(now_ms()) + ",\"remote\":" + json::quote(req.remote_addr) +
                           ",\"method\":" + json::quote(req.method.substr(0, 16)) +
                           ",\"path\":" + json::quote(req.path.substr(0, 512)) + ",\"route\":" + json::quote(route) +
                           ",\"status\":" + std::to_string(res.status) +
                           ",\"bytes_in\":" + std::to_string(req.body.size()) +
                           ",\"bytes_out\":" + std::to_string(res.body.size()) + ",\"ms\":" + ms_text + "}\n";
        // One write: lines of concurrent requests do not interleave.
        std::fwrite(line.data(), 1, line.size(), stderr);
    }

    // The sender's host identity (doc/server.md, "Transport and host
    // identity"); nullopt when answered 401.
    std::optional<IngestIdentity> identify(const httplib::Request& req, httplib::Response& res) {
        std::string error;
        auto who = gate_.identify(
            req.ssl, req.get_header_value("Authorization"),
            [&](const std::string& sha256) { return locked([&] { return token_host(store_, sha256); }); }, error);
        if (!who) {
            res.set_header("WWW-Authenticate", "Bearer realm=\"tlog-server ingest\"");
            reply_error(res, 401, error);
        }
        return who;
    }

    void ingest(const httplib::Request& req, httplib::Response& res) {
        auto who = identify(req, res);
        if (!who) return;
        // Checked before taking the store's turn: requests are checked side
        // by side and only take turns to store.
        auto checked = check_json_lines(req.body);
        gate_.restrict(*who, checked, t_route, req.remote_addr);
        auto r = store_with_groups(checked);
        hub_.notify(committed_recs(checked));
        metrics_.ingest(r, req.body.size());
        if (indexer_ != nullptr && r.created > 0) indexer_->wake();
        res.status = r.failed == 0 ? 200 : 400;
        res.set_content(native_response(r), json_type);
    }

    void bulk(const httplib::Request& req, httplib::Response& res) {
        auto who = identify(req, res);
        if (!who) return;
        std::string index =
            req.matches.size() > 1 && req.matches[1].length() > 0 ? std::string(req.matches[1]) : "tlog";
        auto checked = check_bulk(req.body);
        gate_.restrict(*who, checked, t_route, req.remote_addr);
        auto r = store_with_groups(checked);
        hub_.notify(committed_recs(checked));
        metrics_.ingest(r, req.body.size());
        if (indexer_ != nullptr && r.created > 0) indexer_->wake();
        // As Elasticsearch: the request succeeded; items say which failed.
        res.set_content(bulk_response(r, index), json_type);
    }

    // The users' groups are looked up (NSS) before taking the store's turn.
    IngestReport store_with_groups(const CheckedBody& checked) {
        const auto groups = groups_.groups_of(checked);
        return locked([&] {
            store_.set_user_groups(groups_.enabled() ? &groups : nullptr);
            try {
                auto r = retry_transient([&] { return store_checked(store_, checked, now_ms()); });
                store_.set_user_groups(nullptr);
                return r;
            } catch (...) {
                store_.set_user_groups(nullptr);
                throw;
            }
        });
    }

    // GET /api/v1/audit: stored events by host, user, type, ses, rec and
    // time, in time order; a full page names the next in Tlog-Next-Cursor.
    void audit_search(const httplib::Request& req, httplib::Response& res) {
        auto q = audit_query(req.params);
        q.conditions.push_back(audit_scope(scope(Permission::Search)));
        auto events = locked([&] { return store_.search_audit(q); });
        t_access.detail = audit_search_detail(req.params, events);
        std::string out;
        for (const auto& e : events) {
            out += e.json;
            out += '\n';
        }
        if (events.size() == q.limit) {
            res.set_header("Tlog-Next-Cursor", audit_cursor(events.back().key));
        }
        res.set_content(out, "application/x-ndjson");
    }

    void audit_ingest(const httplib::Request& req, httplib::Response& res) {
        auto who = identify(req, res);
        if (!who) return;
        auto checked = check_audit_lines(req.body);
        gate_.restrict(*who, checked, t_route, req.remote_addr);
        auto r = locked([&] { return retry_transient([&] { return store_checked_audit(store_, checked); }); });
        metrics_.audit(r, req.body.size());
        res.status = r.failed == 0 ? 200 : 400;
        res.set_content(native_response(r), json_type);
    }

    // Pages of `limit` events; a full page names the next in the header
    // Tlog-Next-Cursor (the body is the events themselves, as received,
    // and the failed authentications before the session, marked).
    void audit_events(const httplib::Request& req, httplib::Response& res) {
        std::string rec = req.matches[1];
        size_t limit = std::clamp<uint64_t>(uint_param(req, "limit", 10000), 1, 100000);
        std::optional<AuditKey> after;
        if (req.has_param("cursor")) {
            after = read_audit_cursor(req.get_param_value("cursor"));
        }
        const bool seen = visible(rec, "");
        auto [events, messages] = locked([&] {
            if (!seen) return std::pair(std::vector<RecordingAuditItem>(), uint64_t{0});
            auto ev = store_.recording_audit(rec, after, limit);
            // Only an empty first page needs to know if the recording exists.
            uint64_t n = ev.empty() && !after ? store_.message_count(rec) : 1;
            return std::pair(std::move(ev), n);
        });
        if (events.empty() && messages == 0) {
            // Neither the recording nor an event of it: an unknown id, which
            // a client must not take for a session without audit events.
            reply_error(res, 404, "no recording or audit event " + json::quote(rec));
            return;
        }
        if (events.size() == limit) {
            res.set_header("Tlog-Next-Cursor", audit_cursor(events.back().event.key));
        }
        res.set_content(recording_audit_lines(events), "application/x-ndjson");
    }

    void messages(const httplib::Request& req, httplib::Response& res) {
        std::string rec = req.matches[1];
        uint64_t after = uint_param(req, "after", 0);
        uint64_t limit = std::min<uint64_t>(uint_param(req, "limit", 10000), 100000);
        std::string host = req.has_param("host") ? req.get_param_value("host") : "";
        const bool seen = visible(rec, host);
        auto msgs =
            locked([&] { return seen ? store_.messages(rec, host, after, limit) : std::vector<std::string>(); });
        if (msgs.empty() && after == 0) {
            // Nothing from the start: the recording is not here, which a
            // client must not take for an empty one.
            reply_error(res, 404,
                        "no recording " + json::quote(rec) + (host.empty() ? "" : " from host " + json::quote(host)));
            return;
        }
        std::string out;
        for (const auto& m : msgs) {
            out += m;
            out += '\n';
        }
        res.set_content(out, "application/x-ndjson");
    }

    void cat_health(const httplib::Request& /*req*/, httplib::Response& res) {
        res.set_content("tlog-server green\n", "text/plain");
    }

    void health(const httplib::Request& /*req*/, httplib::Response& res) {
        res.set_content("{\"status\":\"ok\"}\n", json_type);
    }

    void metrics(const httplib::Request& /*req*/, httplib::Response& res) {
        res.set_content(metrics_.text() + hub_.metrics_text(), "text/plain; version=0.0.4");
    }

    void stream(const httplib::Request& req, httplib::Response& res) {
        std::string host = req.has_param("host") ? req.get_param_value("host") : "";
        visible(req.matches[1], host);  // for the access log: each fetch below decides
        // Looked at again at each fetch: a recording that comes into the
        // viewer's scope (its session stored) streams; one outside it
        // waits as a recording not stored yet would.
        serve_stream(
            hub_, streams_,
            [this, viewer = t_viewer, groups = t_viewer_groups](const std::string& rec, const std::string& h,
                                                                uint64_t after, size_t limit) {
                auto sc = access_.scope(viewer, groups, Permission::View);
                return locked([&] {
                    return sc.all || store_.recording_visible(rec, h, sc.cond) ? store_.messages(rec, h, after, limit)
                                                                               : std::vector<std::string>();
                });
            },
            req.matches[1], host, uint_param(req, "after", 0), res);
    }

    void list_sessions(const httplib::Request& req, httplib::Response& res) {
        auto q = session_query(req.params, search_, now_ms());
        auto sc = scope(Permission::Search);
        if (!sc.all) q.conditions.push_back(sc.cond);
        auto rows = locked([&] { return store_.sessions(q); });
        t_access.detail = search_detail(req.params, rows);
        res.set_content(sessions_response(rows, q), json_type);
    }

    // GET ...?q=rec:ID&sort=id:asc&size=N&from=K, as Debian's tlog-play
    // sends it; hits.hits[]._source is each message's original JSON.
    void es_search(const httplib::Request& req, httplib::Response& res) {
        if (!req.has_param("q")) {
            throw InputError({"", 0, 0, "q"}, "missing (expected rec:ID)");
        }
        std::string rec = rec_of_query(req.get_param_value("q"));
        if (req.has_param("sort") && req.get_param_value("sort") != "id:asc") {
            throw InputError({"", 0, 0, "sort"}, "only id:asc is supported");
        }
        uint64_t from = uint_param(req, "from", 0);
        uint64_t size = std::min<uint64_t>(uint_param(req, "size", 10), 10000);
        const bool seen = visible(rec, "");
        auto [msgs, total] = locked([&] {
            if (!seen) return std::pair(std::vector<std::string>(), uint64_t{0});
            return std::pair(store_.messages_page(rec, from, size), store_.message_count(rec));
        });
        // The stored JSON is spliced in as it is: it was validated on
        // ingest, and re-encoding it would change the bytes.
        std::string out = "{\"took\":0,\"timed_out\":false,\"hits\":{\"total\":{\"value\":" + std::to_string(total) +
                          ",\"relation\":\"eq\"},\"hits\":[";
        for (size_t i = 0; i < msgs.size(); ++i) {
            out += i == 0 ? "" : ",";
            out += "{\"_index\":\"tlog\",\"_source\":";
            out += msgs[i];
            out += "}";
        }
        out += "]}}\n";
        res.set_content(out, json_type);
    }

    void at(const httplib::Request& req, httplib::Response& res) {
        std::string rec = req.matches[1];
        if (req.has_param("t") == req.has_param("pos")) {
            throw InputError({"", 0, 0, "t"}, "give the position as t or pos (milliseconds from the start)");
        }
        uint64_t pos = uint_param(req, req.has_param("t") ? "t" : "pos", 0);
        size_t limit = std::clamp<uint64_t>(uint_param(req, "limit", 10000), 1, 100000);
        std::string host = req.has_param("host") ? req.get_param_value("host") : "";
        host = visible_host(rec, host);
        if (host.empty()) {
            reply_error(res, 404, "no recording " + json::quote(rec));
            return;
        }
        auto r = locked([&] { return seek(store_, host, rec, pos, limit); });
        if (!r) {
            reply_error(res, 409, "recording " + json::quote(rec) + " is not indexed yet");
            return;
        }
        res.set_content(seek_ndjson(*r, host, rec, pos), "application/x-ndjson");
    }

    // GET .../frames: the web player's frames (frames.h), found as .../at
    // finds its keyframe; the messages read a page at a time in turn.
    void frames(const httplib::Request& req, httplib::Response& res) {
        std::string rec = req.matches[1];
        auto opt = [&](const char* n) {
            return req.has_param(n) ? std::optional(uint_param(req, n, 0)) : std::nullopt;
        };
        FramesRequest fr = frames_request(opt("from"), opt("until"), opt("interval"));
        std::string host = req.has_param("host") ? req.get_param_value("host") : "";
        host = visible_host(rec, host);
        if (host.empty()) {
            reply_error(res, 404, "no recording " + json::quote(rec));
            return;
        }
        std::optional<StoredKeyframe> kf;
        FramesInfo info;
        locked([&] {
            kf = store_.keyframe_at(host, rec, fr.from);
            if (kf) info = frames_info(store_, host, rec);
        });
        if (!kf) {
            reply_error(res, 409, "recording " + json::quote(rec) + " is not indexed yet");
            return;
        }
        auto pages = [&](uint64_t after, size_t n) {
            return locked([&] { return store_.messages(rec, host, after, n); });
        };
        res.set_content(frames_ndjson(*kf, pages, fr, host, rec, info), "application/x-ndjson");
    }

    void text(const httplib::Request& req, httplib::Response& res) {
        std::string rec = req.matches[1];
        std::string q = req.has_param("q") ? req.get_param_value("q") : "";
        if (q.empty()) throw InputError({"", 0, 0, "q"}, "missing: the text to find");
        size_t limit = std::clamp<uint64_t>(uint_param(req, "limit", 1000), 1, 10000);
        std::string host = req.has_param("host") ? req.get_param_value("host") : "";
        host = visible_host(rec, host);
        if (host.empty()) {
            reply_error(res, 404, "no recording " + json::quote(rec));
            return;
        }
        auto hits = locked([&] { return store_.text_hits(host, rec, q, limit); });
        res.set_content(text_hits_json(hits, host, rec, limit), json_type);
    }

    // GET .../verify: the recording read again on a connection of its own.
    void verify(const httplib::Request& req, httplib::Response& res) {
        std::string rec = req.matches[1];
        std::string host = req.has_param("host") ? req.get_param_value("host") : "";
        if (!visible(rec, host)) {
            // As verify_route answers a recording not stored.
            reply_error(res, 404,
                        "no recording " + json::quote(rec) + (host.empty() ? "" : " from host " + json::quote(host)));
            return;
        }
        auto r = verify_route(*verify_, rec, host);
        res.status = r.status;
        res.set_content(r.body, json_type);
    }

    // The access log's line of a viewer's request, written before the
    // answer goes out: a read that cannot be logged is not served.
    void record_access(const httplib::Request& req, const RouteDef& def, const httplib::Response& res) {
        // Who they are (Viewer) reads no recording.
        if (def.perm == Permission::Public || def.perm == Permission::Host || def.perm == Permission::Viewer) return;
        AccessLogEntry e;
        e.time_ms = now_ms();
        e.viewer = t_viewer;
        e.remote = req.remote_addr;
        e.action = permission_name(def.perm);
        int status = res.status == -1 ? 200 : res.status;
        e.outcome = t_access.refused                ? "refused"
                    : t_access.absent               ? "absent"
                    : status == 403                 ? "refused"
                    : status >= 200 && status < 300 ? "ok"
                                                    : "status " + std::to_string(status);
        e.route = def.api_path;
        e.host = t_access.host;
        e.rec = t_access.rec;
        e.detail = t_access.detail;
        locked([&] {
            retry_transient([&] {
                store_.add_access_log(e);
                return 0;
            });
        });
    }

    // The viewer's reach for `right` (access.h).
    AccessScope scope(Permission right) const { return access_.scope(t_viewer, t_viewer_groups, right); }
    // A recording the viewer may view: answered by one lookup by rec
    // whether it is outside the viewer's rights or not stored at all, and
    // each caller then answers both alike (as not stored).
    // A viewer who may view everything sees what the route finds, as
    // before access rules (a recording's audit events before its
    // messages too); a narrower scope is decided on the stored session.
    // Whether it was refused or is not stored goes to the access log only,
    // found by one more lookup made in both cases.
    // The host whose recording `rec` a view route reads: `host` as asked,
    // else the first that has it; "" when none does or the viewer may not
    // see it (both answered 404 alike).
    std::string visible_host(const std::string& rec, const std::string& host) {
        if (!visible(rec, host)) return "";
        return host.empty() ? locked([&] { return store_.host_of(rec); }) : host;
    }

    bool visible(const std::string& rec, const std::string& host, Permission right = Permission::View) {
        auto sc = scope(right);
        t_access.rec = rec;
        t_access.host = host;
        if (sc.all) return true;
        return locked([&] {
            if (store_.recording_visible(rec, host, sc.cond)) return true;
            bool stored = !store_.host_of(rec).empty();
            t_access.refused = stored;
            t_access.absent = !stored;
            return false;
        });
    }

    // The routes of admin_api.h: its answer, and its note for the access log.
    static void admin_reply(httplib::Response& res, const AdminReply& r, const AdminNote& n) {
        t_access.host = n.host;
        t_access.rec = n.rec;
        t_access.detail = n.detail;
        t_access.refused = t_access.refused || n.refused;
        t_access.absent = t_access.absent || n.absent;
        if (!r.error.empty()) {
            reply_error(res, r.status, r.error);
            return;
        }
        res.status = r.status;
        if (!r.filename.empty()) res.set_header("Content-Disposition", "attachment; filename=\"" + r.filename + "\"");
        res.set_content(r.body, r.type);
    }
    void export_rec(const httplib::Request& req, httplib::Response& res) {
        std::string rec = req.matches[1];
        std::string host = req.has_param("host") ? req.get_param_value("host") : "";
        AdminNote n{host, rec};
        if (!visible(rec, host, Permission::Export)) {
            reply_error(res, 404, "no recording " + json::quote(rec));
            return;
        }
        // Read on a connection of its own, as verify: a long recording's
        // export does not hold up ingest and the other requests.
        auto store = open_store(config_->database);
        auto r = export_tar(*store, checkpoint_key_, host, rec, n);
        admin_reply(res, r, n);
    }
    // A request whose body is wrong is answered 400 here, so that it too
    // is a row of the access log.
    static void admin_input(httplib::Response& res, const std::function<void()>& fn) {
        try {
            fn();
        } catch (const InputError& e) {
            reply_error(res, 400, e.what());
        }
    }
    void holds_get(const httplib::Request& req, httplib::Response& res) {
        bool all = req.has_param("all") && req.get_param_value("all") == "true";
        auto sc = scope(Permission::Hold);
        admin_reply(res, locked([&] { return holds_list(store_, sc, all); }), {});
    }
    void hold_post(const httplib::Request& req, httplib::Response& res) {
        auto sc = scope(Permission::Hold);
        AdminNote n;
        admin_input(res, [&] {
            auto r = locked([&] { return hold_set(store_, sc, t_viewer, req.body, now_ms(), n); });
            admin_reply(res, r, n);
        });
    }
    void hold_clear_post(const httplib::Request& req, httplib::Response& res) {
        auto sc = scope(Permission::Hold);
        AdminNote n;
        admin_input(res, [&] {
            auto r = locked([&] { return hold_clear(store_, sc, t_viewer, req.matches[1], req.body, now_ms(), n); });
            admin_reply(res, r, n);
        });
    }
    void retention_run(const httplib::Request& req, httplib::Response& res) {
        AdminNote n;
        admin_input(res, [&] {
            auto r = retention_run_api(config_->database, config_->retention, checkpoint_key_, scope(Permission::Purge),
                                       t_viewer, req.body, now_ms(), n);
            admin_reply(res, r, n);
        });
    }
    void tombstones(const httplib::Request& /*req*/, httplib::Response& res) {
        auto sc = scope(Permission::Purge);
        admin_reply(res, locked([&] { return tombstones_api(store_, sc); }), {});
    }

    void login(const httplib::Request& req, httplib::Response& res) { auth_.login(req, res); }
    void access_log(const httplib::Request& req, httplib::Response& res) {
        auto q = access_log_query(req.params, search_);
        auto rows = locked([&] { return store_.access_log(q); });
        res.set_content(access_log_response(rows, q), json_type);
    }
    void logout(const httplib::Request& req, httplib::Response& res) { auth_.logout(req, res); }
    void me(const httplib::Request& req, httplib::Response& res) {
        res.set_content(me_response(access_, t_viewer, t_viewer_groups, req.has_header("Authorization")), json_type);
    }
    // The web console (ui.h).
    void ui_root(const httplib::Request& /*req*/, httplib::Response& res) { UiFiles::redirect_root(res); }
    void ui_index(const httplib::Request& /*req*/, httplib::Response& res) { ui_->serve("", res); }
    void ui_file(const httplib::Request& req, httplib::Response& res) { ui_->serve(req.matches[1], res); }

    Store& store_;
    Indexer* indexer_;
    const VerifyService* verify_ = nullptr;
    const UiFiles* ui_ = nullptr;
    const proof::Key* checkpoint_key_ = nullptr;
    const ServerConfig* config_ = nullptr;
    std::mutex mu_;
    Metrics metrics_;
    StreamSettings streams_;
    LiveHub hub_;
    SearchSettings search_;
    GroupResolver groups_;
    const IngestGate& gate_;
    ViewerAuth auth_;
    AccessControl access_;
};

// Every route, registered from this table only: server/openapi.yaml must
// document exactly these (test server_openapi).
const std::vector<RouteDef>& Routes::table() {
    using P = Permission;
    static const std::vector<RouteDef> routes = {
        {"POST", "/api/v1/ingest", "/api/v1/ingest", &Routes::ingest, P::Host},
        {"POST", "/_bulk", "/_bulk", &Routes::bulk, P::Host},
        // /{index}/_bulk, and /{index}/{type}/_bulk as older shippers send.
        {"POST", R"(/([^/_][^/]*)/(?:[^/_][^/]*/)?_bulk)", "/{index}/_bulk", &Routes::bulk, P::Host},
        {"GET", "/api/v1/sessions", "/api/v1/sessions", &Routes::list_sessions, P::Search},
        {"GET", R"(/api/v1/sessions/([^/]+)/messages)", "/api/v1/sessions/{rec}/messages", &Routes::messages, P::View},
        {"GET", R"(/api/v1/sessions/([^/]+)/stream)", "/api/v1/sessions/{rec}/stream", &Routes::stream, P::View},
        {"POST", "/api/v1/audit", "/api/v1/audit", &Routes::audit_ingest, P::Host},
        {"GET", "/api/v1/audit", "/api/v1/audit", &Routes::audit_search, P::Search},
        {"GET", R"(/api/v1/sessions/([^/]+)/audit)", "/api/v1/sessions/{rec}/audit", &Routes::audit_events, P::View},
        {"GET", R"(/api/v1/sessions/([^/]+)/at)", "/api/v1/sessions/{rec}/at", &Routes::at, P::View},
        {"GET", R"(/api/v1/sessions/([^/]+)/frames)", "/api/v1/sessions/{rec}/frames", &Routes::frames, P::View},
        {"GET", R"(/api/v1/sessions/([^/]+)/text)", "/api/v1/sessions/{rec}/text", &Routes::text, P::View},
        {"GET", R"(/api/v1/sessions/([^/]+)/verify)", "/api/v1/sessions/{rec}/verify", &Routes::verify, P::View},
        {"GET", "/_search", "/_search", &Routes::es_search, P::View},
        // Any prefix: tlog-play's base URL is often /INDEX/TYPE/_search.
        {"GET", R"((?:/[^/_][^/]*)+/_search)", "/{index}/_search", &Routes::es_search, P::View},
        // rsyslog's omelasticsearch asks this before resuming after the
        // server was unreachable: a shipper's liveness check, telling
        // nothing of the recordings.
        {"GET", "/_cat/health", "/_cat/health", &Routes::cat_health, P::Public},
        {"GET", "/api/v1/health", "/api/v1/health", &Routes::health, P::Public},
        {"GET", "/metrics", "/metrics", &Routes::metrics, P::Manage},
        {"POST", "/api/v1/login", "/api/v1/login", &Routes::login, P::Public},
        {"POST", "/api/v1/logout", "/api/v1/logout", &Routes::logout, P::Public},
        {"GET", "/api/v1/access-log", "/api/v1/access-log", &Routes::access_log, P::Manage},
        {"GET", R"(/api/v1/sessions/([^/]+)/export)", "/api/v1/sessions/{rec}/export", &Routes::export_rec, P::Export},
        {"GET", "/api/v1/holds", "/api/v1/holds", &Routes::holds_get, P::Hold},
        {"POST", "/api/v1/holds", "/api/v1/holds", &Routes::hold_post, P::Hold},
        {"POST", R"(/api/v1/holds/([^/]+)/clear)", "/api/v1/holds/{id}/clear", &Routes::hold_clear_post, P::Hold},
        {"POST", "/api/v1/retention/run", "/api/v1/retention/run", &Routes::retention_run, P::Purge},
        {"GET", "/api/v1/retention/tombstones", "/api/v1/retention/tombstones", &Routes::tombstones, P::Purge},
        {"GET", "/api/v1/me", "/api/v1/me", &Routes::me, P::Viewer},
        {"GET", "/", "/", &Routes::ui_root, P::Public},
        {"GET", "/ui/", "/ui/", &Routes::ui_index, P::Public},
        {"GET", R"(/ui/([^/]+))", "/ui/{file}", &Routes::ui_file, P::Public},
    };
    return routes;
}

// Lock-free, so the signal handler may read it.
std::atomic<httplib::Server*> running{nullptr};
std::atomic<LiveHub*> running_hub{nullptr};
std::atomic<bool> stop_requested{false};

// Server::stop() only swaps an atomic and shuts down and closes the
// listening socket: async-signal-safe steps.
extern "C" void on_stop_signal(int /*sig*/) {
    stop_requested.store(true);  // before stop(): see run_server
    if (auto* hub = running_hub.load(); hub != nullptr) {
        hub->stop();  // streams end, so the library's threads can be joined
    }
    if (auto* srv = running.load(); srv != nullptr) {
        srv->stop();
    }
}

}  // namespace

void parse_listen(const std::string& text, const std::string& what, ServerConfig& c) {
    size_t colon = text.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) {
        throw InputError({what, 0, 0, "listen"}, "expected HOST:PORT, got " + json::quote(text));
    }
    std::string host = text.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    }
    auto port = json::Value::make_number(text.substr(colon + 1)).as_uint();
    if (text.substr(colon + 1).find_first_not_of("0123456789") != std::string::npos || !port || *port > 65535) {
        throw InputError({what, 0, 0, "listen"}, "bad port in " + json::quote(text));
    }
    c.listen_host = host;
    c.port = static_cast<int>(*port);
}

std::vector<RouteInfo> api_routes() {
    std::vector<RouteInfo> out;
    for (const auto& def : Routes::table()) out.push_back({def.method, def.api_path, permission_name(def.perm)});
    return out;
}

int run_server(const ServerConfig& c, const std::function<void(int port)>& on_listen) {
    // A reload (systemctl reload) must never stop the server.
    catch_hangups();
    check_transport(c.tls, c.ingest_auth, c.listen_host);
    auto srv_ptr = make_listener(c.tls);
    httplib::Server& srv = *srv_ptr;
    const IngestGate gate(c.ingest_auth, !c.tls.cert.empty());
    auto store_ptr = open_store(c.database);
    Store& store = *store_ptr;
    srv.set_payload_max_length(max_body_bytes);
    // cpp-httplib writes a response's headers and body in two sends; with
    // Nagle's algorithm the body then waits for the client's delayed ACK
    // (40 ms on Linux), which capped a shipper's connection at about 25
    // requests a second (bench/README.md, "server").
    srv.set_tcp_nodelay(true);
    // Each connection holds one of the pool's threads, a stream for as
    // long as it lasts: up to max_streams threads for streams and as many
    // again as the library's default for everything else, so open streams
    // never leave ingest without a thread (streams past max_streams get
    // 503). Started as connections come, not all at start.
    size_t threads = c.streams.max_streams + CPPHTTPLIB_THREAD_POOL_COUNT;
    StreamSettings streams = c.streams;
    if (streams.poll.count() < 0) {
        // Several instances share a PostgreSQL database: a commit on
        // another one wakes nobody here, so streams also look every second.
        streams.poll = std::chrono::milliseconds(c.database.rfind("postgres", 0) == 0 ? 1000 : 0);
    }
    srv.new_task_queue = [threads] { return new_growing_task_queue(threads); };
    // The indexer on a connection of its own: it reads while ingest writes.
    IndexConfig icfg;
    icfg.key_files = c.integrity_keys;
    Indexer indexer(open_store(c.database), icfg);
    indexer.start();
    indexer.wake();  // what was stored before this start
    const std::string rules_path = access_rules_file(c);
    AccessRules rules = load_access_rules(rules_path, c.search);
    if (rules.rules.empty() && c.access_ldap.config.empty()) {
        std::cerr << "tlog-server: no access rule in " << rules_path << (rules.found ? "" : " (no such file)")
                  << ": nobody may read recordings (fail closed)\n";
    }
    // The sign-in cookie goes over TLS only when the listener is TLS.
    AuthSettings auth = c.auth;
    auth.secure_cookie = !c.tls.cert.empty();
    Routes routes(store, streams, c.search, gate, auth, std::move(rules), &indexer);
    // The directory's entries are read before the listener opens.
    AccessRefresher access_refresher(routes.access(), rules_path, c.access_ldap);
    Verifier verifier(c.integrity_keys);
    // Checkpoints on a connection of their own, the last one after the
    // listener stopped (a clean shutdown).
    std::unique_ptr<Checkpointer> checkpointer;
    if (!c.checkpoint_key.empty()) {
        checkpointer = std::make_unique<Checkpointer>(
            open_store(c.database), CheckpointConfig{c.checkpoint_key, c.checkpoint_interval_s * 1000});
        checkpointer->start();
    }
    // The checkpoints' key checks them too (the private key verifies as
    // its public half does).
    std::optional<proof::Key> checkpoint_key;
    if (!c.checkpoint_key.empty()) checkpoint_key = proof::Key::load_private(c.checkpoint_key);
    VerifyService verify{c.database, &verifier, checkpoint_key ? &*checkpoint_key : nullptr};
    routes.set_verify(&verify);
    const UiFiles ui(ui_dir(c));
    routes.set_ui(&ui);
    routes.set_admin(checkpoint_key ? &*checkpoint_key : nullptr, &c);
    routes.install(srv);
    int port = c.port;
    if (port == 0) {
        port = srv.bind_to_any_port(c.listen_host);
    } else if (!srv.bind_to_port(c.listen_host, port)) {
        port = -1;
    }
    if (port < 0) {
        std::cerr << "tlog-server: cannot listen on " << c.listen_host << ":" << c.port << '\n';
        return 1;
    }
    running_hub = &routes.hub();
    running = &srv;
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    // Server::stop() does nothing until the library's accept loop runs, so
    // a signal between "listening on" and that loop would be lost and the
    // server would go on running: this thread stops it once the loop runs.
    // (A signal after the check below finds the loop running and stops it
    // itself.)
    std::atomic<bool> listen_done{false};
    std::thread late_stop([&] {
        while (!srv.is_running()) {
            if (listen_done.load()) {
                return;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        if (stop_requested.load()) {
            srv.stop();
        }
    });
    if (auto notice = gate.start_notice(); !notice.empty()) {
        std::fwrite(notice.data(), 1, notice.size(), stderr);
    }
    on_listen(port);
    bool ok = srv.listen_after_bind();
    listen_done = true;
    late_stop.join();
    running = nullptr;
    running_hub = nullptr;
    if (checkpointer) checkpointer->stop();
    return ok ? 0 : 1;
}

}  // namespace tlog::server
