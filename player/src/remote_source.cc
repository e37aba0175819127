#include "tlog/play/remote_source.h"

#include <fcntl.h>
#include <httplib.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <set>
#include <stdexcept>
#include <string_view>
#include <system_error>

#include "tlog/json.h"
#include "write_all.h"

namespace tlog::play {

namespace {

// One response holds at most one page of messages (kilobytes each); a body
// past this is not a page, and reading it whole would let a hostile or
// broken server take all memory.
constexpr size_t kMaxBody = 256u << 20;

struct Url {
    std::string scheme_host_port;  // "https://host:port", as httplib takes it
    std::string user, password;
    std::string path;  // "" or "/..."
};

Url parse_url(const std::string& text, const char* what) {
    Url u;
    size_t sep = text.find("://");
    std::string scheme = sep == std::string::npos ? "" : text.substr(0, sep);
    if (scheme != "http" && scheme != "https")
        throw std::invalid_argument(std::string(what) + ": not an http:// or https:// URL: " + shown_url(text));
    size_t auth_start = sep + 3;
    size_t path_at = text.find('/', auth_start);
    std::string authority =
        text.substr(auth_start, path_at == std::string::npos ? std::string::npos : path_at - auth_start);
    u.path = path_at == std::string::npos ? "" : text.substr(path_at);
    if (size_t at = authority.rfind('@'); at != std::string::npos) {
        std::string userinfo = authority.substr(0, at);
        authority.erase(0, at + 1);
        size_t colon = userinfo.find(':');
        u.user = userinfo.substr(0, colon);
        if (colon != std::string::npos) u.password = userinfo.substr(colon + 1);
    }
    if (authority.empty() || authority.find_first_of(" \t\r\n?#") != std::string::npos)
        throw std::invalid_argument(std::string(what) + ": no host in " + shown_url(text));
    if (u.path.find_first_of("?#") != std::string::npos)
        throw std::invalid_argument(std::string(what) + ": a base URL has no query or fragment: " + shown_url(text));
    while (!u.path.empty() && u.path.back() == '/') u.path.pop_back();
    u.scheme_host_port = scheme + "://" + authority;
    return u;
}

// RFC 3986: everything but the unreserved characters, as curl_easy_escape
// (which Debian's tlog-play uses) does.
std::string escape(std::string_view s) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
            c == '_' || c == '~') {
            out.push_back(static_cast<char>(c));
        } else {
            out.push_back('%');
            out.push_back(hex[c >> 4]);
            out.push_back(hex[c & 15]);
        }
    }
    return out;
}

// The start of a body for an error message, printable.
std::string excerpt(std::string_view body) {
    std::string out;
    for (unsigned char c : body.substr(0, 200)) out.push_back(c < 0x20 || c == 0x7f ? ' ' : static_cast<char>(c));
    if (body.size() > 200) out += "...";
    return out.empty() ? "(empty body)" : out;
}

}  // namespace

std::string shown_url(const std::string& url) {
    size_t sep = url.find("://");
    size_t start = sep == std::string::npos ? 0 : sep + 3;
    size_t end = url.find('/', start);
    size_t at = url.rfind('@', end == std::string::npos ? std::string::npos : end);
    if (at == std::string::npos || at < start) return url;
    return url.substr(0, start) + url.substr(at + 1);
}

struct RemoteReader::Impl {
    RemoteQuery q;
    std::shared_ptr<JournalEntries> entries;
    Url url;
    std::unique_ptr<httplib::Client> client;
    uint64_t copied = 0;          // Es: the next hit's index (from=)
    uint64_t last_id = 0;         // Server: the last message id copied (after=)
    std::set<std::string> hosts;  // Server: the hosts seen, when no host was given
    std::atomic<bool> cancelled{false};
    bool saw_end = false;  // Server: the last message copied carries "end"

    // The body of a 200 response to GET `target`; anything else throws,
    // naming the URL.
    void connect() {
        if (!client) {
            client = std::make_unique<httplib::Client>(url.scheme_host_port);
            client->set_connection_timeout(q.timeout);
            client->set_read_timeout(q.timeout);
            client->set_write_timeout(q.timeout);
            client->set_keep_alive(true);
            if (!url.user.empty() || !url.password.empty()) client->set_basic_auth(url.user, url.password);
            client->enable_server_certificate_verification(true);
            if (!q.ca_file.empty()) client->set_ca_cert_path(q.ca_file);
        }
    }

    // What failed, for a request httplib could not complete.
    std::string failure(const httplib::Result& res) {
        std::string why;
        switch (res.error()) {
            case httplib::Error::Connection: why = "cannot connect"; break;
            case httplib::Error::Read: why = "no answer (reading the response failed or timed out)"; break;
            case httplib::Error::Write: why = "sending the request failed"; break;
            case httplib::Error::SSLConnection: why = "TLS handshake failed"; break;
            case httplib::Error::SSLLoadingCerts: why = "cannot load the CA certificates"; break;
            case httplib::Error::SSLServerVerification: why = "the server's certificate does not verify"; break;
            default: why = httplib::to_string(res.error());
        }
        if (res.error() == httplib::Error::SSLServerVerification)
            why += q.ca_file.empty() ? " (the server's certificate is not trusted; --ca-file names its CA)"
                                     : " (the server's certificate is not signed by " + q.ca_file + ")";
        return why;
    }

