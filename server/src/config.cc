// tlog-server's configuration file: a JSON object in the syntax of tlog's
// configuration files, read with librec's configuration reader (tlog/settings.h).
#include "tlog/error.h"
#include "tlog/json.h"
#include "tlog/server/http.h"
#include "tlog/settings.h"
#include "tlog_build_config.h"

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

// A size: a whole number of bytes, or a string of one with K, M, G or T
// (powers of 1024).
uint64_t read_size(const json::Value& v, const std::string& path, const std::string& key) {
    std::string t = v.is_number() || v.is_string() ? v.as_string() : std::string();
    uint64_t mult = 1;
    if (v.is_string() && !t.empty()) {
        size_t at = std::string("KMGT").find(t.back());
        if (at != std::string::npos) {
            mult = 1ULL << (10 * (at + 1));
            t.pop_back();
        }
    }
    if (t.empty() || t.size() > 15 || t.find_first_not_of("0123456789") != std::string::npos || std::stoull(t) == 0) {
        throw InputError({path, v.line, v.column, key},
                         "expected a size: a whole number of bytes above 0, or a string such as \"500G\"");
    }
    return std::stoull(t) * mult;
}

// "retention": {"CLASS": {"days": N, "max_bytes": SIZE, "action": "purge" |
// "archive", "archive_dir": PATH}, ...}
void read_retention(const json::Value& v, const std::string& path, RetentionSettings& r) {
    if (!v.is_object()) {
        throw InputError({path, v.line, v.column, "retention"}, "expected an object of retention classes");
    }
    for (const auto& [name, cv] : v.members()) {
        const std::string key = "retention." + name;
        if (name.empty() || !cv.is_object()) {
            throw InputError({path, cv.line, cv.column, key}, "expected a named object: {\"days\": N, ...}");
        }
        RetentionClass c;
        c.name = name;
        bool days = false;
        for (const auto& [k, f] : cv.members()) {
            const std::string fk = key + "." + k;
            if (k == "days") {
                auto n = f.is_number() ? f.as_uint() : std::nullopt;
                if (!n || *n == 0 || *n > 36500) {
                    throw InputError({path, f.line, f.column, fk}, "expected whole days, 1 to 36500");
                }
                c.days = *n;
                days = true;
            } else if (k == "max_bytes") {
                c.max_bytes = read_size(f, path, fk);
            } else if (k == "action") {
                if (!f.is_string() || (f.as_string() != "purge" && f.as_string() != "archive")) {
                    throw InputError({path, f.line, f.column, fk}, "expected \"purge\" or \"archive\"");
                }
                c.action = f.as_string() == "archive" ? RetentionClass::Action::Archive : RetentionClass::Action::Purge;
            } else if (k == "archive_dir") {
                if (!f.is_string() || f.as_string().empty() || f.as_string()[0] != '/') {
                    throw InputError({path, f.line, f.column, fk}, "expected an absolute directory path");
                }
                c.archive_dir = f.as_string();
            } else {
                throw InputError({path, f.line, f.column, fk}, "unknown setting");
            }
        }
        if (!days) {
            throw InputError({path, cv.line, cv.column, key + ".days"}, "missing: how many days to keep");
        }
        if (c.action == RetentionClass::Action::Archive && c.archive_dir.empty()) {
            throw InputError({path, cv.line, cv.column, key + ".archive_dir"}, "missing: action archive needs it");
        }
        if (c.action == RetentionClass::Action::Purge && !c.archive_dir.empty()) {
            throw InputError({path, cv.line, cv.column, key + ".archive_dir"}, "only with \"action\": \"archive\"");
        }
        r.classes[name] = std::move(c);
    }
}

