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
        if (!val.is_string()) {
            throw InputError({path, val.line, val.column, key}, "expected a string");
        }
        if (key == "listen") {
            parse_listen(val.as_string(), path + ":" + std::to_string(val.line), c);
        } else if (key == "database") {
            c.database = val.as_string();
        } else {
            throw InputError({path, val.line, val.column, key}, "unknown setting");
        }
    }
    c.source = path;
    return c;
}

}  // namespace tlog::server