    std::string get(const std::string& target) {
        std::string where = shown_url(url.scheme_host_port) + target;
        connect();
        std::string body;
        bool too_big = false;
        auto res = client->Get(
            target, [](const httplib::Response&) { return true; },
            [&](const char* data, size_t len) {
                if (body.size() + len > kMaxBody) {
                    too_big = true;
                    return false;
                }
                body.append(data, len);
                return true;
            });
        if (too_big)
            throw std::runtime_error(where + ": the response is larger than " + std::to_string(kMaxBody >> 20) +
                                     " MiB: not a page of messages");
        if (!res) throw std::runtime_error(where + ": " + failure(res));
        if (res->status != 200)
            throw std::runtime_error(where + ": HTTP " + std::to_string(res->status) + ": " + excerpt(body));
        return body;
    }

    uint64_t copy_es(int fd) {
        uint64_t n = 0;
        for (;;) {
            std::string target = (url.path.empty() ? "/" : url.path) + "?q=" + escape(q.query) +
                                 "&fields=&sort=" + escape("id:asc") + "&size=" + std::to_string(q.page) +
                                 "&from=" + std::to_string(copied);
            std::string where = shown_url(url.scheme_host_port) + target;
            std::string body = get(target);
            json::Value doc;
            try {
                doc = json::parse(body, where);
            } catch (const std::exception& e) {
                throw std::runtime_error(where + ": the response is not JSON: " + e.what() + ": " + excerpt(body));
            }
            const json::Value* hits = doc.is_object() ? doc.find("hits") : nullptr;
            hits = hits && hits->is_object() ? hits->find("hits") : nullptr;
            if (!hits || !hits->is_array())
                throw std::runtime_error(where +
                                         ": not an Elasticsearch search result (no hits.hits array): " + excerpt(body));
            std::string out;
            for (const auto& hit : hits->items()) {
                const json::Value* src = hit.is_object() ? hit.find("_source") : nullptr;
                if (!src || !src->is_object())
                    throw std::runtime_error(where + ": hit #" + std::to_string(copied) + " has no _source object");
                // _source is the message: the integrity chain covers its
                // decoded values, so compact re-encoding keeps it intact.
                out += json::dump(*src);
                out.push_back('\n');
                if (entries)
                    entries->add_line("hit #" + std::to_string(copied) + " of the search " + json::quote(q.query) +
                                      " on " + shown_url(q.url));
                copied++;
                n++;
            }
            write_all(fd, out);
            if (hits->items().size() < q.page) return n;
        }
    }

    uint64_t copy_server(int fd) {
        uint64_t n = 0;
        std::string base = url.path + "/api/v1/sessions/" + escape(q.rec) + "/messages";
        for (;;) {
            std::string target = base + "?after=" + std::to_string(last_id) + "&limit=" + std::to_string(q.page);
            if (!q.host.empty()) target += "&host=" + escape(q.host);
            std::string where = shown_url(url.scheme_host_port) + target;
            std::string body = get(target);
            std::string out;
            uint64_t lines = 0;
            size_t at = 0;
            while (at < body.size()) {
                size_t nl = body.find('\n', at);
                if (nl == std::string::npos) nl = body.size();
                std::string_view line(body.data() + at, nl - at);
                at = nl + 1;
                if (line.empty()) continue;
                lines++;
                take_message(line, where, lines, out);
                n++;
            }
            write_all(fd, out);
            if (lines < q.page) return n;
        }
    }

    // Checks one message line of the server's and appends it to `out`;
    // returns whether it carries "end".
    bool take_message(std::string_view line, const std::string& where, uint64_t lines, std::string& out) {
        json::Value m;
        try {
            m = json::parse(line, where);
        } catch (const std::exception& e) {
            throw std::runtime_error(where + ": line " + std::to_string(lines) +
                                     " of the response is not a JSON message: " + e.what());
        }
        const json::Value* id = m.is_object() ? m.find("id") : nullptr;
        // A stream's line for a gap the server gave up waiting for: not a
        // message (no id); the copy then has the gap as any recording would.
        if (!id && m.is_object() && m.find("tlog_stream_gap")) return false;
        const json::Value* host = m.is_object() ? m.find("host") : nullptr;
        auto idv = id ? id->as_uint() : std::nullopt;
        if (!idv || !host || !host->is_string())
            throw std::runtime_error(where + ": line " + std::to_string(lines) +
                                     " of the response is not a message (no id or host): " + excerpt(line));
        if (q.host.empty()) {
            hosts.insert(host->as_string());
            if (hosts.size() > 1)
                throw std::runtime_error("recording " + q.rec + " on " + shown_url(q.url) +
                                         " comes from more than one host (" + json::quote(*hosts.begin()) + ", " +
                                         json::quote(*std::next(hosts.begin())) +
                                         "): --server-host names the one to play");
        }
        // Each page must move on, or a broken server would keep
        // the player asking forever.
        if (*idv <= last_id)
            throw std::runtime_error(where + ": message id " + std::to_string(*idv) +
                                     " is not after the id asked for (" + std::to_string(last_id) + ")");
        last_id = *idv;
        out.append(line);
        out.push_back('\n');
        if (entries)
            entries->add_line("recording " + q.rec + " on " + shown_url(q.url) + ", message id " +
                              std::to_string(*idv));
        saw_end = m.find("end") != nullptr;
        return saw_end;
    }

