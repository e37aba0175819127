// The routes of evidence export, legal holds and retention (admin_api.h).
#include "tlog/server/admin_api.h"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <stdexcept>

#include "event_log.h"
#include "tlog/error.h"
#include "tlog/json.h"
#include "tlog/policy/ldap_source.h"
#include "tlog/server/evidence.h"
#include "tlog/server/retention_ldap.h"

namespace tlog::server {

namespace {

AdminReply fail(int status, std::string error) {
    AdminReply r;
    r.status = status;
    r.error = std::move(error);
    return r;
}

AdminReply not_stored(const std::string& rec) {
    // Byte for byte as the other recording routes answer one not stored.
    return fail(404, "no recording " + json::quote(rec));
}

// What a run read from the directory, or why it could not.
void log_retention_ldap(const char* outcome, const std::string& what, const std::vector<std::string>& notes) {
    auto o = json::Value::make_object();
    o.set("event", json::Value::make_string("retention_ldap"));
    o.set("outcome", json::Value::make_string(outcome));
    o.set(std::string(outcome) == "read" ? "server" : "error", json::Value::make_string(what));
    auto n = json::Value::make_array();
    for (const auto& line : notes) n.items().push_back(json::Value::make_string(line));
    o.set("notes", std::move(n));
    log_event(std::move(o));
}

// Any recording stored (the condition of a viewer of everything).
SqlCondition any_recording() { return {"1 = 1", {}, {}, {}}; }

// A recording within `scope`; for the access log, whether it was refused
// or is not stored (one more lookup, made in both cases).
bool in_scope(Store& store, const AccessScope& scope, const std::string& rec, const std::string& host,
              AdminNote& note) {
    if (!scope.none && store.recording_visible(rec, host, scope.all ? any_recording() : scope.cond)) return true;
    bool stored = !store.host_of(rec).empty();
    note.refused = stored;
    note.absent = !stored;
    return false;
}

// A temporary directory, removed with what it holds.
class TempDir {
public:
    TempDir() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "tlog-server-export.XXXXXX").string();
        if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error(tmpl + ": cannot make a directory");
        path_ = tmpl;
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

std::string read_whole(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in) throw std::runtime_error(p.string() + ": cannot read");
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A file or directory name for the archive: the recording's id with
// anything but letters, digits, '.', '_' and '-' made '_'.
std::string safe_name(const std::string& s) {
    std::string out;
    for (char c : s.substr(0, 80)) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                  c == '-';
        out += ok ? c : '_';
    }
    if (out.empty() || out[0] == '.') out.insert(0, "r");
    return out;
}

void octal(char* field, size_t width, uint64_t v) {
    // width - 1 digits and a NUL, as ustar's numeric fields.
    std::snprintf(field, width, "%0*llo", static_cast<int>(width - 1), static_cast<unsigned long long>(v));
}

std::string ustar_header(const std::string& name, uint64_t size, char type, unsigned mode, uint64_t mtime_s) {
    if (name.size() > 100) throw std::invalid_argument("ustar: name longer than 100 bytes: " + name);
    std::string h(512, '\0');
    std::copy(name.begin(), name.end(), h.begin());
    octal(&h[100], 8, mode);
    octal(&h[108], 8, 0);
    octal(&h[116], 8, 0);
    if (size > 077777777777ULL) throw std::invalid_argument("ustar: file too large: " + name);
    octal(&h[124], 12, size);
    octal(&h[136], 12, mtime_s);
    h[156] = type;
    std::string magic = "ustar";
    std::copy(magic.begin(), magic.end(), h.begin() + 257);  // "ustar\0"
    h[263] = '0';
    h[264] = '0';
    std::string owner = "root";
    std::copy(owner.begin(), owner.end(), h.begin() + 265);
    std::copy(owner.begin(), owner.end(), h.begin() + 297);
    // The checksum: the header's bytes, its own field counted as spaces.
    std::fill(h.begin() + 148, h.begin() + 156, ' ');
    uint64_t sum = 0;
    for (char c : h) sum += static_cast<unsigned char>(c);
    std::snprintf(&h[148], 7, "%06llo", static_cast<unsigned long long>(sum));
    h[154] = '\0';
    h[155] = ' ';
    return h;
}

AdminReply hold_json_reply(const std::vector<RetentionHold>& holds) {
    auto a = json::Value::make_array();
    for (const auto& h : holds) {
        auto o = json::Value::make_object();
        o.set("id", json::Value::make_uint(h.id));
        o.set("host", json::Value::make_string(h.host));
        o.set("rec", json::Value::make_string(h.rec));
        o.set("user", json::Value::make_string(h.user));
        o.set("reason", json::Value::make_string(h.reason));
        o.set("set_by", json::Value::make_string(h.set_by));
        o.set("set_ms", json::Value::make_uint(h.set_ms));
        o.set("cleared_by", json::Value::make_string(h.cleared_by));
        o.set("clear_reason", json::Value::make_string(h.clear_reason));
        o.set("cleared_ms", json::Value::make_uint(h.cleared_ms));
        a.items().push_back(std::move(o));
    }
    auto o = json::Value::make_object();
    o.set("holds", std::move(a));
    AdminReply r;
    r.body = json::dump(o) + "\n";
    return r;
}

// The request's JSON object (an empty body: {}) with no members but
// `strings` (strings) and `flags` (booleans); throws InputError naming
// the field.
json::Value body_object(const std::string& body, const std::vector<std::string>& strings,
                        const std::vector<std::string>& flags) {
    auto v = json::parse(body.empty() ? std::string_view("{}") : std::string_view(body), "request body");
    if (!v.is_object()) throw InputError({"request body", v.line, v.column, ""}, "expected a JSON object");
    for (const auto& [k, m] : v.members()) {
        bool is_string = std::find(strings.begin(), strings.end(), k) != strings.end();
        bool is_flag = std::find(flags.begin(), flags.end(), k) != flags.end();
        if (!is_string && !is_flag) throw InputError({"request body", m.line, m.column, k}, "unknown field");
        if ((is_string && !m.is_string()) || (is_flag && !m.is_bool())) {
            throw InputError({"request body", m.line, m.column, k},
                             is_string ? "expected a string" : "expected true or false");
        }
    }
    return v;
}

std::string member(const json::Value& v, const char* key) {
    const auto* m = v.find(key);
    return m != nullptr ? m->as_string() : std::string();
}

std::string hold_detail(const RetentionHold& h) {
    auto o = json::Value::make_object();
    o.set("hold", json::Value::make_uint(h.id));
    o.set("host", json::Value::make_string(h.host));
    o.set("rec", json::Value::make_string(h.rec));
    o.set("user", json::Value::make_string(h.user));
    o.set("reason", json::Value::make_string(h.cleared_ms != 0 ? h.clear_reason : h.reason));
    return json::dump(o);
}

// One run at a time in this server (the CLI's runs meet it in the store).
std::mutex retention_running;

}  // namespace

