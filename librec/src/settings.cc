#include "tlog/settings.h"

#include <fcntl.h>
#include <regex.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string_view>
#include <utility>

#include "tlog/error.h"

namespace tlog::settings {

const char* program_name(Program p) {
    switch (p) {
        case Program::Rec: return "tlog-rec";
        case Program::RecSession: return "tlog-rec-session";
        case Program::Play: return "tlog-play";
    }
    return "?";
}

namespace {

// What regcomp says of a redaction pattern, as the recorder compiles it.
std::optional<std::string> regex_error(const std::string& pattern) {
    regex_t re;
    int rc = regcomp(&re, pattern.c_str(), REG_EXTENDED | REG_NOSUB);
    if (rc == 0) {
        regfree(&re);
        return std::nullopt;
    }
    char msg[256];
    regerror(rc, &re, msg, sizeof msg);
    return std::string(msg);
}

enum class Kind { Section, String, Bool, UInt, Positive, Enum, StringArray };

// Which programs take a key.
constexpr unsigned kRec = 1, kSession = 2, kPlay = 4, kRecorders = kRec | kSession, kAll = kRecorders | kPlay;

unsigned bit(Program p) {
    switch (p) {
        case Program::Rec: return kRec;
        case Program::RecSession: return kSession;
        case Program::Play: return kPlay;
    }
    return 0;
}

struct Key {
    const char* path;
    Kind kind;
    const char* what;                 // what is expected, for error messages
    std::vector<std::string> values;  // Enum
    uint64_t min;                     // UInt
    unsigned programs;                // kRec | kSession | kPlay
    bool safe_untrusted;              // cannot weaken the recording: accepted from any environment
    Key(const char* p, Kind k, const char* w, std::vector<std::string> v = {}, uint64_t m = 0,
        unsigned progs = kRecorders, bool safe = false)
        : path(p), kind(k), what(w), values(std::move(v)), min(m), programs(progs), safe_untrusted(safe) {}
    // The table once said session_only with a bool where the program mask
    // now goes: a bool there would silently mean "no program".
    Key(const char* p, Kind k, const char* w, std::vector<std::string> v, uint64_t m, bool progs,
        bool safe = false) = delete;
};

const std::vector<Key>& schema() {
    static const std::vector<std::string> priorities = {"emerg",   "alert",  "crit", "err",
                                                        "warning", "notice", "info", "debug"};
    static const std::vector<Key> keys = {
        {"shell", Kind::String, "an absolute path to a shell", {}, 0, kSession, true},
        {"notice", Kind::String, "a string", {}, 0, kSession, true},
        {"latency", Kind::Positive, "a positive number of seconds", {}, 0, kRecorders, false},
        {"payload", Kind::UInt, "an integer number of bytes, at least 64", {}, 64, kRecorders, false},
        {"writer", Kind::Enum, "one of \"file\", \"syslog\", \"journal\"", {"file", "syslog", "journal"}},
        {"log", Kind::Section, "an object"},
        {"log.input", Kind::Bool, "true or false"},
        {"log.output", Kind::Bool, "true or false"},
        {"log.window", Kind::Bool, "true or false"},
        // Neither value is taken from an untrusted layer: "hide" keeps input
        // out of the recording, "record" puts passwords into it; the
        // administrator (or a proven rule) chooses.
        {"log.input_secrets", Kind::Enum, "one of \"hide\", \"record\"", {"hide", "record"}},
        // Redaction patterns remove output from the recording: trusted layers only.
        {"log.output_redact", Kind::StringArray, "an array of POSIX extended regular expressions"},
        {"limit", Kind::Section, "an object"},
        {"limit.rate", Kind::UInt, "an integer number of bytes per second"},
        {"limit.burst", Kind::UInt, "an integer number of bytes"},
        {"limit.action", Kind::Enum, "one of \"pass\", \"delay\", \"drop\"", {"pass", "delay", "drop"}},
        {"file", Kind::Section, "an object", {}, 0, kAll},
        {"file.path", Kind::String, "a file path", {}, 0, kAll},
        {"syslog", Kind::Section, "an object"},
        {"syslog.facility", Kind::Enum, "a syslog facility name", {"auth",   "authpriv", "cron",   "daemon", "ftp",
                                                                   "kern",   "local0",   "local1", "local2", "local3",
                                                                   "local4", "local5",   "local6", "local7", "lpr",
                                                                   "mail",   "news",     "syslog", "user",   "uucp"}},
        {"syslog.priority", Kind::Enum, "a syslog priority name", priorities},
        {"journal", Kind::Section, "an object", {}, 0, kAll},
        {"journal.priority", Kind::Enum, "a syslog priority name", priorities},
        {"journal.augment", Kind::Bool, "true or false"},
        {"lax", Kind::Bool, "true or false", {}, 0, kAll},
        {"integrity", Kind::Section, "an object"},
        {"integrity.key", Kind::String, "a key file path"},
        {"transfer", Kind::Section, "an object"},
        {"transfer.payload", Kind::Bool, "true or false"},
        {"graphical", Kind::Section, "an object"},
        {"graphical.record", Kind::Bool, "true or false"},
        // pam_tlog's decision for this login: only ever taken from a
        // proven TLOG_REC_CONF_TEXT (not safe untrusted: "record": false would
        // switch recording off).
        {"pam", Kind::Section, "an object", {}, 0, kSession},
        {"pam.rec", Kind::String, "a recording id", {}, 0, kSession},
        {"pam.record", Kind::Bool, "true or false", {}, 0, kSession},
        // Per session kind, when PAM could not tell the kind (sshd): the
        // recorder knows it (-c or not, a file-transfer command line).
        {"pam.interactive", Kind::Bool, "true or false", {}, 0, kSession},
        {"pam.command", Kind::Bool, "true or false", {}, 0, kSession},
        {"pam.transfer", Kind::Bool, "true or false", {}, 0, kSession},
        // Who asked for this login, written into the recording's "login"
        // field (doc/recorder-fields.md): proven only, or a user could name
        // someone else as the one who ran sudo.
        {"pam.service", Kind::String, "a PAM service name", {}, 0, kSession},
        {"pam.ruser", Kind::String, "a user name", {}, 0, kSession},
        // The login program runs the shell on a terminal of its own that it
        // relays to a live recording's terminal (sudo's use_pty): that
        // recording's id. Proven only: it makes the session unrecorded.
        {"pam.nested", Kind::String, "a recording id", {}, 0, kSession},
        // Printed by --configuration like tlog does; accepted back for round trips.
        {"configuration", Kind::Bool, "true or false", {}, 0, kAll, true},
        {"args", Kind::StringArray, "an array of strings", {}, 0, kRecorders, true},
        {"semaphore", Kind::String, "a file path", {}, 0, kRecorders, true},
        {"login", Kind::Bool, "true or false", {}, 0, kSession, true},
        {"interactive", Kind::Bool, "true or false", {}, 0, kSession, true},
        {"command", Kind::Bool, "true or false", {}, 0, kSession, true},
        {"help", Kind::Bool, "true or false", {}, 0, kAll, true},
        {"version", Kind::Bool, "true or false", {}, 0, kAll, true},
        // tlog-play: tlog's tlog-play.conf keys, and ours: "server" (the
        // tlog-server reader) and "ca_file" (https for both remote readers).
        {"reader",
         Kind::Enum,
         "one of \"file\", \"journal\", \"es\", \"server\"",
         {"file", "journal", "es", "server"},
         0,
         kPlay},
        {"file.match", Kind::String, "a recording id", {}, 0, kPlay},
        {"journal.since", Kind::UInt, "seconds since the epoch", {}, 0, kPlay},
        {"journal.until", Kind::UInt, "seconds since the epoch", {}, 0, kPlay},
        {"journal.match", Kind::StringArray, "an array of FIELD=VALUE strings", {}, 0, kPlay},
        {"journal.namespace", Kind::String, "a journal namespace", {}, 0, kPlay},
        {"es", Kind::Section, "an object", {}, 0, kPlay},
        {"es.baseurl", Kind::String, "a URL", {}, 0, kPlay},
        {"es.query", Kind::String, "a query string", {}, 0, kPlay},
        {"es.verbose", Kind::Bool, "true or false", {}, 0, kPlay},
        {"server", Kind::Section, "an object", {}, 0, kPlay},
        {"server.url", Kind::String, "a URL", {}, 0, kPlay},
        {"server.rec", Kind::String, "a recording id", {}, 0, kPlay},
        {"server.host", Kind::String, "a host name", {}, 0, kPlay},
        {"ca_file", Kind::String, "a file path", {}, 0, kPlay},
        {"speed", Kind::Positive, "a positive number", {}, 0, kPlay},
        {"follow", Kind::Bool, "true or false", {}, 0, kPlay},
        {"goto", Kind::String, "start, end or [[HH:]MM:]SS[.sss]", {}, 0, kPlay},
        {"paused", Kind::Bool, "true or false", {}, 0, kPlay},
        {"persist", Kind::Bool, "true or false", {}, 0, kPlay},
    };
    return keys;
}

const Key* find_key(const std::string& path) {
    for (const auto& k : schema())
        if (path == k.path) return &k;
    return nullptr;
}

[[noreturn]] void fail(const std::string& source, const json::Value& v, const std::string& path,
                       const std::string& msg) {
    throw InputError(Location{source, v.line, v.column, path}, msg);
}

void check_value(const Key& k, const json::Value& v, const std::string& source, const std::string& path) {
    auto expected = [&]() {
        fail(source, v, path, std::string("expected ") + k.what + ", got " + json::type_name(v.type()));
    };
    switch (k.kind) {
        case Kind::Section:
            if (!v.is_object()) expected();
            break;
        case Kind::String:
            if (!v.is_string()) expected();
            if (std::string(k.path) == "shell" && (v.as_string().empty() || v.as_string()[0] != '/'))
                fail(source, v, path, std::string("expected ") + k.what + ", got \"" + v.as_string() + "\"");
            break;
        case Kind::Bool:
            if (!v.is_bool()) expected();
            break;
        case Kind::UInt: {
            auto u = v.as_uint();
            if (!u || *u < k.min) {
                if (!v.is_number()) expected();
                fail(source, v, path, std::string("expected ") + k.what + ", got " + v.number_text());
            }
            break;
        }
        case Kind::Positive: {
            auto d = v.as_double();
            if (!d || *d <= 0) {
                if (!v.is_number()) expected();
                fail(source, v, path, std::string("expected ") + k.what + ", got " + v.number_text());
            }
            break;
        }
        case Kind::Enum: {
            if (!v.is_string()) expected();
            bool ok = false;
            for (const auto& e : k.values) ok = ok || e == v.as_string();
            if (!ok) fail(source, v, path, std::string("expected ") + k.what + ", got \"" + v.as_string() + "\"");
            break;
        }
        case Kind::StringArray:
            if (!v.is_array()) expected();
            for (const auto& item : v.items())
                if (!item.is_string()) fail(source, item, path, std::string("expected ") + k.what);
            if (std::string_view(k.path) == "log.output_redact")
                for (const auto& item : v.items())
                    if (auto err = regex_error(item.as_string()))
                        fail(source, item, path, "bad pattern \"" + item.as_string() + "\": " + *err);
            break;
    }
}

void merge_object(json::Value& into, const json::Value& layer, const std::string& source, Program p,
                  const std::string& prefix, bool trusted, std::vector<std::string>* ignored) {
    for (const auto& [name, v] : layer.members()) {
        std::string path = prefix.empty() ? name : prefix + "." + name;
        const Key* k = find_key(path);
        if (!k || !(k->programs & bit(p))) fail(source, v, path, std::string("unknown setting for ") + program_name(p));
        check_value(*k, v, source, path);
        if (k->kind == Kind::Section) {
            json::Value* sub = into.find(name);
            if (!sub) sub = &into.set(name, json::Value::make_object());
            merge_object(*sub, v, source, p, path, trusted, ignored);
            continue;
        }
        if (!trusted && !k->safe_untrusted) {
            if (ignored)
                ignored->push_back(source + ": setting '" + path + "' = " + json::dump(v) + " ignored: " +
                                   (source == "<command line>"
                                        ? "the login shell's command line is the user's to write"
                                        : "the environment is not trusted without a valid proof"));
            continue;
        }
        into.set(name, v);
    }
}

std::string read_text_file(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) throw InputError(Location{path, 0, 0, ""}, std::string("cannot open: ") + strerror(errno));
    std::string s;
    char buf[4096];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int e = errno;
            ::close(fd);
            throw InputError(Location{path, 0, 0, ""}, std::string("cannot read: ") + strerror(e));
        }
        if (n == 0) break;
        s.append(buf, static_cast<size_t>(n));
        if (s.size() > (1u << 20)) {
            ::close(fd);
            throw InputError(Location{path, 0, 0, ""}, "file larger than 1 MiB");
        }
    }
    ::close(fd);
    return s;
}

}  // namespace

json::Value parse_layer(const std::string& text, const std::string& source) {
    json::Value v = json::parse(text, source, json::ParseOptions::tlog_configuration());
    if (!v.is_object()) throw InputError(Location{source, v.line, v.column, ""}, "expected a JSON object");
    return v;
}

json::Value read_layer_file(const std::string& path) { return parse_layer(read_text_file(path), path); }

void merge_layer(json::Value& into, const json::Value& layer, const std::string& source, Program p, bool trusted,
                 std::vector<std::string>* ignored) {
    if (!layer.is_object()) throw InputError(Location{source, layer.line, layer.column, ""}, "expected a JSON object");
    merge_object(into, layer, source, p, "", trusted, ignored);
}

void check_layer(const json::Value& layer, const std::string& source, Program p) {
    json::Value scratch = json::Value::make_object();
    merge_layer(scratch, layer, source, p);
}

}  // namespace tlog::settings