    // GET .../stream?after=LAST: each line appended as it comes.
    StreamEnd stream_server(int fd) {
        std::string target =
            url.path + "/api/v1/sessions/" + escape(q.rec) + "/stream?after=" + std::to_string(last_id);
        if (!q.host.empty()) target += "&host=" + escape(q.host);
        std::string where = shown_url(url.scheme_host_port) + target;
        connect();
        if (cancelled.load()) return StreamEnd::Cut;
        std::string pending, error_body;
        int status = 0;
        bool ended = false;
        uint64_t lines = 0;
        std::string failed;  // a line that is not a message: the reason
        auto res = client->Get(
            target,
            [&](const httplib::Response& r) {
                status = r.status;
                return true;
            },
            [&](const char* data, size_t len) {
                if (cancelled.load()) return false;
                if (status != 200) {
                    error_body.append(data, std::min(len, size_t{4096}));
                    return error_body.size() < 4096;
                }
                pending.append(data, len);
                std::string out;
                size_t at = 0;
                for (size_t nl; (nl = pending.find('\n', at)) != std::string::npos; at = nl + 1) {
                    std::string_view line(pending.data() + at, nl - at);
                    if (line.empty()) continue;  // the server's keep-alive
                    try {
                        ended = take_message(line, where, ++lines, out) || ended;
                    } catch (const std::exception& e) {
                        failed = e.what();
                        write_all(fd, out);
                        return false;
                    }
                }
                pending.erase(0, at);
                write_all(fd, out);
                if (pending.size() > kMaxBody) {
                    failed = where + ": a line longer than " + std::to_string(kMaxBody >> 20) + " MiB";
                    return false;
                }
                return true;
            });
        if (!failed.empty()) throw std::runtime_error(failed);
        if (status == 404 || status == 405) return StreamEnd::Unsupported;
        if (status != 0 && status != 200)
            throw std::runtime_error(where + ": HTTP " + std::to_string(status) + ": " + excerpt(error_body));
        // A stream resumed after the end is empty: the end was copied before.
        ended = ended || saw_end;
        if (!res) {
            if (ended) return StreamEnd::Ended;
            throw std::runtime_error(where + ": " + failure(res));
        }
        return ended ? StreamEnd::Ended : StreamEnd::Cut;
    }
};

RemoteReader::RemoteReader(RemoteQuery q, std::shared_ptr<JournalEntries> entries) : impl_(std::make_unique<Impl>()) {
    const char* what = q.kind == RemoteQuery::Kind::Es ? "--es-baseurl" : "--server-url";
    if (q.url.empty())
        throw std::invalid_argument(std::string("-r ") + (q.kind == RemoteQuery::Kind::Es ? "es" : "server") +
                                    " needs " + what);
    impl_->url = parse_url(q.url, what);
    if (q.kind == RemoteQuery::Kind::Es && q.query.empty()) throw std::invalid_argument("-r es needs --es-query");
    if (q.kind == RemoteQuery::Kind::Server && q.rec.empty())
        throw std::invalid_argument("-r server needs the recording: --server-rec=REC (or -m REC)");
    if (q.page == 0) q.page = 1000;
    impl_->q = std::move(q);
    impl_->entries = std::move(entries);
}

RemoteReader::~RemoteReader() = default;

StreamEnd RemoteReader::stream_new(int fd) {
    if (impl_->q.kind != RemoteQuery::Kind::Server) return StreamEnd::Unsupported;
    return impl_->stream_server(fd);
}

void RemoteReader::cancel() {
    // httplib shuts the socket of the request in flight: its read returns.
    impl_->cancelled.store(true);
    if (impl_->client) impl_->client->stop();
}

uint64_t RemoteReader::copy_new(int fd) {
    return impl_->q.kind == RemoteQuery::Kind::Es ? impl_->copy_es(fd) : impl_->copy_server(fd);
}

std::string remote_source_name(const RemoteQuery& q) {
    if (q.kind == RemoteQuery::Kind::Es) return "the search " + json::quote(q.query) + " on " + shown_url(q.url);
    return "recording " + q.rec + " on " + shown_url(q.url);
}

uint64_t remote_to_file(const RemoteQuery& q, const std::string& out_path, std::shared_ptr<JournalEntries> entries) {
    RemoteReader reader(q, std::move(entries));
    int fd = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) throw std::system_error(errno, std::generic_category(), "cannot create " + out_path);
    try {
        uint64_t n = reader.copy_new(fd);
        ::close(fd);
        return n;
    } catch (...) {
        ::close(fd);
        throw;
    }
}

}  // namespace tlog::play
