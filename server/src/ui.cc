// The web console's files: listed and read once at start, so that nothing
// the request names is ever opened; every answer carries the console's
// security headers, a missing file or console too.
#include "tlog/server/ui.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string_view>

#include "event_log.h"
#include "tlog/json.h"

namespace tlog::server {

namespace {

// No console file is this large; a larger one is not what was installed.
constexpr uintmax_t max_file_bytes = 8U << 20U;

const char* type_of(const std::string& name) {
    struct Ext {
        std::string_view ext;
        const char* type;
    };
    static constexpr Ext types[] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".json", "application/json"},
        {".txt", "text/plain; charset=utf-8"},
    };
    for (const auto& t : types) {
        if (name.size() > t.ext.size() && name.compare(name.size() - t.ext.size(), t.ext.size(), t.ext) == 0) {
            return t.type;
        }
    }
    return "application/octet-stream";
}

// A console that cannot be served is said once at start, as the server's
// other events.
void warn(const std::string& what) {
    auto o = json::Value::make_object();
    o.set("event", json::Value::make_string("web_console"));
    o.set("warning", json::Value::make_string(what));
    log_event(std::move(o));
}

void security_headers(httplib::Response& res) {
    res.set_header("Content-Security-Policy",
                   "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
                   "form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_header("Referrer-Policy", "no-referrer");
    res.set_header("X-Frame-Options", "DENY");
}

}  // namespace

bool ui_file_name(const std::string& name) {
    if (name.empty() || std::isalnum(static_cast<unsigned char>(name[0])) == 0) return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
               c == '-';
    });
}

UiFiles::UiFiles(std::string dir) : dir_(std::move(dir)) {
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::directory_iterator it(dir_, ec);
    if (ec) {
        missing_ = "the web console is not installed: cannot read its directory " + dir_ + " (ui_dir): " + ec.message();
        warn(missing_);
        return;
    }
    for (; it != fs::directory_iterator(); it.increment(ec)) {
        const auto& entry = *it;
        std::string name = entry.path().filename().string();
        // Not followed: a link could name a file outside the directory.
        if (!ui_file_name(name) || !entry.is_regular_file(ec) || entry.is_symlink(ec)) continue;
        if (entry.file_size(ec) > max_file_bytes || ec) {
            warn(entry.path().string() + ": larger than 8 MiB, not served");
            continue;
        }
        std::ifstream in(entry.path(), std::ios::binary);
        std::ostringstream body;
        body << in.rdbuf();
        if (!in) {
            warn(entry.path().string() + ": cannot read it, not served");
            continue;
        }
        files_[name] = File{body.str(), type_of(name)};
    }
    if (ec) {
        warn(dir_ + " (ui_dir): " + ec.message());
    }
    if (files_.count("index.html") == 0) {
        missing_ = "the web console is not installed: no index.html in " + dir_ + " (ui_dir)";
        warn(missing_);
    }
}

void UiFiles::serve(const std::string& name, httplib::Response& res) const {
    security_headers(res);
    const std::string& file = name.empty() ? std::string("index.html") : name;
    if (!missing_.empty()) {
        res.status = 404;
        res.set_content(missing_ + "\n", "text/plain; charset=utf-8");
        return;
    }
    auto it = ui_file_name(file) ? files_.find(file) : files_.end();
    if (it == files_.end()) {
        res.status = 404;
        res.set_content("no such file in the web console\n", "text/plain; charset=utf-8");
        return;
    }
    // The page is never kept (it decides what runs); the rest is checked
    // again before each use, so an upgrade shows at once.
    res.set_header("Cache-Control", file == "index.html" ? "no-store" : "no-cache");
    res.set_content(it->second.body, it->second.type);
}

void UiFiles::redirect_root(httplib::Response& res) {
    security_headers(res);
    res.status = 303;
    res.set_header("Location", "/ui/");
    res.set_content("the web console: /ui/\n", "text/plain; charset=utf-8");
}

std::string me_response(const AccessControl& access, const std::string& viewer, const std::vector<std::string>& groups,
                        bool by_token) {
    auto list = json::Value::make_array();
    for (auto r : access_rights()) {
        if (access.may(viewer, groups, r)) list.items().push_back(json::Value::make_string(permission_name(r)));
    }
    auto o = json::Value::make_object();
    o.set("viewer", json::Value::make_string(viewer));
    o.set("rights", std::move(list));
    o.set("via", json::Value::make_string(by_token ? "token" : "session"));
    return json::dump(o) + "\n";
}

bool json_content_type(const httplib::Request& req) {
    std::string v = req.get_header_value("Content-Type");
    std::string media = v.substr(0, v.find(';'));
    while (!media.empty() && (media.back() == ' ' || media.back() == '\t')) media.pop_back();
    std::transform(media.begin(), media.end(), media.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return media == "application/json";
}

}  // namespace tlog::server