std::string ustar_archive(const std::string& dir, const std::vector<std::pair<std::string, std::string>>& files,
                          uint64_t mtime_s) {
    std::string out = ustar_header(dir + "/", 0, '5', 0755, mtime_s);
    for (const auto& [name, data] : files) {
        out += ustar_header(dir + "/" + name, data.size(), '0', 0644, mtime_s);
        out += data;
        out.append((512 - data.size() % 512) % 512, '\0');
    }
    out.append(1024, '\0');  // the end: two zero blocks
    return out;
}

AdminReply export_tar(Store& store, const proof::Key* key, std::string host, const std::string& rec, AdminNote& note) {
    if (host.empty()) host = store.host_of(rec);
    note.host = host;
    if (host.empty() || !store.recording_visible(rec, host, any_recording())) {
        note.absent = true;
        return not_stored(rec);
    }
    if (key == nullptr) {
        return fail(503, "no checkpoint key is configured (checkpoint_key): evidence cannot be exported");
    }
    if (!store.latest_entry(host, rec)) {
        return fail(409, "recording " + json::quote(rec) + " from host " + json::quote(host) +
                             " is not covered by a checkpoint yet: export it after the next checkpoint");
    }
    TempDir tmp;
    const std::string dir = tmp.path() + "/evidence";
    auto result = export_evidence(store, *key, host, rec, dir);
    std::vector<std::filesystem::path> names;
    for (const auto& e : std::filesystem::directory_iterator(dir)) names.push_back(e.path());
    std::sort(names.begin(), names.end());
    std::vector<std::pair<std::string, std::string>> files;
    for (const auto& p : names) files.emplace_back(p.filename().string(), read_whole(p));
    const std::string base = "tlog-evidence-" + safe_name(rec);
    AdminReply r;
    r.body = ustar_archive(base, files, static_cast<uint64_t>(::time(nullptr)));
    r.type = "application/x-tar";
    r.filename = base + ".tar";
    note.detail = "{\"messages\":" + std::to_string(result.messages) +
                  ",\"checkpoint\":" + std::to_string(result.checkpoint) +
                  ",\"covered\":" + std::to_string(result.covered) + "}";
    return r;
}

