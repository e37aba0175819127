// tlog-server's configuration file: a JSON object in the syntax of tlog's
// configuration files, read with librec's configuration reader (tlog/settings.h).
#include "tlog/error.h"
#include "tlog/json.h"
#include "tlog/server/http.h"
#include "tlog/settings.h"

namespace tlog::server {

ServerConfig load_config(const std::string& path, ServerConfig c) {
    // The suite's one reader of configuration files (tlog's syntax, an
    // object, at most 1 MiB, errors naming the file, line and column).
    auto v = settings::read_layer_file(path);
    for (const auto& [key, val] : v.members()) {
        if (val.is_number() && parse_stream_setting(key, val.number_text(), path + ":" + std::to_string(val.line), c)) {
            continue;
        }
        if (!val.is_string()) {
            throw InputError({path, val.line, val.column, key}, "expected a string");
        }
        if (key == "listen") {
            parse_listen(val.as_string(), path + ":" + std::to_string(val.line), c);
        } else if (key == "database") {
            c.database = val.as_string();
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
