// Posts batches to tlog-server's POST /api/v1/ingest (recordings) or
// /api/v1/audit (tlog-audit's events) over HTTP(S) with
// cpp-httplib, one server after the other, and reads the per-line answer.
#include <httplib.h>
#include <sys/stat.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "internal.h"
#include "tlog/error.h"

namespace tlog::forward {

namespace {

struct Target {
    std::string url;     // as configured, for the log
    std::string prefix;  // the URL's path, before the endpoint
    std::unique_ptr<httplib::Client> client;
};

void set_timeout(double s, const std::function<void(time_t, time_t)>& set) {
    auto sec = static_cast<time_t>(s);
    set(sec, static_cast<time_t>(std::lround((s - static_cast<double>(sec)) * 1e6)));
}

// A secret's file (the client key, the token) readable by its owner only:
// a secret others can read proves nothing about this host.
void check_secret_file(const std::string& path, const char* key) {
    struct stat st {};
    if (stat(path.c_str(), &st) != 0) {
        throw std::runtime_error(std::string("server.") + key + " " + json::quote(path) + ": cannot read it");
    }
    if ((st.st_mode & 077U) != 0) {
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777U));
        throw std::runtime_error(std::string("server.") + key + " " + json::quote(path) + " has mode " + mode +
                                 ": it must be readable by its owner only (chmod 600)");
    }
}

std::string read_token(const std::string& path) {
    check_secret_file(path, "token_file");
    std::ifstream f(path);
    std::stringstream ss;
    ss << f.rdbuf();
    std::string t = ss.str();
    while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' ')) t.pop_back();
    if (!f || t.empty() || t.find_first_of(" \t\r\n") != std::string::npos) {
        throw std::runtime_error("server.token_file " + json::quote(path) + ": expected one token on one line");
    }
    return t;
}

}  // namespace

struct Sender::Impl {
    std::vector<Target> targets;
    Balance balance = Balance::Failover;
    size_t next = 0;  // failover: the last that worked; round-robin: the next in turn
};

Sender::Sender(const ServerOptions& o) : impl_(std::make_unique<Impl>()) {
    impl_->balance = o.balance;
    if (o.tls_cert.empty() != o.tls_key.empty()) {
        throw std::runtime_error("server.tls_cert and server.tls_key go together (a client certificate and its key)");
    }
    if (!o.tls_key.empty()) {
        check_secret_file(o.tls_key, "tls_key");
    }
    const std::string token = o.token_file.empty() ? std::string() : read_token(o.token_file);
    for (const auto& u : o.urls) {
        size_t scheme_end = u.find("://");
        size_t slash = scheme_end == std::string::npos ? std::string::npos : u.find('/', scheme_end + 3);
        Target t;
        t.url = u;
        std::string base = slash == std::string::npos ? u : u.substr(0, slash);
        std::string prefix = slash == std::string::npos ? "" : u.substr(slash);
        while (!prefix.empty() && prefix.back() == '/') {
            prefix.pop_back();
        }
        t.prefix = prefix;
        // A client certificate on https only: on http it would not be sent.
        t.client = !o.tls_cert.empty() && base.rfind("https://", 0) == 0
                       ? std::make_unique<httplib::Client>(base, o.tls_cert, o.tls_key)
                       : std::make_unique<httplib::Client>(base);
        if (!t.client->is_valid()) {
            if (!o.tls_cert.empty() && base.rfind("https://", 0) == 0) {
                throw std::runtime_error("server.tls_cert " + json::quote(o.tls_cert) + " and server.tls_key " +
                                         json::quote(o.tls_key) + ": cannot load them (PEM, the key unencrypted)");
            }
            throw std::runtime_error("server URL " + u + ": not a valid http:// or https:// URL");
        }
        auto& c = *t.client;
        set_timeout(o.connect_timeout, [&](time_t s, time_t us) { c.set_connection_timeout(s, us); });
        set_timeout(o.io_timeout, [&](time_t s, time_t us) { c.set_read_timeout(s, us); });
        set_timeout(o.io_timeout, [&](time_t s, time_t us) { c.set_write_timeout(s, us); });
        c.set_keep_alive(true);
        // Certificates are always verified: a recording sent to whoever
        // answers on the address would leave the host unnoticed.
        c.enable_server_certificate_verification(true);
        if (!o.ca_file.empty()) {
            c.set_ca_cert_path(o.ca_file);
        }
        if (!token.empty()) {
            c.set_bearer_token_auth(token);
        }
        impl_->targets.push_back(std::move(t));
    }
    if (impl_->targets.empty()) {
        throw std::runtime_error("no server URL configured (server.urls)");
    }
}