// "ingest_relays": {"IDENTITY": ["host glob", ...], ...}
void read_relays(const json::Value& v, const std::string& path, IngestAuthSettings& s) {
    if (!v.is_object()) {
        throw InputError({path, v.line, v.column, "ingest_relays"},
                         "expected an object: {\"IDENTITY\": [\"host glob\", ...]}");
    }
    for (const auto& [name, members] : v.members()) {
        const std::string key = "ingest_relays." + name;
        if (name.empty()) {
            throw InputError({path, members.line, members.column, key}, "a relay needs its identity as the name");
        }
        if (!members.is_array()) {
            throw InputError({path, members.line, members.column, key}, "expected an array of host glob patterns");
        }
        std::vector<std::string> list;
        for (const auto& m : members.items()) {
            if (!m.is_string() || m.as_string().empty()) {
                throw InputError({path, m.line, m.column, key}, "expected a non-empty host glob pattern");
            }
            list.push_back(m.as_string());
        }
        s.relays[name] = std::move(list);
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
        if (key == "retention") {
            read_retention(val, path, c.retention);
            continue;
        }
        if (key == "retention_rules") {
            if (!val.is_object()) {
                throw InputError({path, val.line, val.column, key}, "expected an object: rule name -> class");
            }
            for (const auto& [rule, cls] : val.members()) {
                if (!cls.is_string() || cls.as_string().empty()) {
                    throw InputError({path, cls.line, cls.column, key + "." + rule}, "expected a class name");
                }
                c.retention.rules[rule] = cls.as_string();
            }
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
        if (key == "ingest_relays") {
            read_relays(val, path, c.ingest_auth);
            continue;
        }
        if (key == "checkpoint_interval") {
            auto n = val.is_number() ? val.as_uint() : std::nullopt;
            if (!n || *n == 0 || *n > 7U * 86400) {
                throw InputError({path, val.line, val.column, key}, "expected whole seconds, 1 to 604800");
            }
            c.checkpoint_interval_s = *n;
            continue;
        }
        if (key == "access_ldap_refresh" || key == "access_ldap_max_stale") {
            const bool refresh = key == "access_ldap_refresh";
            const uint64_t lo = refresh ? 1 : 0, hi = refresh ? 86400 : 366U * 86400;
            auto n = val.is_number() ? val.as_uint() : std::nullopt;
            if (!n || *n < lo || *n > hi) {
                throw InputError({path, val.line, val.column, key},
                                 "expected whole seconds, " + std::to_string(lo) + " to " + std::to_string(hi));
            }
            (refresh ? c.access_ldap.refresh_s : c.access_ldap.max_stale_s) = *n;
            continue;
        }
        if (read_auth_setting(key, val, path, c.auth)) {
            continue;
        }
        if (!val.is_string()) {
            throw InputError({path, val.line, val.column, key}, "expected a string");
        }
        if (key == "plain_http") {
            if (val.as_string() != "loopback") {
                throw InputError({path, val.line, val.column, key},
                                 "the only value is \"loopback\" (plain HTTP on a loopback address)");
            }
            c.ingest_auth.plain_http = true;
            continue;
        }
        if (key.rfind("tls_", 0) == 0) {
            auto* file = key == "tls_cert"        ? &c.tls.cert
                         : key == "tls_key"       ? &c.tls.key
                         : key == "tls_client_ca" ? &c.tls.client_ca
                         : key == "tls_crl"       ? &c.tls.crl
                                                  : nullptr;
            if (file == nullptr) {
                throw InputError({path, val.line, val.column, key},
                                 "unknown setting (tls_cert, tls_key, tls_client_ca, tls_crl)");
            }
            if (val.as_string().empty()) {
                throw InputError({path, val.line, val.column, key}, "expected a file name");
            }
            *file = val.as_string();
            c.tls.source = path;
            continue;
        }
        if (key == "listen") {
            parse_listen(val.as_string(), path + ":" + std::to_string(val.line), c);
        } else if (key == "database") {
            c.database = val.as_string();
        } else if (key == "retention_default") {
            c.retention.default_class = val.as_string();
        } else if (key == "checkpoint_key") {
            c.checkpoint_key = val.as_string();
        } else if (key == "access_rules") {
            c.access_rules = val.as_string();
        } else if (key == "ui_dir") {
            c.ui_dir = val.as_string();
        } else if (key == "access_ldap") {
            c.access_ldap.config = val.as_string();
        } else if (key == "retention_ldap") {
            if (val.as_string().empty()) throw InputError({path, val.line, val.column, key}, "expected a file name");
            c.retention.ldap = val.as_string();
        } else if (parse_stream_setting(key, val.as_string(), path + ":" + std::to_string(val.line), c)) {
            continue;
        } else {
            throw InputError({path, val.line, val.column, key}, "unknown setting");
        }
    }
    // Classes named anywhere must be configured (the file's keys come in
    // any order); with retention_ldap they may be the directory's, which
    // each run reads (a class configured nowhere keeps its recordings).
    for (const auto& [key, val] : v.members()) {
        if (!c.retention.ldap.empty()) break;
        if (key == "retention_default" && !c.retention.default_class.empty() &&
            c.retention.classes.count(c.retention.default_class) == 0) {
            throw InputError({path, val.line, val.column, key},
                             "names class " + json::quote(c.retention.default_class) + ", not in \"retention\"");
        }
        if (key == "retention_rules") {
            for (const auto& [rule, cls] : val.members()) {
                if (c.retention.classes.count(cls.as_string()) == 0) {
                    throw InputError({path, cls.line, cls.column, key + "." + rule},
                                     "names class " + json::quote(cls.as_string()) + ", not in \"retention\"");
                }
            }
        }
    }
    c.source = path;
    return c;
}

std::string access_rules_file(const ServerConfig& c) {
    return c.access_rules.empty() ? TLOG_SYSCONFDIR "/server-access.yaml" : c.access_rules;
}

std::string ui_dir(const ServerConfig& c) { return c.ui_dir.empty() ? TLOG_DATADIR "/tlog-server/ui" : c.ui_dir; }

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
