// tlog-server's configuration file: a JSON object in the syntax of tlog's
// configuration files, read with librec's one JSON implementation.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "tlog/error.h"
#include "tlog/json.h"
#include "tlog/server/http.h"

namespace tlog::server {

ServerConfig load_config(const std::string& path, ServerConfig c) {
    std::string text;
    {
        std::unique_ptr<FILE, int (*)(FILE*)> f(fopen(path.c_str(), "re"), fclose);
        if (!f) {
            throw InputError({path, 0, 0, ""}, std::string("cannot open: ") + std::strerror(errno));
        }
        char buf[4096];
        size_t n = 0;
        while ((n = fread(buf, 1, sizeof buf, f.get())) > 0) {
            text.append(buf, n);
        }
        if (ferror(f.get()) != 0) {
            throw InputError({path, 0, 0, ""}, std::string("cannot read: ") + std::strerror(errno));
        }
    }
    auto v = json::parse(text, path, json::ParseOptions::tlog_configuration());
    if (!v.is_object()) {
        throw InputError({path, v.line, v.column, ""}, "expected a JSON object");
    }
    for (const auto& [key, val] : v.members()) {
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
