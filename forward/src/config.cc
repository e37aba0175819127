// tlog-forward's configuration file: a JSON object in the syntax of tlog's
// configuration files, read with librec's configuration reader (tlog/settings.h).
#include <cstdio>

#include "tlog/error.h"
#include "tlog/forward/forward.h"
#include "tlog/json.h"
#include "tlog/settings.h"

namespace tlog::forward {

namespace {

class Reader {
public:
    explicit Reader(std::string path) : path_(std::move(path)) {}

    [[noreturn]] void bad(const json::Value& v, const std::string& key, const std::string& what) const {
        throw InputError({path_, v.line, v.column, key}, what);
    }
    const json::Value& object(const json::Value& v, const std::string& key) const {
        if (!v.is_object()) {
            bad(v, key, "expected an object");
        }
        return v;
    }
    std::string string(const json::Value& v, const std::string& key) const {
        if (!v.is_string() || v.as_string().empty()) {
            bad(v, key, "expected a non-empty string");
        }
        return v.as_string();
    }
    std::vector<std::string> strings(const json::Value& v, const std::string& key) const {
        if (!v.is_array()) {
            bad(v, key, "expected an array of strings");
        }
        std::vector<std::string> out;
        for (const auto& i : v.items()) {
            out.push_back(string(i, key));
        }
        return out;
    }
    bool boolean(const json::Value& v, const std::string& key) const {
        if (!v.is_bool()) {
            bad(v, key, "expected true or false");
        }
        return v.as_bool();
    }
    double seconds(const json::Value& v, const std::string& key, double min, double max) const {
        auto d = v.is_number() ? v.as_double() : std::nullopt;
        if (!d || *d < min || *d > max) {
            bad(v, key, "expected a number of seconds from " + fmt(min) + " to " + fmt(max));
        }
        return *d;
    }
    size_t count(const json::Value& v, const std::string& key, uint64_t min, uint64_t max) const {
        auto u = v.is_number() ? v.as_uint() : std::nullopt;
        if (!u || *u < min || *u > max) {
            bad(v, key, "expected an integer from " + std::to_string(min) + " to " + std::to_string(max));
        }
        return static_cast<size_t>(*u);
    }

private:
    static std::string fmt(double d) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%g", d);
        return buf;
    }
    std::string path_;
};

void check_url(const Reader& r, const json::Value& v, const std::string& u) {
    if (u.rfind("http://", 0) != 0 && u.rfind("https://", 0) != 0) {
        r.bad(v, "server.urls", "expected http://HOST:PORT or https://HOST:PORT, got " + json::quote(u));
    }
}

}  // namespace

Config load_config(const std::string& path, Config c) {
    // The suite's one reader of configuration files (tlog's syntax, an
    // object, at most 1 MiB, errors naming the file, line and column).
    auto v = settings::read_layer_file(path);
    Reader r(path);
    for (const auto& [key, val] : v.members()) {
        if (key == "server") {
            for (const auto& [k, s] : r.object(val, key).members()) {
                std::string name = "server." + k;
                if (k == "urls") {
                    c.server.urls = r.strings(s, name);
                    if (c.server.urls.empty()) {
                        r.bad(s, name, "expected at least one URL");
                    }
                    for (size_t i = 0; i < c.server.urls.size(); ++i) {
                        check_url(r, s.items()[i], c.server.urls[i]);
                    }
                } else if (k == "balance") {
                    auto b = r.string(s, name);
                    if (b == "failover") {
                        c.server.balance = Balance::Failover;
                    } else if (b == "round-robin") {
                        c.server.balance = Balance::RoundRobin;
                    } else {
                        r.bad(s, name, "expected \"failover\" or \"round-robin\", got " + json::quote(b));
                    }
                } else if (k == "ca_file") {
                    c.server.ca_file = r.string(s, name);
                } else if (k == "tls_cert") {
                    c.server.tls_cert = r.string(s, name);
                } else if (k == "tls_key") {
                    c.server.tls_key = r.string(s, name);
                } else if (k == "token_file") {
                    c.server.token_file = r.string(s, name);
                } else if (k == "connect_timeout") {
                    c.server.connect_timeout = r.seconds(s, name, 0.1, 3600);
                } else if (k == "timeout") {
                    c.server.io_timeout = r.seconds(s, name, 0.1, 3600);
                } else {
                    r.bad(s, name, "unknown setting");
                }
            }
        } else if (key == "files") {
            c.files = r.strings(val, key);
            for (size_t i = 0; i < c.files.size(); ++i) {
                if (c.files[i].front() != '/') {
                    r.bad(val.items()[i], key, "expected an absolute path, got " + json::quote(c.files[i]));
                }
            }
        } else if (key == "audit_files") {
            c.audit_files = r.strings(val, key);
            for (size_t i = 0; i < c.audit_files.size(); ++i) {
                if (c.audit_files[i].front() != '/') {
                    r.bad(val.items()[i], key, "expected an absolute path, got " + json::quote(c.audit_files[i]));
                }
            }
        } else if (key == "journal") {
            for (const auto& [k, s] : r.object(val, key).members()) {
                std::string name = "journal." + k;
                if (k == "enabled") {
                    c.journal.enabled = r.boolean(s, name);
                } else if (k == "namespace") {
                    c.journal.ns = r.string(s, name);
                } else if (k == "matches") {
                    c.journal.matches = r.strings(s, name);
                    for (size_t i = 0; i < c.journal.matches.size(); ++i) {
                        if (c.journal.matches[i].find('=') == std::string::npos) {
                            r.bad(s.items()[i], name, "expected FIELD=VALUE, got " + json::quote(c.journal.matches[i]));
                        }
                    }
                } else if (k == "recorder_users") {
                    c.journal.recorder_users = r.strings(s, name);
                } else {
                    r.bad(s, name, "unknown setting");
                }
            }
        } else if (key == "state_dir") {
            c.state_dir = r.string(val, key);
        } else if (key == "batch") {
            for (const auto& [k, s] : r.object(val, key).members()) {
                std::string name = "batch." + k;
                if (k == "lines") {
                    c.batch_lines = r.count(s, name, 1, 100000);
                } else if (k == "bytes") {
                    c.batch_bytes = r.count(s, name, 4096, 48U << 20U);
                } else {
                    r.bad(s, name, "unknown setting");
                }
            }
        } else if (key == "retry") {
            for (const auto& [k, s] : r.object(val, key).members()) {
                std::string name = "retry." + k;
                if (k == "min") {
                    c.retry_min = r.seconds(s, name, 0.01, 3600);
                } else if (k == "max") {
                    c.retry_max = r.seconds(s, name, 0.01, 86400);
                } else {
                    r.bad(s, name, "unknown setting");
                }
            }
            if (c.retry_max < c.retry_min) {
                r.bad(val, key, "retry.max is less than retry.min");
            }
        } else if (key == "poll") {
            c.poll = r.seconds(val, key, 0.01, 60);
        } else {
            r.bad(val, key, "unknown setting");
        }
    }
    c.source = path;
    return c;
}

}  // namespace tlog::forward