AdminReply holds_list(Store& store, const AccessScope& scope, bool with_cleared) {
    std::vector<RetentionHold> out;
    if (!scope.none) {
        for (auto& h : list_holds(store, with_cleared)) {
            // A viewer of part of the recordings sees the holds naming one
            // of them: a hold by user or host would tell of others.
            if (scope.all || (!h.rec.empty() && store.recording_visible(h.rec, h.host, scope.cond))) {
                out.push_back(std::move(h));
            }
        }
    }
    return hold_json_reply(out);
}

AdminReply hold_set(Store& store, const AccessScope& scope, const std::string& viewer, const std::string& body,
                    uint64_t now_ms, AdminNote& note) {
    auto v = body_object(body, {"host", "rec", "user", "reason"}, {});
    RetentionHold h;
    h.host = member(v, "host");
    h.rec = member(v, "rec");
    h.user = member(v, "user");
    h.reason = member(v, "reason");
    if (h.host.empty() && h.rec.empty() && h.user.empty()) {
        throw InputError({"request body", 0, 0, "rec"}, "give host, rec or user (a hold on everything is refused)");
    }
    if (h.reason.empty()) throw InputError({"request body", 0, 0, "reason"}, "missing: why the recordings are held");
    note.host = h.host;
    note.rec = h.rec;
    if (!h.rec.empty()) {
        if (!in_scope(store, scope, h.rec, h.host, note)) return not_stored(h.rec);
    } else if (!scope.all) {
        return fail(403,
                    "a hold by user or host covers recordings stored later too: it needs the hold right over "
                    "all recordings (access rules); hold a recording by its rec instead");
    }
    h.set_by = viewer;
    h.set_ms = now_ms;
    h.id = set_hold(store, h);
    note.detail = hold_detail(h);
    AdminReply r;
    r.status = 201;
    r.body = "{\"id\":" + std::to_string(h.id) + "}\n";
    return r;
}

AdminReply hold_clear(Store& store, const AccessScope& scope, const std::string& viewer, const std::string& id,
                      const std::string& body, uint64_t now_ms, AdminNote& note) {
    auto v = body_object(body, {"reason"}, {});
    std::string reason = member(v, "reason");
    if (reason.empty()) throw InputError({"request body", 0, 0, "reason"}, "missing: why the hold is cleared");
    auto n = json::Value::make_number(id).as_uint();
    if (id.empty() || id.find_first_not_of("0123456789") != std::string::npos || !n) {
        throw InputError({"", 0, 0, "id"}, "not a hold id: " + json::quote(id));
    }
    note.detail = "{\"hold\":" + std::to_string(*n) + "}";
    auto holds = list_holds(store, false);
    auto it = std::find_if(holds.begin(), holds.end(), [&](const RetentionHold& h) { return h.id == *n; });
    // A hold outside the viewer's scope is answered as one that is not
    // (or no longer) in force.
    bool seen = it != holds.end() && !scope.none &&
                (scope.all || (!it->rec.empty() && store.recording_visible(it->rec, it->host, scope.cond)));
    if (!seen) return fail(404, "no hold " + std::to_string(*n) + " in force");
    RetentionHold h = *it;
    note.host = h.host;
    note.rec = h.rec;
    h.cleared_by = viewer;
    h.clear_reason = reason;
    h.cleared_ms = now_ms;
    // Holds naming exactly the same recordings are one hold to clear_holds.
    uint64_t cleared = clear_holds(store, h);
    note.detail = hold_detail(h);
    AdminReply r;
    r.body = "{\"cleared\":" + std::to_string(cleared) + "}\n";
    return r;
}