Sender::~Sender() = default;

Delivery Sender::send(const Batch& b, const char* endpoint) {
    auto& ts = impl_->targets;
    size_t start = impl_->next % ts.size();
    if (impl_->balance == Balance::RoundRobin) {
        impl_->next = start + 1;
    }
    std::string errors;
    for (size_t k = 0; k < ts.size(); ++k) {
        size_t i = (start + k) % ts.size();
        auto& t = ts[i];
        auto res = t.client->Post(t.prefix + endpoint, b.body, "application/x-ndjson");
        Delivery d;
        if (!res) {
            d.error = "no answer (" + httplib::to_string(res.error()) + ")";
        } else {
            d = parse_answer(res->status, res->body, b.where.size());
        }
        d.url = t.url;
        if (d.acked) {
            if (impl_->balance == Balance::Failover) {
                impl_->next = i;
            }
            return d;
        }
        errors += (errors.empty() ? "" : "; ") + t.url + ": " + d.error;
        // A server that failed is not tried first next time.
        if (impl_->balance == Balance::Failover && i == impl_->next % ts.size()) {
            impl_->next = i + 1;
        }
    }
    Delivery d;
    d.error = errors;
    return d;
}

Delivery parse_answer(int status, const std::string& body, size_t lines) {
    Delivery d;
    // One line too large for the server's body limit can never be taken.
    if (status == 413 && lines == 1) {
        d.acked = true;
        d.refused[1] = "HTTP 413: the server's request size limit is smaller than this line";
        return d;
    }
    if (status != 200 && status != 400) {
        d.error = "HTTP " + std::to_string(status);
        if (status == 401) {
            // The server says what identity it missed.
            d.error += ": " + body.substr(0, 300);
        }
        return d;
    }
    // A 200 says every line was stored; a 400 with per-line results says
    // the others were (one transaction), and which were refused. A 400
    // without them refused the request itself: not an acknowledgement.
    try {
        auto v = json::parse(body, "answer");
        auto count = [&](const char* k) -> std::optional<uint64_t> {
            const auto* f = v.is_object() ? v.find(k) : nullptr;
            return f != nullptr && f->is_number() ? f->as_uint() : std::nullopt;
        };
        auto created = count("created");
        auto dups = count("duplicates");
        auto failed = count("failed");
        const auto* errors = v.is_object() ? v.find("errors") : nullptr;
        if (!created || !dups || !failed || errors == nullptr || !errors->is_array() ||
            *created + *dups + *failed != lines || (status == 200) != (*failed == 0) ||
            errors->items().size() != *failed) {
            d.error = "HTTP " + std::to_string(status) + " without a result for every line: " + body.substr(0, 300);
            return d;
        }
        for (const auto& e : errors->items()) {
            const auto* line = e.is_object() ? e.find("line") : nullptr;
            const auto* what = e.is_object() ? e.find("error") : nullptr;
            auto no = line != nullptr && line->is_number() ? line->as_uint() : std::nullopt;
            if (!no || *no == 0 || *no > lines || what == nullptr || !what->is_string()) {
                d.error = "HTTP " + std::to_string(status) + " with a malformed error entry: " + body.substr(0, 300);
                return d;
            }
            d.refused[*no] = what->as_string();
        }
        if (d.refused.size() != *failed) {
            d.error = "HTTP " + std::to_string(status) + " naming a line twice";
            return d;
        }
        d.created = *created;
        d.duplicates = *dups;
        d.acked = true;
    } catch (const InputError& e) {
        d.error = "HTTP " + std::to_string(status) + " with an answer that is not JSON: " + e.message();
    }
    return d;
}

}  // namespace tlog::forward
