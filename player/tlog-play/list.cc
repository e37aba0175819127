#include "list.h"

#include <time.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <system_error>
#include <vector>

#include "tlog/json.h"
#include "tlog/play/convert.h"
#include "tlog/play/recording_list.h"

namespace tlog::play::cli {

namespace {

// The audit session tlog writes when there is none (unsigned -1); 0 is
// what a recording without the field gets.
constexpr uint64_t kNoSession = 4294967295u;

[[noreturn]] void bad_when(const char* option, const std::string& value) {
    throw std::invalid_argument(std::string(option) + ": bad date \"" + value +
                                "\" (YYYY-MM-DD, \"YYYY-MM-DD HH:MM[:SS]\", today, yesterday, tomorrow, now, "
                                "-2h, +30m, -3d, -1w, @SECONDS)");
}

bool digits(const std::string& s, size_t at, size_t n) {
    if (at + n > s.size()) return false;
    for (size_t i = at; i < at + n; i++)
        if (s[i] < '0' || s[i] > '9') return false;
    return true;
}

int num(const std::string& s, size_t at, size_t n) { return std::stoi(s.substr(at, n)); }

uint64_t midnight(time_t now, int day_offset) {
    struct tm tm;
    localtime_r(&now, &tm);
    tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
    tm.tm_mday += day_offset;
    tm.tm_isdst = -1;
    return static_cast<uint64_t>(mktime(&tm)) * 1000;
}

struct Row {
    RecordingSummary s;
    std::string file;  // "" for the journal
    bool damaged = false;
    uint64_t end_ms() const { return s.start_ms ? s.start_ms + s.duration_ms : 0; }
};

// Recorded fields are printed on the auditor's terminal: no control characters.
std::string printable(const std::string& s) {
    std::string out;
    for (unsigned char c : s) out.push_back(c < 0x20 || c == 0x7f ? '?' : static_cast<char>(c));
    return out;
}

// `s` cut to `width` characters, the cut marked with a trailing '~'.
std::string fit(const std::string& s, size_t width) {
    size_t chars = 0, i = 0, cut = 0;
    for (; i < s.size(); i++) {
        if ((static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) continue;
        if (chars == width - 1) cut = i;
        if (++chars > width) break;
    }
    std::string out = chars > width ? s.substr(0, cut) + "~" : s;
    size_t shown = std::min(chars, width);
    out.append(width - shown, ' ');
    return out;
}

std::string local_time(uint64_t ms, bool seconds) {
    if (!ms) return "-";
    auto t = static_cast<time_t>(ms / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    char buf[48];
    strftime(buf, sizeof buf, seconds ? "%Y-%m-%d %H:%M:%S %z" : "%Y-%m-%d %H:%M", &tm);
    return buf;
}

std::string utc_time(uint64_t ms) {
    auto t = static_cast<time_t>(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    char buf[48];
    size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    std::snprintf(buf + n, sizeof buf - n, ".%03lluZ", static_cast<unsigned long long>(ms % 1000));
    return buf;
}

std::string duration(uint64_t ms) {
    uint64_t s = ms / 1000;
    char buf[32];
    std::snprintf(buf, sizeof buf, "%llu:%02llu:%02llu", static_cast<unsigned long long>(s / 3600),
                  static_cast<unsigned long long>(s / 60 % 60), static_cast<unsigned long long>(s % 60));
    return buf;
}

std::string session(uint64_t s) { return s == 0 || s == kNoSession ? "-" : std::to_string(s); }

std::string status(const Row& r) {
    if (r.s.verdict == IntegrityReport::Verdict::Broken) return "broken";
    if (r.damaged) return "damaged";
    return IntegrityReport::name(r.s.verdict);
}

// An unkeyed chain shows damage, not tampering: the table marks it and says so
// on standard error (the table stays rows only); --wide and --json give the verdict in full.
bool unkeyed(const Row& r) { return r.s.integrity_label.find("(unkeyed") != std::string::npos; }
std::string table_status(const Row& r) { return status(r) + (unkeyed(r) && !r.damaged ? "*" : ""); }
std::string wide_status(const Row& r) { return r.damaged ? "damaged" : r.s.integrity_label; }

// A file found in a directory is looked at only if it starts like a
// recording (its first non-blank byte opens a JSON object): a directory of
// recordings may hold other files.
bool looks_like_recording(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    char c;
    while (in.get(c))
        if (c != '\n' && c != '\r' && c != ' ' && c != '\t') return c == '{';
    return false;
}

}  // namespace

uint64_t parse_when(const std::string& v, const char* option, time_t now) {
    std::string s = v;
    bool utc = false;
    if (s.size() > 4 && s.compare(s.size() - 4, 4, " UTC") == 0) {
        utc = true;
        s.resize(s.size() - 4);
    } else if (s.size() > 1 && s.back() == 'Z') {
        utc = true;
        s.pop_back();
    }
    if (!utc) {
        if (s == "now") return static_cast<uint64_t>(now) * 1000;
        if (s == "today") return midnight(now, 0);
        if (s == "yesterday") return midnight(now, -1);
        if (s == "tomorrow") return midnight(now, 1);
        if (s.size() >= 3 && (s[0] == '-' || s[0] == '+') && digits(s, 1, s.size() - 2)) {
            long long n = 0;
            try {
                n = std::stoll(s.substr(1, s.size() - 2));
            } catch (const std::exception&) {
                bad_when(option, v);
            }
            long long unit = 0;
            switch (s.back()) {
                case 's': unit = 1; break;
                case 'm': unit = 60; break;
                case 'h': unit = 3600; break;
                case 'd': unit = 86400; break;
                case 'w': unit = 7 * 86400; break;
                default: bad_when(option, v);
            }
            if (n > 100LL * 366 * 86400 / unit) bad_when(option, v);
            long long t = static_cast<long long>(now) + (s[0] == '-' ? -n : n) * unit;
            if (t < 0) bad_when(option, v);
            return static_cast<uint64_t>(t) * 1000;
        }
        if (s.size() >= 2 && s[0] == '@' && digits(s, 1, s.size() - 1) && s.size() <= 12)
            return std::stoull(s.substr(1)) * 1000;
    }
    // YYYY-MM-DD[( |T)HH:MM[:SS]]
    if (!(digits(s, 0, 4) && s.size() >= 10 && s[4] == '-' && digits(s, 5, 2) && s[7] == '-' && digits(s, 8, 2)))
        bad_when(option, v);
    struct tm tm = {};
    tm.tm_year = num(s, 0, 4) - 1900;
    tm.tm_mon = num(s, 5, 2) - 1;
    tm.tm_mday = num(s, 8, 2);
    if (s.size() > 10) {
        if (!((s[10] == ' ' || s[10] == 'T') && s.size() >= 16 && digits(s, 11, 2) && s[13] == ':' && digits(s, 14, 2)))
            bad_when(option, v);
        tm.tm_hour = num(s, 11, 2);
        tm.tm_min = num(s, 14, 2);
        if (s.size() > 16) {
            if (!(s.size() == 19 && s[16] == ':' && digits(s, 17, 2))) bad_when(option, v);
            tm.tm_sec = num(s, 17, 2);
        }
    }
    if (tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
        bad_when(option, v);
    int mday = tm.tm_mday;
    tm.tm_isdst = -1;
    time_t t = utc ? timegm(&tm) : mktime(&tm);
    if (t == static_cast<time_t>(-1) || tm.tm_mday != mday) bad_when(option, v);  // 2026-02-30
    return static_cast<uint64_t>(t) * 1000;
}

int list_many(const Options& o, const integrity::Keyring& keys, const std::shared_ptr<JournalEntries>& journal) {
    time_t now = time(nullptr);
    uint64_t since = o.list_since.empty() ? 0 : parse_when(o.list_since, "--since", now);
    uint64_t until = o.list_until.empty() ? 0 : parse_when(o.list_until, "--until", now);
    if (since && until && since > until)
        throw std::invalid_argument("--since " + o.list_since + " is after --until " + o.list_until);

    struct Input {
        std::string path;
        bool named;  // given on the command line (not found in a directory)
    };
    std::vector<Input> inputs;
    std::vector<std::pair<std::string, std::string>> errors;  // file, error
    if (journal) {
        inputs.push_back({o.path, true});
    } else {
        std::vector<std::string> given = o.list_paths;
        if (!o.path.empty()) given.insert(given.begin(), o.path);
        if (given.empty())
            throw std::invalid_argument("--list needs a file, a directory (-i or after the options) or -r journal");
        for (const auto& g : given) {
            std::error_code ec;
            if (!std::filesystem::is_directory(g, ec)) {
                inputs.push_back({g, true});
                continue;
            }
            // Symbolic links are not followed: a link in a recording
            // directory must not make the listing loop or leave the tree.
            std::vector<std::string> found;
            std::filesystem::recursive_directory_iterator it(g, std::filesystem::directory_options::none, ec), end;
            for (; !ec && it != end; it.increment(ec)) {
                std::error_code fec;
                if (it->is_regular_file(fec) && !it->is_symlink(fec)) found.push_back(it->path().string());
            }
            if (ec) errors.emplace_back(g, ec.message());
            std::sort(found.begin(), found.end());
            for (auto& f : found)
                if (looks_like_recording(f)) inputs.push_back({std::move(f), false});
        }
    }

    std::vector<Row> rows;
    for (const auto& in : inputs) {
        std::vector<RecordingSummary> recs;
        try {
            recs = list_recordings(in.path, &keys);
        } catch (const std::exception& e) {
            errors.emplace_back(in.path, journal ? journal->rewrite(e.what()) : e.what());
            continue;
        }
        bool any = false;
        for (auto& s : recs) {
            // Lines that hold no message at all make no recording.
            if (!s.messages) continue;
            any = true;
            Row r;
            r.damaged = !s.gaps.empty() || !s.problems.empty();
            if (journal)
                for (auto& p : s.problems) p = journal->rewrite(p);
            r.s = std::move(s);
            r.file = journal ? "" : in.path;
            rows.push_back(std::move(r));
        }
        if (!any && in.named && !journal) errors.emplace_back(in.path, "no recordings in it");
    }
    std::vector<ForgedEntry> forged;
    if (journal) forged = journal->forged();

    // Filters. A recording is kept when it ran at some time between --since
    // and --until; one whose start is unknown is left out by either.
    std::vector<Row> shown;
    for (auto& r : rows) {
        if (!o.user.empty() && r.s.user != o.user) continue;
        if (!o.host.empty() && r.s.host != o.host) continue;
        if ((since || until) && !r.s.start_ms) continue;
        if (since && r.end_ms() < since) continue;
        if (until && r.s.start_ms > until) continue;
        shown.push_back(std::move(r));
    }
    bool bad = !errors.empty() || !forged.empty();
    for (const auto& r : shown)
        if (r.damaged || r.s.verdict == IntegrityReport::Verdict::Broken) bad = true;
    std::stable_sort(shown.begin(), shown.end(), [](const Row& a, const Row& b) {
        // Unknown starts last.
        uint64_t x = a.s.start_ms ? a.s.start_ms : ~uint64_t(0), y = b.s.start_ms ? b.s.start_ms : ~uint64_t(0);
        return x < y;
    });

    if (o.json) {
        json::Value doc = json::Value::make_object();
        json::Value list = json::Value::make_array();
        for (const auto& r : shown) {
            json::Value v = json::Value::make_object();
            v.set("rec", json::Value::make_string(r.s.rec));
            v.set("source", json::Value::make_string(journal ? o.reader : std::string("file")));
            v.set("file", journal ? json::Value::make_null() : json::Value::make_string(r.file));
            v.set("user", json::Value::make_string(r.s.user));
            v.set("host", json::Value::make_string(r.s.host));
            v.set("term", json::Value::make_string(r.s.term));
            v.set("session", r.s.session == 0 || r.s.session == kNoSession ? json::Value::make_null()
                                                                           : json::Value::make_uint(r.s.session));
            v.set("start", r.s.start_ms ? json::Value::make_string(utc_time(r.s.start_ms)) : json::Value::make_null());
            v.set("start_ms", r.s.start_ms ? json::Value::make_uint(r.s.start_ms) : json::Value::make_null());
            v.set("end", r.s.start_ms ? json::Value::make_string(utc_time(r.end_ms())) : json::Value::make_null());
            v.set("duration_ms", json::Value::make_uint(r.s.duration_ms));
            v.set("messages", json::Value::make_uint(r.s.messages));
            v.set("bytes", json::Value::make_uint(r.s.log_bytes));
            v.set("status", json::Value::make_string(status(r)));
            v.set("integrity", json::Value::make_string(r.s.integrity));
            json::Value gaps = json::Value::make_array();
            for (const auto& g : r.s.gaps) {
                json::Value gv = json::Value::make_object();
                gv.set("first_id", json::Value::make_uint(g.first_id));
                gv.set("last_id", json::Value::make_uint(g.last_id));
                gv.set("at_ms", json::Value::make_uint(g.pos_ms));
                gaps.items().push_back(std::move(gv));
            }
            v.set("gaps", std::move(gaps));
            json::Value problems = json::Value::make_array();
            for (const auto& p : r.s.problems) problems.items().push_back(json::Value::make_string(p));
            v.set("problems", std::move(problems));
            list.items().push_back(std::move(v));
        }
        doc.set("recordings", std::move(list));
        json::Value fv = json::Value::make_array();
        for (const auto& f : forged) {
            json::Value e = json::Value::make_object();
            e.set("entry", json::Value::make_string(f.name));
            e.set("uid", f.uid.empty() ? json::Value::make_null() : json::Value::make_string(f.uid));
            e.set("rec", json::Value::make_string(f.rec));
            fv.items().push_back(std::move(e));
        }
        doc.set("forged", std::move(fv));
        json::Value ev = json::Value::make_array();
        for (const auto& [file, err] : errors) {
            json::Value e = json::Value::make_object();
            e.set("file", json::Value::make_string(file));
            e.set("error", json::Value::make_string(err));
            ev.items().push_back(std::move(e));
        }
        doc.set("errors", std::move(ev));
        std::printf("%s\n", json::dump(doc, true).c_str());
    } else if (o.wide) {
        std::printf("%-25s  %-10s  %-12s  %-12s  %-10s  %-12s  %-36s  %-12s  %s\n", "START", "DURATION", "USER", "HOST",
                    "SESSION", "BYTES", "REC", "STATUS", journal ? "SOURCE" : "FILE");
        for (const auto& r : shown)
            std::printf("%-25s  %-10s  %-12s  %-12s  %-10s  %-12llu  %-36s  %-12s  %s\n",
                        local_time(r.s.start_ms, true).c_str(), duration(r.s.duration_ms).c_str(),
                        printable(r.s.user).c_str(), printable(r.s.host).c_str(), session(r.s.session).c_str(),
                        static_cast<unsigned long long>(r.s.log_bytes), printable(r.s.rec).c_str(),
                        printable(wide_status(r)).c_str(), journal ? o.reader.c_str() : printable(r.file).c_str());
    } else {
        // 79 columns: start, duration, user, host, session, id, status.
        std::printf("%s %s %s %s %s %s %s\n", fit("START", 16).c_str(), fit("DURATION", 8).c_str(),
                    fit("USER", 8).c_str(), fit("HOST", 10).c_str(), fit("SESS", 6).c_str(), fit("REC", 13).c_str(),
                    "STATUS");
        for (const auto& r : shown)
            std::printf("%s %s %s %s %s %s %s\n", fit(local_time(r.s.start_ms, false), 16).c_str(),
                        fit(duration(r.s.duration_ms), 8).c_str(), fit(printable(r.s.user), 8).c_str(),
                        fit(printable(r.s.host), 10).c_str(), fit(session(r.s.session), 6).c_str(),
                        fit(printable(r.s.rec), 13).c_str(), table_status(r).c_str());
        for (const auto& r : shown)
            if (unkeyed(r) && !r.damaged) {
                std::fprintf(stderr, "* unkeyed chain: shows damage, but anyone could have rewritten it\n");
                break;
            }
    }
    std::fflush(stdout);
    if (!o.json) {
        for (const auto& f : forged)
            std::fprintf(stderr,
                         "tlog-play: %s: forged: claims recording %s but was written by %s, not the recorder; left "
                         "out\n",
                         f.name.c_str(), printable(f.rec).c_str(),
                         f.uid.empty() ? "no known uid" : ("uid " + f.uid).c_str());
        for (const auto& [file, err] : errors)
            std::fprintf(stderr, "tlog-play: %s: %s\n", printable(file).c_str(), printable(err).c_str());
        for (const auto& r : shown)
            if (r.damaged || r.s.verdict == IntegrityReport::Verdict::Broken)
                std::fprintf(stderr, "tlog-play: recording %s%s%s is %s: --verify -m %s says where\n",
                             printable(r.s.rec).c_str(), journal ? "" : " in ",
                             journal ? "" : printable(r.file).c_str(), status(r).c_str(), printable(r.s.rec).c_str());
    }
    return bad ? 1 : 0;
}

}  // namespace tlog::play::cli