AdminReply retention_run_api(const std::string& database, const RetentionSettings& settings, const proof::Key* key,
                             const AccessScope& scope, const std::string& viewer, const std::string& body,
                             uint64_t now_ms, AdminNote& note) {
    auto v = body_object(body, {}, {"dry_run"});
    if (!scope.all) {
        return fail(403,
                    "a retention run may purge any recording: it needs the purge right over all recordings "
                    "(access rules)");
    }
    std::unique_lock<std::mutex> running(retention_running, std::try_to_lock);
    if (!running.owns_lock()) return fail(409, "a retention run is under way on this server: try again after it");
    RetentionRunOptions opt;
    opt.now_ms = now_ms;
    const auto* dry = v.find("dry_run");
    opt.dry_run = dry != nullptr && dry->as_bool();
    opt.who = viewer;
    opt.account = account_name();
    // With checkpoints on, every tombstone is signed, as the command's
    // (verify tells such a purge from a deletion).
    opt.key = opt.dry_run ? nullptr : key;
    // A connection of its own, as the CLI's run: the server goes on
    // answering while it reads and purges.
    // The directory's classes are read for each run, as the command's: a
    // run that cannot read them runs nothing.
    RetentionInForce in_force;
    try {
        in_force = retention_in_force(settings);
    } catch (const policy::LdapError& e) {
        log_retention_ldap("failed", e.what(), {});
        return fail(503, std::string("retention_ldap: the directory could not be read (") + e.what() +
                             "): nothing decided or purged");
    }
    if (!settings.ldap.empty()) log_retention_ldap("read", in_force.server, in_force.notes);
    auto store = open_store(database);
    auto report = run_retention(*store, in_force.settings, opt);
    auto items = json::Value::make_array();
    for (const auto& i : report.items) {
        auto o = json::Value::make_object();
        o.set("host", json::Value::make_string(i.host));
        o.set("rec", json::Value::make_string(i.rec));
        o.set("outcome", json::Value::make_string(i.outcome));
        items.items().push_back(std::move(o));
    }
    auto d = json::Value::make_object();
    d.set("dry_run", json::Value::make_bool(opt.dry_run));
    d.set("items", std::move(items));
    note.detail = json::dump(d);
    AdminReply r;
    r.body = retention_report_json(report, opt.dry_run) + "\n";
    return r;
}

AdminReply tombstones_api(Store& store, const AccessScope& scope) {
    if (!scope.all) {
        return fail(403,
                    "tombstones name purged recordings of every kind: they need the purge right over all "
                    "recordings (access rules)");
    }
    AdminReply r;
    for (const auto& t : list_tombstones(store)) r.body += tombstone_json(t) + "\n";
    r.type = "application/x-ndjson";
    return r;
}

std::string retention_report_json(const RetentionReport& report, bool dry_run) {
    std::string out = "{\"dry_run\":" + std::string(dry_run ? "true" : "false") +
                      ",\"sessions\":" + std::to_string(report.sessions) +
                      ",\"classes_decided\":" + std::to_string(report.classes_decided) +
                      ",\"manifest\":" + json::quote(report.manifest) + ",\"items\":[";
    for (size_t n = 0; n < report.items.size(); ++n) {
        const auto& i = report.items[n];
        out += (n != 0 ? "," : "");
        out += "{\"outcome\":" + json::quote(i.outcome) + ",\"host\":" + json::quote(i.host) +
               ",\"rec\":" + json::quote(i.rec) + ",\"user\":" + json::quote(i.user) +
               ",\"class\":" + json::quote(i.class_name) + ",\"reason\":" + json::quote(i.reason) +
               ",\"last_ms\":" + std::to_string(i.last_ms) + ",\"messages\":" + std::to_string(i.messages) +
               ",\"bytes\":" + std::to_string(i.bytes) +
               (i.tombstone.sha256.empty() ? std::string() : ",\"tombstone\":" + tombstone_json(i.tombstone)) + "}";
    }
    return out + "]}";
}

std::string account_name() {
    uid_t uid = getuid();
    struct passwd pw {};
    struct passwd* found = nullptr;
    std::vector<char> buf(16384);
    return getpwuid_r(uid, &pw, buf.data(), buf.size(), &found) == 0 && found != nullptr ? std::string(found->pw_name)
                                                                                         : "uid " + std::to_string(uid);
}

}  // namespace tlog::server
