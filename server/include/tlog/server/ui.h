// The web console's static files (server/ui/, installed to
// DATADIR/tlog-server/ui; doc/server.md, "Web console"): served from
// memory, read once at start, with the headers that keep a browser from
// running anything but the console's own script.
#pragma once

#include <httplib.h>

#include <map>
#include <string>
#include <vector>

#include "tlog/server/access.h"

namespace tlog::server {

class UiFiles {
public:
    // Reads the regular files directly in `dir` whose names are safe
    // (ui_file_name()); a missing or unreadable directory is logged once on
    // standard error and every /ui/ request then answers 404 saying so.
    explicit UiFiles(std::string dir);
    // GET /ui/NAME ("": index.html).
    void serve(const std::string& name, httplib::Response& res) const;
    // GET /: 303 to /ui/.
    static void redirect_root(httplib::Response& res);
    size_t size() const { return files_.size(); }

private:
    struct File {
        std::string body;
        const char* type;
    };
    std::string dir_;
    std::string missing_;  // why there is no console ("": there is one)
    std::map<std::string, File> files_;
};

// GET /api/v1/me: {"viewer": NAME, "rights": [the rights the access rules
// give the viewer over any recording, in the order search, view, export,
// purge, hold, manage], "via": "session" or "token"}, so the console offers
// only what the viewer can use.
std::string me_response(const AccessControl& access, const std::string& viewer, const std::vector<std::string>& groups,
                        bool by_token);

// `[A-Za-z0-9][A-Za-z0-9._-]*`: no path, no hidden file, nothing to decode.
bool ui_file_name(const std::string& name);

// A POST that a browser on another site could send without asking first
// (a form, or fetch without CORS: text/plain, urlencoded, multipart, no
// type) must not act with the viewer's cookie: the browser's POSTs to the
// cookie routes carry Content-Type application/json, which only a page of
// this origin can send. False: answer 415.
bool json_content_type(const httplib::Request& req);

}  // namespace tlog::server
