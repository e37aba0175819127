// tlog-server's configuration file: a JSON object in the syntax of tlog's
// configuration files, read with librec's configuration reader (tlog/settings.h).
#include "tlog/error.h"
#include "tlog/json.h"
#include "tlog/server/http.h"
#include "tlog/settings.h"

namespace tlog::server {

namespace {

// "host_groups": {"NAME": ["glob", "@netgroup", ...], ...}
void read_host_groups(const json::Value& v, const std::string& path, SearchSettings& s) {
    if (!v.is_object()) {
        throw InputError({path, v.line, v.column, "host_groups"}, "expected an object of host group names");
    }
    for (const auto& [name, members] : v.members()) {
        const std::string key = "host_groups." + name;
        if (name.empty()) {
            throw InputError({path, members.line, members.column, key}, "a host group needs a name");
        }
        if (!members.is_array()) {
            throw InputError({path, members.line, members.column, key},
                             "expected an array of host patterns (glob, or @netgroup)");
        }
        std::vector<std::string> list;
        for (const auto& m : members.items()) {
            if (!m.is_string() || m.as_string().empty() || m.as_string() == "@") {
                throw InputError({path, m.line, m.column, key},
                                 "expected a non-empty string: a host glob pattern or @netgroup");
            }
            list.push_back(m.as_string());
        }
        s.host_groups[name] = std::move(list);
    }
}

// The viewers' sign-in settings (AuthSettings); false for another key.
bool read_auth_setting(const std::string& key, const json::Value& val, const std::string& path, AuthSettings& a) {
    if (key == "pam_service") {
        if (!val.is_string() || val.as_string().empty() || val.as_string().find('/') != std::string::npos) {
            throw InputError({path, val.line, val.column, key}, "expected a PAM service name");
        }
        a.pam_service = val.as_string();
        return true;
    }
    struct Limit {
        const char* key;
        uint64_t* target;
        uint64_t min, max;
        const char* unit;
    };
    const Limit limits[] = {
        {"session_idle", &a.session_idle_s, 1, 7 * 86400, "seconds"},
        {"session_max", &a.session_max_s, 1, 31 * 86400, "seconds"},
        {"pam_timeout", &a.pam_timeout_s, 1, 600, "seconds"},
        {"login_max_failures", &a.login_max_failures, 1, 1000, "failed sign-ins"},
        {"login_window", &a.login_window_s, 1, 86400, "seconds"},
    };
    for (const auto& l : limits) {
        if (key != l.key) continue;
        auto n = val.is_number() ? val.as_uint() : std::nullopt;
        if (!n || *n < l.min || *n > l.max) {
            throw InputError({path, val.line, val.column, key}, "expected whole " + std::string(l.unit) + " from " +
                                                                    std::to_string(l.min) + " to " +
                                                                    std::to_string(l.max));
        }
        *l.target = *n;
        return true;
    }
    return false;
}

}  // namespace

ServerConfig load_config(const std::string& path, ServerConfig c) {
    // The suite's one reader of configuration files (tlog's syntax, an
    // object, at most 1 MiB, errors naming the file, line and column).
    auto v = settings::read_layer_file(path);
    for (const auto& [key, val] : v.members()) {
        if (key == "integrity_keys" && val.is_array()) {
            c.integrity_keys.clear();
            for (const auto& k : val.items()) {
                if (!k.is_string() || k.as_string().empty()) {
                    throw InputError({path, k.line, k.column, key}, "expected an array of key file names");
                }
                c.integrity_keys.push_back(k.as_string());
            }
            continue;
        }
        if (val.is_number() && parse_stream_setting(key, val.number_text(), path + ":" + std::to_string(val.line), c)) {
            continue;
        }
        if (key == "host_groups") {
            read_host_groups(val, path, c.search);
            continue;
        }
        if (key == "user_groups") {
            if (!val.is_bool()) {
                throw InputError({path, val.line, val.column, key}, "expected true or false");
            }
            c.search.user_groups = val.as_bool();
            continue;
        }
        if (key == "interrupted_after") {
            auto n = val.is_number() ? val.as_uint() : std::nullopt;
            if (!n || *n > 100U * 365 * 86400) {
                throw InputError({path, val.line, val.column, key},
                                 "expected whole seconds (0: only the audit trail's close interrupts)");
            }
            c.search.interrupted_after_s = *n;
            continue;
        }
        if (read_auth_setting(key, val, path, c.auth)) {
            continue;
        }
        if (!val.is_string()) {
            throw InputError({path, val.line, val.column, key}, "expected a string");
        }
        if (key == "listen") {
            parse_listen(val.as_string(), path + ":" + std::to_string(val.line), c);
        } else if (key == "database") {
            c.database = val.as_string();
        } else if (key == "access_rules") {
            c.access_rules = val.as_string();
        } else if (parse_stream_setting(key, val.as_string(), path + ":" + std::to_string(val.line), c)) {
            continue;
        } else {
            throw InputError({path, val.line, val.column, key}, "unknown setting");
        }
    }
    c.source = path;
    return c;
}

bool parse_stream_setting(const std::string& key, const std::string& text, const std::string& what, ServerConfig& c) {
    auto* target = key == "max_streams"          ? nullptr
                   : key == "stream_keepalive"   ? &c.streams.keepalive
                   : key == "stream_gap_timeout" ? &c.streams.gap_timeout
                   : key == "stream_poll"        ? &c.streams.poll
                                                 : nullptr;
    if (target == nullptr && key != "max_streams") {
        return false;
    }
    auto n = json::Value::make_number(text).as_uint();
    if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos || !n || *n > 1000000) {
        throw InputError({what, 0, 0, key}, "expected a whole number up to 1000000, got " + json::quote(text));
    }
    if (key == "max_streams") {
        c.streams.max_streams = *n;
    } else if (key == "stream_poll") {
        *target = std::chrono::milliseconds(*n);
    } else {
        if (*n == 0) {
            throw InputError({what, 0, 0, key}, "must be at least 1 (seconds)");
        }
        *target = std::chrono::milliseconds(*n * 1000);
    }
    return true;
}

}  // namespace tlog::server
