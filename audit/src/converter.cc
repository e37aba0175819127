// Audit events to JSON (doc/audit-json.md). raw_reader.cc splits the text
// into events, records and fields as libauparse does (or libauparse itself,
// Options::libauparse_events); libauparse's interpretation functions give
// the values ausearch -i prints; this file derives the summary, keeps the
// join state and writes the JSON with librec's string escaping.
#include "tlog/audit/converter.h"

#include <arpa/inet.h>
#include <auparse.h>
#include <libaudit.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <ctime>
#include <deque>
#include <forward_list>
#include <stdexcept>
#include <unordered_map>

#include "auparse_private.h"
#include "proctitle_text.h"
#include "raw_reader.h"
#include "tlog/detail/swar.h"
#include "tlog/hex.h"
#include "tlog/json.h"
#include "tlog/rec_id.h"
#include "tlog/utf8.h"

namespace tlog::audit {

namespace {

// Whether an ENRICHED record's own interpretations ("NAME=value ...",
// libauparse's list, which auparse_do_interpretation reads first) name the
// field.
bool enrichment_names(const char* enrichment, std::string_view name) {
    if (enrichment == nullptr) return false;
    for (std::string_view t(enrichment); !t.empty();) {
        if (t.starts_with(name) && t.size() > name.size() && t[name.size()] == '=') return true;
        const size_t next = t.find(' ');
        if (next == std::string_view::npos) break;
        t.remove_prefix(next + 1);
    }
    return false;
}

constexpr uint32_t kUnsetSession = 4294967295U;
constexpr int kTrustedApp = 1121;  // AUDIT_TRUSTED_APP: pam_tlog's records
constexpr int kUserAuth = 1100;    // AUDIT_USER_AUTH
// node= is the administrator's, but nothing in the log bounds it: step 4 of
// trimming cuts it here so that the smallest event always fits 512 bytes.
constexpr size_t kMaxTrimmedHost = 128;

// Names and raw values point into the reader's records or libauparse's
// copy of the event (alive while the event is converted) or into
// Event::owned; interpretations into the converter's caches (cleared only
// between events) or Event::owned.
// a == b, inline for the short names and values compared most (a call
// to memcmp costs more than the comparison).
[[gnu::always_inline]] inline bool same(std::string_view a, std::string_view b) {
    const size_t n = a.size();
    if (n != b.size()) return false;
    const char *p = a.data(), *q = b.data();
    if (n > 16) return std::memcmp(p, q, n) == 0;
    if (n >= 8) {
        uint64_t x, y, u, v;
        std::memcpy(&x, p, 8), std::memcpy(&y, q, 8);
        std::memcpy(&u, p + n - 8, 8), std::memcpy(&v, q + n - 8, 8);
        return ((x ^ y) | (u ^ v)) == 0;
    }
    if (n >= 4) {
        uint32_t x, y, u, v;
        std::memcpy(&x, p, 4), std::memcpy(&y, q, 4);
        std::memcpy(&u, p + n - 4, 4), std::memcpy(&v, q + n - 4, 4);
        return ((x ^ y) | (u ^ v)) == 0;
    }
    for (size_t i = 0; i < n; ++i)
        if (p[i] != q[i]) return false;
    return true;
}

struct Field {
    std::string_view name;
    std::string_view raw;
    std::string_view interp;    // empty when equal to raw
    uint32_t tag = 0;           // of the name: see name_tag
    bool name_plain = false;    // known to need no JSON escaping (false: not known)
    bool interp_plain = false;  // the same for interp

    Field(std::string_view n, std::string_view r) : name(n), raw(r), tag(name_tag(n)) {}
    void rename(std::string_view n) { name = n, tag = name_tag(n), name_plain = false; }
    // Length and four bytes of the name (first, second, middle, last; 0
    // only for the empty name): two names with different tags differ; equal
    // tags are compared byte by byte. Cheaper than a hash of every byte,
    // and the names of one record (fsuid, fsgid) rarely share a tag.
    static constexpr uint32_t name_tag(std::string_view n) {
        if (n.empty()) return 0;
        const auto b = [&n](size_t i) { return static_cast<uint32_t>(static_cast<uint8_t>(n[i])); };
        const size_t last = n.size() - 1;
        return static_cast<uint32_t>(std::min<size_t>(n.size(), 255)) | b(0) << 8 | b(last > 0 ? 1 : 0) << 16 |
               ((b(last) ^ b(n.size() / 2) << 3) & 0xFFU) << 24;
    }
};

struct Record {
    int type = 0;
    std::string_view type_name;
    std::vector<Field> fields;

    const Field* find(std::string_view name) const {
        const uint32_t tag = Field::name_tag(name);
        // The summary looks up some forty names in the main record: from
        // the third look-up on, through a table of the first of each name.
        if (fields.size() <= kIndexed && ++finds > 2) {
            if (finds == 3) build_index();
            for (size_t h = slot(tag); index[h] != 0; h = (h + 1) % index.size()) {
                const Field& f = fields[index[h] - 1U];
                if (f.tag == tag && f.name == name) return &f;
            }
            return nullptr;
        }
        for (const Field& f : fields)
            if (f.tag == tag && f.name == name) return &f;
        return nullptr;
    }
    // Look-ups after the record is complete (names made unique): the
    // table and the flag are built on demand and not kept up to date.
    static constexpr size_t kIndexed = 64;
    mutable unsigned finds = 0;
    mutable int tilde = -1;
    mutable std::array<uint8_t, 128> index{};  // field number + 1, 0: free
    static size_t slot(uint32_t tag) { return (tag * 2654435761U) >> 25; }
    void build_index() const;
    bool has_tilde() const;

    // The fields libaudit appends after a user-space message (exe, hostname,
    // addr, terminal, res) are the last of their name: the message before
    // them may hold the same names, written by whoever sent it.
    const Field* find_trusted(std::string_view name) const {
        const bool appended =
            name == "exe" || name == "hostname" || name == "addr" || name == "terminal" || name == "res";
        // Without a '~' in any name, names are unique: the last is the first.
        if (!appended || !has_tilde()) return find(name);
        const Field* last = nullptr;
        for (const Field& f : fields) {
            if (f.name.size() < name.size() || f.name[0] != name[0]) continue;
            if (f.name == name ||
                (f.name.starts_with(name) && f.name.size() > name.size() && f.name[name.size()] == '~'))
                last = &f;
        }
        return last;
    }
};

bool ascii(std::string_view s) {
    const char* p = s.data();
    const char* end = p + s.size();
    uint64_t high = 0;
    for (; end - p >= 8; p += 8) high |= swar::load8(p);
    for (; p < end; ++p) high |= static_cast<uint8_t>(*p);
    return (high & 0x8080808080808080ULL) == 0;
}

bool Record::has_tilde() const {
    if (tilde < 0) {
        tilde = 0;
        for (const Field& f : fields)
            if (f.name.find('~') != std::string_view::npos) tilde = 1;
    }
    return tilde == 1;
}

void Record::build_index() const {
    index.fill(0);
    for (size_t i = 0; i < fields.size(); ++i) {
        const Field& f = fields[i];
        size_t h = slot(f.tag);
        bool seen = false;
        for (; index[h] != 0; h = (h + 1) % index.size()) {
            const Field& g = fields[index[h] - 1U];
            if (g.tag == f.tag && g.name == f.name) {
                seen = true;
                break;
            }
        }
        if (!seen) index[h] = static_cast<uint8_t>(i + 1);
    }
}

struct Sockaddr {
    std::string family;
    std::string addr;
    std::optional<uint32_t> port;
    std::string path;
};

struct PathItem {
    std::string name, nametype, mode, mode_i, inode, resolved;
};

struct Event {
    uint64_t serial = 0;
    time_t sec = 0;
    unsigned milli = 0;
    std::string host;
    std::vector<Record> records;
    const Record* main = nullptr;  // SYSCALL, or the first record
    std::optional<uint32_t> ses;
    std::string syscall;
    bool exec = false;
    bool has_argv = false;
    std::vector<std::string> argv;
    std::optional<uint64_t> argc;
    std::string cwd;
    bool has_cwd = false;
    std::vector<PathItem> paths;
    std::optional<std::vector<std::string>> proctitle;
    std::optional<Sockaddr> sockaddr;
    std::string rec;
    std::vector<std::pair<uint64_t, std::string>> joined_failures;  // serial, time
    // Text the fields point to that is not the reader's (or libauparse's):
    // names made valid or unique, type names read from the record's text,
    // uncached interpretations. A list: its strings do not move as it
    // grows, and an event that needs none allocates nothing.
    std::forward_list<std::string> owned;
    std::string_view own(std::string s) { return owned.emplace_front(std::move(s)); }
    std::string_view own_nonempty(std::string s) { return s.empty() ? std::string_view() : own(std::move(s)); }
};

struct Process {
    uint32_t ppid = 0;
    uint32_t ses = 0;
    std::string exe, comm;
    std::vector<std::string> argv;  // the first few, bounded
    uint64_t seq = 0;
};

struct Failure {
    std::string host, acct, rhost, addr;
    time_t sec;
    uint64_t serial;
    std::string time;
};

template <typename T>
std::optional<T> number(std::string_view s) {
    T v{};
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
    return v;
}

std::string iso_time(time_t sec, unsigned milli) {
    struct tm tm {};
    gmtime_r(&sec, &tm);
    char buf[96];
    snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec, milli % 1000);
    return buf;
}

std::optional<Sockaddr> decode_sockaddr(std::string_view hexed) {
    auto decoded = unhex(hexed);
    if (!decoded || decoded->size() < 2) return std::nullopt;
    const std::string bytes = std::move(*decoded);
    const auto* b = reinterpret_cast<const unsigned char*>(bytes.data());
    const size_t n = bytes.size();
    const unsigned fam = b[0] | b[1] << 8;  // sa_family_t in host (x86, little-endian) order
    Sockaddr s;
    char text[INET6_ADDRSTRLEN] = {};
    switch (fam) {
        case AF_UNIX: {
            s.family = "unix";
            std::string_view p(bytes.data() + 2, n - 2);
            if (!p.empty() && p[0] == '\0') {  // abstract name
                s.path = "@" + std::string(p.substr(1));
            } else {
                s.path = std::string(p.substr(0, p.find('\0')));
            }
            break;
        }
        case AF_INET:
            s.family = "inet";
            if (n >= 8) {
                s.port = b[2] << 8 | b[3];
                inet_ntop(AF_INET, b + 4, text, sizeof text);
                s.addr = text;
            }
            break;
        case AF_INET6:
            s.family = "inet6";
            if (n >= 24) {
                s.port = b[2] << 8 | b[3];
                inet_ntop(AF_INET6, b + 8, text, sizeof text);
                s.addr = text;
            }
            break;
        case AF_NETLINK: s.family = "netlink"; break;
        default: s.family = std::to_string(fam);
    }
    return s;
}

// The JSON text of one event, written with librec's escaping. Strings go
// through valid_utf8 first: the log holds whatever bytes the user chose.
// The text is built in a buffer of its own: appending to a std::string a
// piece at a time cost more than the rest of the writing.
class Writer {
    // Writer::plain for one byte.
    static constexpr auto kPlainByte = [] {
        std::array<bool, 256> t{};
        for (size_t c = 0; c < t.size(); ++c) t[c] = c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
        return t;
    }();

public:
    explicit Writer(size_t reserve) { grow(reserve); }
    // Starts a new event in the same buffer: its capacity stays.
    void clear() { len_ = 0, first_ = true; }
    void open() { sep(), put('{'), first_ = true; }
    void close() { put('}'), first_ = false; }
    void open_array() { sep(), put('['), first_ = true; }
    void close_array() { put(']'), first_ = false; }
    // A key the program writes (a literal): plain, so not checked.
    template <size_t N>
    [[gnu::always_inline]] void key(const char (&k)[N]) {
        // The length is known here: a copy of constant size, no call.
        constexpr size_t n = N - 1;
        char* p = reserve(n + 4);
        char* const begin = p;
        if (!first_) *p++ = ',';
        *p++ = '"';
        std::memcpy(p, k, n);
        p += n;
        *p++ = '"';
        *p++ = ':';
        len_ += static_cast<size_t>(p - begin);
        first_ = true;
    }
    void key_plain(std::string_view k) {
        quoted_key(k);
        first_ = true;
    }
    void key(std::string_view k) {
        if (plain(k)) {
            // Most keys: one copy, no validation or escaping pass.
            quoted_key(k);
            first_ = true;
            return;
        }
        sep();
        if (utf8::is_valid(k)) {
            // Field names come from the log too: any bytes.
            str_raw(k);
        } else {
            str_raw(valid_utf8(k));
        }
        put(':');
        first_ = true;
    }
    void str(std::string_view s, size_t max = SIZE_MAX) {
        if (s.size() <= max && plain(s)) {
            quoted_value(s);
            return;
        }
        sep();
        if (s.size() <= max && printable(s)) {
            // Quoted values (comm="bash"): only '"' and '\\' to escape.
            char* p = reserve(2 * s.size() + 2);
            char* const begin = p;
            *p++ = '"';
            const char* q = s.data();
            const char* const end = q + s.size();
            // A word at a time where there is nothing to escape (most of a
            // quoted value but its two quotes).
            for (; end - q >= 8; q += 8) {
                const uint64_t w = swar::load8(q);
                if (!(swar::has_byte(w, '"') | swar::has_byte(w, '\\'))) {
                    std::memcpy(p, &w, 8);
                    p += 8;
                    continue;
                }
                for (size_t i = 0; i < 8; ++i) {
                    if (q[i] == '"' || q[i] == '\\') *p++ = '\\';
                    *p++ = q[i];
                }
            }
            for (; q < end; ++q) {
                if (*q == '"' || *q == '\\') *p++ = '\\';
                *p++ = *q;
            }
            *p++ = '"';
            len_ += static_cast<size_t>(p - begin);
            return;
        }
        if (utf8::is_valid(s)) {
            str_raw(cut(s, max));
        } else {
            const std::string v = valid_utf8(s);
            str_raw(cut(v, max));
        }
    }
    // "k":"v" (a record's field): one copy when both are plain.
    // k_plain, v_plain: the caller checked k, v already (a field's name is
    // checked once and written twice, raw and interpreted; a cached
    // interpretation is checked once for every event it is written in).
    void member(std::string_view k, std::string_view v, bool k_plain = false, bool v_plain = false) {
        if ((k_plain || plain(k)) && (v_plain || plain(v))) {
            char* p = reserve(k.size() + v.size() + 6);
            char* const begin = p;
            if (!first_) *p++ = ',';
            first_ = false;
            *p++ = '"';
            copy(p, k.data(), k.size());
            p += k.size();
            *p++ = '"';
            *p++ = ':';
            *p++ = '"';
            copy(p, v.data(), v.size());
            p += v.size();
            *p++ = '"';
            len_ += static_cast<size_t>(p - begin);
            return;
        }
        key(k);
        str(v);
    }
    void num(uint64_t v) {
        sep();
        char* p = reserve(24);
        len_ += static_cast<size_t>(std::to_chars(p, p + 24, v).ptr - p);
    }
    void snum(int64_t v) {
        sep();
        char* p = reserve(24);
        len_ += static_cast<size_t>(std::to_chars(p, p + 24, v).ptr - p);
    }
    void boolean(bool b) { sep(), put(b ? "true" : "false"); }
    void null() { sep(), put("null"); }
    size_t size() const { return len_; }
    size_t capacity() const { return cap_; }
    std::string_view text() const { return {buf_.get(), len_}; }

private:
    // A value is preceded by a comma unless it is the first of its object
    // or array, or the value of a key.
    void sep() {
        if (!first_) put(',');
        first_ = false;
    }
    [[gnu::always_inline]] char* reserve(size_t n) {
        if (len_ + n > cap_) [[unlikely]]
            grow(len_ + n);
        return buf_.get() + len_;
    }
    [[gnu::noinline]] void grow(size_t need) {
        const size_t cap = std::max(need, cap_ * 2);
        auto b = std::make_unique_for_overwrite<char[]>(cap);
        if (len_) std::memcpy(b.get(), buf_.get(), len_);
        buf_ = std::move(b);
        cap_ = cap;
    }
    void put(char c) {
        *reserve(1) = c;
        ++len_;
    }
    void put(std::string_view s) {
        std::memcpy(reserve(s.size()), s.data(), s.size());
        len_ += s.size();
    }
    // memcpy for the short names and values most fields have, without the
    // call: two overlapping moves of a fixed size.
    static void copy(char* d, const char* s, size_t n) {
        if (n > 16) {
            std::memcpy(d, s, n);
        } else if (n >= 8) {
            uint64_t a, b;
            std::memcpy(&a, s, 8);
            std::memcpy(&b, s + n - 8, 8);
            std::memcpy(d, &a, 8);
            std::memcpy(d + n - 8, &b, 8);
        } else if (n >= 4) {
            uint32_t a, b;
            std::memcpy(&a, s, 4);
            std::memcpy(&b, s + n - 4, 4);
            std::memcpy(d, &a, 4);
            std::memcpy(d + n - 4, &b, 4);
        } else if (n > 0) {
            d[0] = s[0];
            d[n / 2] = s[n / 2];
            d[n - 1] = s[n - 1];
        }
    }
    // [,]"s": then [,]"s", for plain `s`.
    void quoted_key(std::string_view s) {
        char* p = quoted(s);
        *p++ = ':';
        len_ += static_cast<size_t>(p - (buf_.get() + len_));
    }
    void quoted_value(std::string_view s) {
        char* p = quoted(s);
        len_ += static_cast<size_t>(p - (buf_.get() + len_));
    }
    // Writes [,]"s" for plain `s` (room for one more byte) and returns
    // where it ends; len_ is the caller's to advance.
    char* quoted(std::string_view s) {
        char* p = reserve(s.size() + 4);
        if (!first_) *p++ = ',';
        first_ = false;
        *p++ = '"';
        copy(p, s.data(), s.size());
        p += s.size();
        *p++ = '"';
        return p;
    }

public:
    // Text that goes into a JSON string as it is (printable ASCII, no quote
    // or backslash): the common case, copied without the escaping pass.
    static bool plain(std::string_view s) {
        const char* p = s.data();
        const size_t n = s.size();
        if (n < 8) {
            // Short (most names and values): a table load a byte costs
            // less than assembling a word.
            bool ok = true;
            for (size_t i = 0; i < n; ++i) ok &= kPlainByte[static_cast<uint8_t>(p[i])];
            return ok;
        }
        // Whole words, the last one overlapping its predecessor: no tail.
        const char* const last = p + n - 8;
        for (; p < last; p += 8)
            if (!swar::all_json_plain(swar::load8(p))) return false;
        return swar::all_json_plain(swar::load8(last));
    }

private:
    // Printable ASCII, quotes and backslashes included: escaped here.
    static bool printable(uint64_t w) {
        const uint64_t high = (w | (w + swar::kOnes)) & swar::kHigh;
        return !(high | swar::has_less(w, 0x20));
    }
    static bool printable(std::string_view s) {
        const char* p = s.data();
        const size_t n = s.size();
        if (n < 8) return printable(tail(p, n));
        const char* const last = p + n - 8;
        for (; p < last; p += 8)
            if (!printable(swar::load8(p))) return false;
        return printable(swar::load8(last));
    }
    // The last n < 8 bytes in a word, the rest 'a' (plain and printable).
    static uint64_t tail(const char* p, size_t n) {
        uint64_t w = 0x6161616161616161ULL;
        if (n & 4) {
            uint32_t x;
            std::memcpy(&x, p, 4);
            w = w << 32 | x;
            p += 4;
        }
        if (n & 2) {
            uint16_t x;
            std::memcpy(&x, p, 2);
            w = w << 16 | x;
            p += 2;
        }
        if (n & 1) w = w << 8 | static_cast<uint8_t>(*p);
        return w;
    }
    void str_raw(std::string_view s) {
        scratch_.assign(1, '"');
        json::append_escaped(scratch_, s);
        scratch_ += '"';
        put(scratch_);
    }
    // Cuts on a character boundary.
    static std::string_view cut(std::string_view s, size_t max) {
        if (s.size() <= max) return s;
        size_t n = max;
        while (n > 0 && utf8::is_continuation(static_cast<uint8_t>(s[n]))) --n;
        return s.substr(0, n);
    }
    std::unique_ptr<char[]> buf_;
    size_t len_ = 0, cap_ = 0;
    bool first_ = true;
    std::string scratch_;  // escaped text, before it is copied in
};

// How much of an event is written: the levels of doc/audit-json.md's trimming.
struct Limits {
    bool records = true;
    size_t max_args = SIZE_MAX;
    size_t max_string = SIZE_MAX;
    size_t max_paths = SIZE_MAX;
    bool summary_only = false;
};

}  // namespace

namespace {

// hex::digit_value for every byte: one load a digit (PROCTITLE, PATH
// names and argv are hex, hundreds of digits an event).
constexpr auto kHexDigit = [] {
    std::array<int16_t, 256> t{};
    for (size_t c = 0; c < t.size(); ++c) t[c] = static_cast<int16_t>(hex::digit_value(static_cast<char>(c)));
    return t;
}();

// Decodes s (even length) into out (s.size() / 2 bytes); false at a
// byte that is not a hex digit.
bool unhex_into(std::string_view s, char* out) {
    const auto* in = reinterpret_cast<const uint8_t*>(s.data());
    for (size_t i = 0, n = s.size() / 2; i < n; ++i) {
        const int h = kHexDigit[in[2 * i]], l = kHexDigit[in[2 * i + 1]];
        if ((h | l) < 0) return false;
        out[i] = static_cast<char>(h << 4 | l);
    }
    return true;
}

}  // namespace

std::optional<std::string> unhex(std::string_view s) {
    if (s.size() % 2) return std::nullopt;
    std::string out;
    out.resize(s.size() / 2);
    if (!unhex_into(s, out.data())) return std::nullopt;
    return out;
}

std::string decode_value(std::string_view raw) {
    if (raw.size() >= 2 && raw.front() == '"' && raw.back() == '"') return std::string(raw.substr(1, raw.size() - 2));
    if (raw == "(null)" || raw == "?") return std::string(raw);
    if (!raw.empty()) {
        if (auto d = unhex(raw)) return *d;
    }
    return std::string(raw);
}

namespace {

// decode_value without a copy when the value is quoted or kept as it is;
// hex is decoded into `scratch`.
std::string_view decoded(std::string_view raw, std::string& scratch) {
    if (raw.size() >= 2 && raw.front() == '"' && raw.back() == '"') return raw.substr(1, raw.size() - 2);
    if (raw.empty() || raw == "(null)" || raw == "?" || raw.size() % 2) return raw;
    scratch.resize(raw.size() / 2);
    if (!unhex_into(raw, scratch.data())) return raw;
    return scratch;
}

}  // namespace

std::string valid_utf8(std::string_view s, bool* changed) {
    if (changed) *changed = false;
    std::string out;
    out.reserve(s.size() + 8);
    const auto* p = reinterpret_cast<const uint8_t*>(s.data());
    const auto* end = p + s.size();
    while (p < end) {
        if (*p < 0x80) {
            out += static_cast<char>(*p++);
            continue;
        }
        const size_t n = utf8::valid_prefix(p, end);
        if (n) {
            out.append(reinterpret_cast<const char*>(p), n);
            p += n;
        } else {
            out += utf8::kReplacement;
            p += utf8::invalid_length(p, end);
            if (changed) *changed = true;
        }
    }
    return out;
}

std::string resolve_path(std::string_view cwd, std::string_view name) {
    // Written in place: "/part" appended, ".." cuts back to the previous
    // slash (one allocation, none per part).
    std::string out;
    out.reserve(cwd.size() + name.size() + 2);
    const auto add = [&out](std::string_view path) {
        while (!path.empty()) {
            const size_t slash = path.find('/');
            const std::string_view part = path.substr(0, slash);
            path = slash == std::string_view::npos ? std::string_view() : path.substr(slash + 1);
            if (part.empty() || part == ".") continue;
            if (part == "..") {
                out.resize(out.empty() ? 0 : out.rfind('/'));
                continue;
            }
            out += '/';
            out += part;
        }
    };
    if (name.empty() || name[0] != '/') add(cwd);
    add(name);
    return out.empty() ? "/" : out;
}

struct Converter::Impl {
    Options opts;
    Output out;
    auparse_state_t* au = nullptr;      // Options::libauparse_events
    std::optional<raw::Reader> reader;  // otherwise
    uint64_t count = 0;
    uint64_t seq = 0;
    std::unordered_map<std::string, Process> procs;  // "host\0pid"
    std::map<SessionKey, std::string> session_rec;
    // joined(): Options::joins_of_rec's sessions and failed authentications.
    std::vector<SessionKey> joined_sessions;
    std::vector<std::pair<std::string, uint64_t>> joined_failures;
    std::deque<Failure> failures;
    std::exception_ptr error;
    // One buffer for every event's JSON: its capacity is kept, so an event
    // costs no allocation for its text.
    Writer writer{4096};

    static void callback(auparse_state_t* au, auparse_cb_event_t type, void* self) {
        if (type != AUPARSE_CB_EVENT_READY) return;
        auto* impl = static_cast<Impl*>(self);
        if (impl->error) return;
        try {
            impl->event(au);
        } catch (...) {
            // Never unwind through libauparse's C frames: rethrown by feed().
            impl->error = std::current_exception();
        }
    }

    void rethrow() {
        if (error) {
            auto e = error;
            error = nullptr;
            std::rethrow_exception(e);
        }
    }

    static std::string proc_key(const std::string& host, uint32_t pid) { return host + '\0' + std::to_string(pid); }

    // The interpretation of a uid or gid, cached per host: the same answer
    // libauparse gives, without a name service lookup per field.
    // A cached interpretation, and whether it needs JSON escaping (checked
    // once, written with every event that has the value).
    struct Interp {
        std::string text;
        bool plain;
        explicit Interp(std::string t) : text(std::move(t)), plain(Writer::plain(text)) {}
    };
    std::unordered_map<std::string, Interp> id_names;
    // `compute` gives the interpretation, empty when it equals the raw value.
    template <typename Compute>
    const Interp& id_name(const std::string& host, int type, std::string_view raw, Compute&& compute) {
        id_key.assign(host);
        id_key += '\0';
        id_key += static_cast<char>('0' + type);
        id_key += raw;
        auto it = id_names.find(id_key);
        if (it != id_names.end()) return it->second;
        return id_names.emplace(id_key, Interp(compute())).first->second;
    }
    std::string id_key;  // reused: no allocation per lookup

    // Field types whose interpretation depends on the value alone in every
    // libauparse: not on the record's other fields (a0-a3 on the syscall,
    // arch on the machine, escaped names on the CWD, which newer versions
    // resolve them against), nor on the host's name service (ids). The
    // same value gets the same text, so it is asked of libauparse once.
    // ENRICHED records are not cached: their own interpretations, looked up
    // by field name, come first.
    static bool context_free(int ft) {
        switch (ft) {
            case AUPARSE_TYPE_PERM:
            case AUPARSE_TYPE_MODE:
            case AUPARSE_TYPE_SUCCESS:
            case AUPARSE_TYPE_SESSION:
            case AUPARSE_TYPE_CAP_BITMAP:
            case AUPARSE_TYPE_MODE_SHORT:
            case AUPARSE_TYPE_ESCAPED_KEY: return true;
            default: return false;
        }
    }
    std::unordered_map<std::string, std::string> interpretations;  // type byte + raw -> text, empty if the same
    std::string interp_key;                                        // reused: no allocation per lookup
    template <typename Compute>
    const std::string& cached_interpretation(int type, std::string_view raw, Compute&& compute) {
        interp_key.assign(1, static_cast<char>(type));
        interp_key += raw;
        auto it = interpretations.find(interp_key);
        if (it != interpretations.end()) return it->second;
        return interpretations.emplace(interp_key, compute()).first->second;
    }

    // libauparse's interpretation of the current field: empty when the
    // same as the raw value.
    static std::string legacy_interpretation(auparse_state_t* a, std::string_view raw) {
        // libauparse's own PROCTITLE interpretation may lack its
        // terminator (proctitle_text.h): ours, unless the record's
        // enrichment names the field.
        if (auparse_get_field_type(a) == AUPARSE_TYPE_PROCTITLE &&
            !enrichment_names(auparse_get_record_interpretations(a), auparse_get_field_name(a))) {
            std::string in = libauparse_proctitle(raw);
            return in != raw ? in : "";
        }
        const char* in = auparse_interpret_field(a);
        return in && raw != in ? in : "";
    }

    // Events come in bursts of the same second: its text is kept.
    time_t last_sec = -1;
    std::string last_time;
    std::string time_text;  // event_time's answer: its memory is reused
    const std::string& event_time(time_t sec, unsigned milli) {
        if (sec != last_sec) {
            last_time = iso_time(sec, 0);
            last_sec = sec;
        }
        std::string& t = time_text;
        t = last_time;
        // The milliseconds, "SSS" before the final "Z".
        const size_t at = t.size() - 4;
        t[at] = static_cast<char>('0' + milli % 1000 / 100);
        t[at + 1] = static_cast<char>('0' + milli % 100 / 10);
        t[at + 2] = static_cast<char>('0' + milli % 10);
        return t;
    }

    void read_records(auparse_state_t* a, Event& e) {
        const std::string& host = e.host;
        if (auparse_first_record(a) <= 0) return;
        do {
            Record r;
            r.type = auparse_get_type(a);
            const char* tn = auparse_get_type_name(a);
            r.type_name = tn ? std::string_view(tn) : e.own(std::to_string(r.type));
            if (r.type <= 0) {
                // A type libauparse does not know: its name as the log has it.
                const char* text = auparse_get_record_text(a);
                std::string_view t = text ? text : "";
                if (const size_t at = t.find("type="); at != std::string_view::npos) {
                    t.remove_prefix(at + 5);
                    t = t.substr(0, t.find(' '));
                    if (!t.empty() && t.size() <= 64) r.type_name = e.own(valid_utf8(t));
                }
            }
            const bool execve = r.type_name == "EXECVE";
            // ENRICHED records carry their own names for ids; the others
            // are looked up in NSS, which may ask a directory each time.
            const char* enrichment = auparse_get_record_interpretations(a);
            const bool enriched = enrichment && *enrichment;
            if (auparse_first_field(a) > 0) {
                do {
                    const char* name = auparse_get_field_name(a);
                    const char* raw = auparse_get_field_str(a);
                    if (!name || !raw) continue;
                    // The record's prefix: "host" and the record's "type".
                    if (std::strcmp(name, "type") == 0 || std::strcmp(name, "node") == 0) continue;
                    Field f{name, raw};
                    // Before the names are made unique: two different
                    // invalid names may become the same valid one.
                    if (!utf8::is_valid(f.name)) f.rename(e.own(valid_utf8(f.name)));
                    // EXECVE arguments are decoded below (ausearch -i does
                    // not join aN[i] chunks).
                    if (!(execve && name[0] == 'a' && name[1] != 'r')) {
                        const int ft = auparse_get_field_type(a);
                        if (ft == AUPARSE_TYPE_UNCLASSIFIED) {
                            // libauparse gives such fields back as they are.
                        } else if (!enriched && (ft == AUPARSE_TYPE_UID || ft == AUPARSE_TYPE_GID)) {
                            f.interp = id_name(host, ft, f.raw, [&] { return legacy_interpretation(a, f.raw); }).text;
                        } else if (!enriched && context_free(ft) && f.raw.size() <= 64) {
                            f.interp =
                                cached_interpretation(ft, f.raw, [&] { return legacy_interpretation(a, f.raw); });
                        } else {
                            f.interp = e.own_nonempty(legacy_interpretation(a, f.raw));
                        }
                    }
                    r.fields.push_back(f);
                } while (auparse_next_field(a) > 0);
            }
            unique_names(r, e);
            e.records.push_back(std::move(r));
        } while (auparse_next_record(a) > 0);
    }

    // The type libauparse gives a field (auparse_get_field_type): by the
    // record type and name, except for the few names whose type depends on
    // the value. Remembered per record type and position: records of one
    // type list the same names in the same order.
    // The interpretation last given at a position (Known::last): records
    // of a type repeat most of their values (arch, syscall, success, the
    // ids), and one comparison costs less than building a cache key and
    // hashing it. Valid while the caches it points into are not emptied
    // (epoch) and the value and what its interpretation depends on are
    // the same.
    struct Memo {
        std::string raw;
        const Interp* interp = nullptr;
        uint64_t epoch = 0;  // Impl::cache_epoch when remembered; 0: none
        int machine = 0, syscall = 0;
        unsigned long long a0 = 0, a1 = 0;
        std::string host;  // for ids: their names are the host's
        bool big = false;  // has held a long value (counted in long_memos)
    };
    struct Known {
        std::string name;
        uint32_t tag;
        int type;
        bool plain;  // Writer::plain(name)
        Memo last;
    };
    struct Layout {
        std::vector<Known> known;  // in the order first seen
        std::array<int16_t, 512> slots{};
        bool named = false;               // type_name is libaudit's answer
        const char* type_name = nullptr;  // audit_msg_type_to_name's
        Layout() { slots.fill(-1); }
        static size_t slot(uint32_t tag) { return (tag * 2654435761U) >> 23; }
    };
    std::unordered_map<int, Layout> layouts;
    // Also tells whether the name is plain (Writer::plain), remembered
    // with its type: names repeat, their check need not.
    // pos: the record's fields so far that are remembered by name (not
    // the prefix, EXECVE's arguments, nor those typed by value), advanced
    // here. *memo: the name's memo; valid until the next call.
    [[gnu::always_inline]] static int field_type(Layout& layout, int rtype, size_t& next, std::string_view name,
                                                 uint32_t tag, const char* val, bool& plain, Memo*& memo) {
        memo = nullptr;
        static constexpr uint32_t kAcct = Field::name_tag("acct");
        if (rtype == kTrustedApp || (tag == kAcct && name == "acct")) {
            plain = Writer::plain(name);
            return auparse_interp_adjust_type(rtype, name.data(), val);
        }
        const size_t pos = next++;
        auto& known = layout.known;
        if (pos < known.size() && known[pos].tag == tag && same(known[pos].name, name)) {
            plain = known[pos].plain;
            memo = &known[pos].last;
            return known[pos].type;
        }
        size_t h = Layout::slot(tag);
        for (; layout.slots[h] >= 0; h = (h + 1) % layout.slots.size()) {
            Known& k = known[static_cast<size_t>(layout.slots[h])];
            if (k.tag == tag && same(k.name, name)) {
                plain = k.plain;
                memo = &k.last;
                return k.type;
            }
        }
        const int ft = auparse_interp_adjust_type(rtype, name.data(), val);
        plain = Writer::plain(name);
        if (known.size() < 256) {
            layout.slots[h] = static_cast<int16_t>(known.size());
            known.push_back({std::string(name), tag, ft, plain, {}});
        }
        return ft;
    }

    // Every interpretation but of ids (the name service's) is a function
    // of the field's type and value and of the record's machine, syscall,
    // a0 and a1 (auparse_do_interpretation's idata; the field's name only
    // picks an ENRICHED record's own interpretation, not asked here): with
    // all of them in the key, a cached answer is the one libauparse gives.
    struct Hash {
        using is_transparent = void;
        size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
    };
    using Cache = std::unordered_map<std::string, Interp, Hash, std::equal_to<>>;
    Cache contextual;  // values up to kShortValue bytes
    // Longer values, up to kLongValue bytes: mostly PROCTITLE's hex, whose
    // decoding in libauparse costs thousands of instructions a field, and
    // which repeats (the same few commands run again and again). Fewer
    // entries: each is bigger.
    Cache long_contextual;
    static constexpr size_t kShortValue = 64, kLongValue = 512;
    template <typename Compute>
    const Interp& contextual_interpretation(Cache& cache, int ft, const raw::Record& r, std::string_view raw,
                                            Memo* memo, Compute&& compute) {
        if (memo && memo->epoch == cache_epoch && same(memo->raw, raw) &&
            (context_free(ft) ||
             (memo->machine == r.machine && memo->syscall == r.syscall && memo->a0 == r.a0 && memo->a1 == r.a1)))
            return *memo->interp;
        // Type, context, value: built on the stack (raw is at most
        // kLongValue bytes).
        char key[1 + sizeof r.machine + sizeof r.syscall + sizeof r.a0 + sizeof r.a1 + kLongValue];
        size_t n = 0;
        key[n++] = static_cast<char>(ft);
        const auto add = [&](const void* v, size_t size) {
            std::memcpy(key + n, v, size);
            n += size;
        };
        add(&r.machine, sizeof r.machine);
        add(&r.syscall, sizeof r.syscall);
        add(&r.a0, sizeof r.a0);
        add(&r.a1, sizeof r.a1);
        add(raw.data(), std::min(raw.size(), kLongValue));
        const std::string_view k(key, n);
        auto it = cache.find(k);
        const Interp& in =
            it != cache.end() ? it->second : cache.emplace(std::string(k), Interp(compute())).first->second;
        if (memo && hold(*memo, raw)) {
            memo->interp = &in;
            memo->epoch = cache_epoch;
            memo->machine = r.machine, memo->syscall = r.syscall, memo->a0 = r.a0, memo->a1 = r.a1;
        }
        return in;
    }
    // Puts `raw` into the memo unless it is long (above kShortValue bytes)
    // and kLongMemos memos have taken long values already: memory stays
    // flat whatever the log's record types and names (at most 64 x 256
    // memos, of which at most kLongMemos hold up to kLongValue bytes).
    size_t long_memos = 0;
    static constexpr size_t kLongMemos = 256;
    bool hold(Memo& m, std::string_view raw) {
        if (raw.size() > kShortValue && !m.big) {
            if (long_memos >= kLongMemos) return false;  // the memo keeps its older value, still valid
            ++long_memos;
            m.big = true;
        }
        m.raw.assign(raw);
        return true;
    }

    static std::string interpretation(int ft, const raw::Record& r, const char* name, const char* val) {
        if (ft == AUPARSE_TYPE_PROCTITLE && !enrichment_names(r.interp, name)) {
            std::string in = libauparse_proctitle(val);  // proctitle_text.h: libauparse's may lack its end
            return in != val ? in : "";
        }
        // As auparse_interpret_field: the record's machine, syscall, a0
        // and a1; never a cwd (it clears the record's before it asks).
        const auparse_idata id{static_cast<unsigned>(r.machine), r.syscall, r.a0, r.a1, nullptr, name, val};
        char* out = auparse_do_interpretation(ft, &id, AUPARSE_ESC_RAW);
        std::string s = out && std::strcmp(out, val) != 0 ? out : "";
        free(out);  // NOLINT(cppcoreguidelines-no-malloc): libauparse's malloc
        return s;
    }

    // The reader's records, fields and interpretations: what read_records
    // takes from libauparse, the same text.
    void read_raw_records(const raw::Event& re, Event& e) {
        const std::string& host = e.host;
        // libauparse gives no fields (auparse_get_field_name and _str are
        // null) for an event at time 0.
        const bool interpret = re.sec != 0;
        // The list of an ENRICHED record's own interpretations is
        // libauparse's, global: none may be left from other text.
        _auparse_free_interpretations();
        e.records.reserve(re.records.size());
        for (const raw::Record& rr : re.records) {
            Record r;
            if (!spare_fields.empty()) {
                r.fields = std::move(spare_fields.back());
                spare_fields.pop_back();
            }
            r.type = rr.type;
            Layout& layout = layouts[rr.type];
            if (!layout.named) layout.type_name = audit_msg_type_to_name(rr.type), layout.named = true;
            const char* tn = layout.type_name;
            r.type_name = tn ? std::string_view(tn) : e.own(std::to_string(r.type));
            if (r.type <= 0 && !rr.unknown_type.empty() && rr.unknown_type.size() <= 64)
                r.type_name = e.own(valid_utf8(rr.unknown_type));
            const bool execve = r.type_name == "EXECVE";
            const bool enriched = rr.interp && *rr.interp;
            if (enriched) _auparse_load_interpretations(rr.interp);
            r.fields.reserve(rr.fields.size());
            size_t known_pos = 0;
            // Fields named as the layout's name at their position have
            // distinct names: when all have, and none was renamed, the
            // check for repeated names has nothing to do.
            size_t distinct = 0;
            bool renamed = false;
            for (size_t i = 0; interpret && i < rr.fields.size(); ++i) {
                const raw::Field& rf = rr.fields[i];
                const char* name = rf.name;
                const char* raw = rf.val;
                if (!raw) continue;
                Field f{{name, rf.name_len}, {raw, rf.val_len}};
                static constexpr uint32_t kType = Field::name_tag("type"), kNode = Field::name_tag("node");
                if ((f.tag == kType && f.name == "type") || (f.tag == kNode && f.name == "node")) continue;
                const uint32_t tag = f.tag;  // of the name as libauparse has it
                const bool interpreted = !(execve && name[0] == 'a' && name[1] != 'r');
                int ft = AUPARSE_TYPE_UNCLASSIFIED;
                Memo* memo = nullptr;
                // Plain names (nearly all) are ASCII, and the writer need
                // not check them again.
                if (interpreted) {
                    ft = field_type(layout, rr.type, known_pos, {name, rf.name_len}, tag, raw, f.name_plain, memo);
                    if (memo && memo == &layout.known[known_pos - 1].last) ++distinct;
                } else {
                    f.name_plain = Writer::plain(f.name);
                }
                if (!f.name_plain && !ascii(f.name) && !utf8::is_valid(f.name)) {
                    f.rename(e.own(valid_utf8(f.name)));
                    renamed = true;
                }
                if (interpreted) {
                    auto compute = [&] { return interpretation(ft, rr, name, raw); };
                    if (ft == AUPARSE_TYPE_UNCLASSIFIED) {
                    } else if (!enriched && (ft == AUPARSE_TYPE_UID || ft == AUPARSE_TYPE_GID)) {
                        const Interp* in = nullptr;
                        if (memo && memo->epoch == cache_epoch && same(memo->raw, f.raw) && same(memo->host, host)) {
                            in = memo->interp;
                        } else {
                            in = &id_name(host, ft, f.raw, compute);
                            if (memo && host.size() <= kShortValue && hold(*memo, f.raw)) {
                                memo->host = host;
                                memo->interp = in;
                                memo->epoch = cache_epoch;
                            }
                        }
                        f.interp = in->text, f.interp_plain = in->plain;
                    } else if (!enriched && f.raw.size() <= kShortValue) {
                        const Interp& in = contextual_interpretation(contextual, ft, rr, f.raw, memo, compute);
                        f.interp = in.text, f.interp_plain = in.plain;
                    } else if (!enriched && f.raw.size() <= kLongValue) {
                        const Interp& in = contextual_interpretation(long_contextual, ft, rr, f.raw, memo, compute);
                        f.interp = in.text, f.interp_plain = in.plain;
                    } else {
                        f.interp = e.own_nonempty(compute());
                    }
                }
                r.fields.push_back(f);
            }
            if (enriched) _auparse_free_interpretations();
            if (renamed || distinct != r.fields.size()) unique_names(r, e);
            e.records.push_back(std::move(r));
        }
    }

    // A name seen before in the record (forged, or repeated in msg='...')
    // gets "~N": JSON objects have unique keys. Sorted, not compared pair by
    // pair: EXECVE records have thousands of fields.
    static void unique_names(Record& r, Event& e) {
        // Most records are short and their names distinct: a quick check
        // before the sort.
        if (r.fields.size() <= 48) {
            // Tags in a small open-addressed table: only two equal tags
            // send the record to the full check.
            std::array<uint32_t, 128> seen{};  // 0: free (no name has tag 0 but the empty one)
            bool maybe = false;
            for (const Field& f : r.fields) {
                if (f.tag == 0) {
                    maybe = true;
                    break;
                }
                size_t h = (f.tag * 2654435761U) >> 25;
                while (seen[h] != 0 && seen[h] != f.tag) h = (h + 1) & 127;
                if (seen[h] == f.tag) {
                    maybe = true;
                    break;
                }
                seen[h] = f.tag;
            }
            if (!maybe) return;
            bool dup = false;
            for (size_t i = 1; i < r.fields.size() && !dup; ++i)
                for (size_t j = 0; j < i; ++j)
                    if (r.fields[i].tag == r.fields[j].tag && r.fields[i].name == r.fields[j].name) {
                        dup = true;
                        break;
                    }
            if (!dup) return;
        }
        for (;;) {
            std::vector<std::pair<std::string_view, size_t>> names;
            names.reserve(r.fields.size());
            for (size_t i = 0; i < r.fields.size(); ++i) names.emplace_back(r.fields[i].name, i);
            std::sort(names.begin(), names.end());
            std::vector<std::pair<size_t, size_t>> renames;  // field, N
            for (size_t i = 1, n = 2; i < names.size(); ++i) {
                if (names[i].first != names[i - 1].first) {
                    n = 2;
                    continue;
                }
                renames.emplace_back(names[i].second, n++);
            }
            if (renames.empty()) return;
            // A new name may meet one that was in the record already: again.
            for (auto [i, n] : renames)
                r.fields[i].rename(e.own(std::string(r.fields[i].name) + "~" + std::to_string(n)));
        }
    }

    static std::string_view value(const Field* f) { return f->interp.empty() ? f->raw : f->interp; }

    void derive(Event& e) {
        std::map<uint64_t, std::string> args;
        for (const Record& r : e.records) {
            if (r.type_name == "SYSCALL" && !e.main) e.main = &r;
            if (r.type_name == "EXECVE") {
                e.has_argv = true;
                // aN, or aN_len plus aN[0], aN[1], ... (hex chunks), over
                // as many EXECVE records as the kernel needed.
                for (const Field& f : r.fields) {
                    if (f.name == "argc") {
                        e.argc = number<uint64_t>(f.raw);
                        continue;
                    }
                    if (f.name.size() < 2 || f.name[0] != 'a') continue;
                    std::string_view n(f.name);
                    n.remove_prefix(1);
                    const size_t br = n.find_first_of("_[");
                    auto idx = number<uint64_t>(n.substr(0, br));
                    if (!idx) continue;
                    if (br == std::string_view::npos) {
                        args[*idx] = decode_value(f.raw);
                    } else if (n[br] == '[') {
                        args[*idx] += unhex(f.raw).value_or(std::string(f.raw));
                    }
                }
            } else if (r.type_name == "CWD") {
                if (const Field* f = r.find("cwd")) e.cwd = decode_value(f->raw), e.has_cwd = true;
            } else if (r.type_name == "PROCTITLE") {
                if (const Field* f = r.find("proctitle")) {
                    const std::string t = decode_value(f->raw);
                    std::vector<std::string> parts;
                    size_t start = 0;
                    while (start <= t.size()) {
                        const size_t z = t.find('\0', start);
                        parts.push_back(t.substr(start, z == std::string::npos ? std::string::npos : z - start));
                        if (z == std::string::npos) break;
                        start = z + 1;
                    }
                    while (!parts.empty() && parts.back().empty()) parts.pop_back();
                    e.proctitle = std::move(parts);
                }
            } else if (r.type_name == "SOCKADDR") {
                if (const Field* f = r.find("saddr")) e.sockaddr = decode_sockaddr(f->raw);
            }
        }
        for (auto& [i, a] : args) {
            if (e.argv.size() < i) e.argv.resize(i);  // a missing argument stays empty
            if (e.argv.size() == i) e.argv.push_back(std::move(a));
        }
        if (!e.main && !e.records.empty()) e.main = &e.records.front();
        for (const Record& r : e.records) {
            if (r.type_name != "PATH") continue;
            PathItem p;
            if (const Field* f = r.find("name")) {
                p.name = decode_value(f->raw);
                if (e.has_cwd && f->raw != "(null)") p.resolved = resolve_path(e.cwd, p.name);
            }
            if (const Field* f = r.find("nametype")) p.nametype = f->raw;
            if (const Field* f = r.find("mode")) p.mode = f->raw, p.mode_i = std::string(f->interp);
            if (const Field* f = r.find("inode")) p.inode = f->raw;
            e.paths.push_back(std::move(p));
        }
        if (e.main) {
            if (const Field* f = e.main->find("ses")) {
                if (auto s = number<uint32_t>(f->raw); s && *s != kUnsetSession) e.ses = s;
            }
            if (const Field* f = e.main->find("syscall")) e.syscall = value(f);
            const Field* ok = e.main->find("success");
            e.exec = (e.syscall == "execve" || e.syscall == "execveat") && ok && ok->raw == "yes";
        }
    }

    // pam_tlog's start record names the recording of its audit session;
    // failed authentications just before it are joined to it.
    void join(Event& e, const std::string& time) {
        const Record* r = e.main;
        if (!r) return;
        if (r->type == kUserAuth) {
            const Field* res = r->find_trusted("res");
            if (!res || value(res) == "success") return;
            Failure f;
            f.host = e.host;
            if (const Field* a = r->find("acct")) f.acct = decode_value(a->raw);
            if (const Field* h = r->find_trusted("hostname")) f.rhost = decode_value(h->raw);
            if (const Field* a = r->find_trusted("addr")) f.addr = decode_value(a->raw);
            f.sec = e.sec;
            f.serial = e.serial;
            f.time = time;
            failures.push_back(std::move(f));
            while (!failures.empty() && failures.front().sec + static_cast<time_t>(opts.failure_window) < e.sec)
                failures.pop_front();
            while (failures.size() > 4096) failures.pop_front();
            return;
        }
        if (r->type != kTrustedApp) return;
        const Field* op = r->find("op");
        const Field* rec = r->find("rec");
        if (!op || op->raw != "tlog-session-start" || !rec || !e.ses) return;
        const std::string id = decode_value(rec->raw);
        // The id is copied onto every later event of the session: only a
        // recording id's shape is joined, so one odd record cannot bloat
        // (or inject into) the whole session's events.
        if (!is_recording_id(id)) return;
        const SessionKey key{e.host, *e.ses};
        session_rec[key] = id;
        const bool keep = id == opts.joins_of_rec;
        if (keep) joined_sessions.push_back(key);
        if (session_rec.size() > 65536) session_rec.erase(session_rec.begin());
        std::string acct, rhost;
        if (const Field* a = r->find("acct")) acct = decode_value(a->raw);
        if (const Field* h = r->find("rhost")) rhost = decode_value(h->raw);
        for (const Failure& f : failures) {
            if (f.host != e.host || f.acct != acct || f.sec > e.sec ||
                f.sec + static_cast<time_t>(opts.failure_window) < e.sec)
                continue;
            if (rhost != "?" && !rhost.empty() && f.rhost != rhost && f.addr != rhost) continue;
            e.joined_failures.emplace_back(f.serial, f.time);
            if (keep) joined_failures.emplace_back(f.host, f.serial);
        }
    }

    void remember(const Event& e) {
        if (!e.exec || !e.main || !e.ses) return;
        const Field* pid = e.main->find("pid");
        const Field* ppid = e.main->find("ppid");
        if (!pid || !ppid) return;
        auto p = number<uint32_t>(pid->raw);
        auto pp = number<uint32_t>(ppid->raw);
        if (!p || !pp) return;
        Process pr;
        pr.ppid = *pp;
        pr.ses = *e.ses;
        if (const Field* f = e.main->find("exe")) pr.exe = decode_value(f->raw);
        if (const Field* f = e.main->find("comm")) pr.comm = decode_value(f->raw);
        size_t bytes = 0;
        for (const auto& a : e.argv) {
            if (pr.argv.size() >= 8 || bytes > 512) break;
            pr.argv.push_back(a.substr(0, 256));
            bytes += pr.argv.back().size();
        }
        pr.seq = ++seq;
        procs[proc_key(e.host, *p)] = std::move(pr);
        if (procs.size() > opts.max_processes) {
            // Forget the older half: a bounded table beats an exact one here.
            const uint64_t cut = seq - opts.max_processes / 2;
            for (auto it = procs.begin(); it != procs.end();)
                it = it->second.seq < cut ? procs.erase(it) : std::next(it);
        }
    }

    void write_parents(Writer& w, const Event& e) {
        if (!e.main || !e.ses) return;
        const Field* ppid = e.main->find("ppid");
        if (!ppid) return;
        auto pp = number<uint32_t>(ppid->raw);
        std::vector<std::pair<uint32_t, const Process*>> chain;
        while (pp && *pp > 1 && chain.size() < opts.max_parents) {
            auto it = procs.find(proc_key(e.host, *pp));
            if (it == procs.end() || it->second.ses != *e.ses) break;
            if (std::any_of(chain.begin(), chain.end(), [&](auto& c) { return c.first == *pp; })) break;
            chain.emplace_back(*pp, &it->second);
            pp = it->second.ppid;
        }
        if (chain.empty()) return;
        w.key("parents");
        w.open_array();
        for (auto& [pid, p] : chain) {
            w.open();
            w.key("pid");
            w.num(pid);
            w.key("exe");
            w.str(p->exe);
            w.key("comm");
            w.str(p->comm);
            w.key("argv");
            w.open_array();
            for (const auto& a : p->argv) w.str(a);
            w.close_array();
            w.close();
        }
        w.close_array();
    }

    // The keys every event has, then the summary of its main record.
    void write_event(Writer& w, const Event& e, const std::string& time, const Limits& lim,
                     const std::vector<std::string>& trimmed) {
        w.open();
        w.key("serial");
        w.num(e.serial);
        w.key("time");
        w.str(time);
        w.key("host");
        w.str(e.host, lim.summary_only ? kMaxTrimmedHost : SIZE_MAX);
        w.key("ses");
        if (e.ses)
            w.num(*e.ses);
        else
            w.null();
        if (!e.rec.empty()) {
            w.key("rec");
            w.str(e.rec);
        }
        if (e.main) {
            w.key("type");
            w.str(e.main->type_name);
        }
        if (!trimmed.empty()) {
            w.key("trimmed");
            w.open_array();
            for (const auto& t : trimmed) w.str(t);
            w.close_array();
        }
        if (lim.summary_only) {
            w.close();
            return;
        }
        if (e.main) write_summary(w, e);
        if (e.has_argv) {
            w.key("argc");
            w.num(e.argc.value_or(e.argv.size()));
            w.key("argv");
            w.open_array();
            const size_t n = std::min(e.argv.size(), lim.max_args);
            for (size_t i = 0; i < n; ++i) w.str(e.argv[i], lim.max_string);
            w.close_array();
            std::vector<size_t> bad;
            for (size_t i = 0; i < n; ++i)
                if (!utf8::is_valid(e.argv[i])) bad.push_back(i);
            if (!bad.empty()) {
                // The bytes U+FFFD replaced, so nothing is lost.
                w.key("argv_hex");
                w.open();
                for (size_t i : bad) {
                    w.key(std::to_string(i));
                    w.str(hex::encode(e.argv[i].data(), std::min(e.argv[i].size(), lim.max_string)));
                }
                w.close();
            }
        }
        if (e.has_cwd) {
            w.key("cwd");
            w.str(e.cwd, lim.max_string);
        }
        if (!e.paths.empty()) {
            w.key("paths");
            w.open_array();
            const size_t n = std::min(e.paths.size(), lim.max_paths);
            for (size_t i = 0; i < n; ++i) {
                const PathItem& p = e.paths[i];
                w.open();
                w.key("name");
                w.str(p.name, lim.max_string);
                if (!p.resolved.empty()) {
                    w.key("resolved");
                    w.str(p.resolved, lim.max_string);
                }
                if (!p.nametype.empty()) {
                    w.key("nametype");
                    w.str(p.nametype);
                }
                if (!p.mode.empty()) {
                    w.key("mode");
                    w.str(p.mode);
                    if (!p.mode_i.empty()) {
                        w.key("mode_i");
                        w.str(p.mode_i);
                    }
                }
                if (!p.inode.empty()) {
                    w.key("inode");
                    w.str(p.inode);
                }
                w.close();
            }
            w.close_array();
        }
        if (e.proctitle) {
            w.key("proctitle");
            w.open_array();
            const size_t n = std::min(e.proctitle->size(), lim.max_args);
            for (size_t i = 0; i < n; ++i) w.str((*e.proctitle)[i], lim.max_string);
            w.close_array();
        }
        if (e.sockaddr) {
            w.key("sockaddr");
            w.open();
            w.key("family");
            w.str(e.sockaddr->family);
            if (!e.sockaddr->addr.empty()) {
                w.key("addr");
                w.str(e.sockaddr->addr);
            }
            if (e.sockaddr->port) {
                w.key("port");
                w.num(*e.sockaddr->port);
            }
            if (!e.sockaddr->path.empty()) {
                w.key("path");
                w.str(e.sockaddr->path, lim.max_string);
            }
            w.close();
        }
        write_parents(w, e);
        if (!e.joined_failures.empty()) {
            w.key("failed_auth_before");
            w.open_array();
            for (const auto& [serial, t] : e.joined_failures) {
                w.open();
                w.key("serial");
                w.num(serial);
                w.key("time");
                w.str(t);
                w.close();
            }
            w.close_array();
        }
        if (lim.records) {
            w.key("records");
            w.open_array();
            for (const Record& r : e.records) {
                w.open();
                w.key("type");
                w.str(r.type_name);
                w.key("fields");
                w.open();
                for (const Field& f : r.fields) w.member(f.name, f.raw, f.name_plain);
                w.close();
                bool any = false;
                for (const Field& f : r.fields) {
                    if (f.interp.empty()) continue;
                    if (!any) {
                        w.key("interpreted");
                        w.open();
                        any = true;
                    }
                    w.member(f.name, f.interp, f.name_plain, f.interp_plain);
                }
                if (any) w.close();
                w.close();
            }
            w.close_array();
        }
        w.close();
    }

    // Top-level copies of the main record's fields, decoded: numbers as
    // numbers, names next to ids, strings without their encoding.
    // The main record's fields the summary reads, found in one pass over
    // the record: `first` as Record::find gives them, `trusted` as
    // Record::find_trusted does (the same but for the names libaudit
    // appends).
    enum SummaryName {
        kPid,
        kPpid,
        kAuid,
        kUid,
        kEuid,
        kSuid,
        kFsuid,
        kGid,
        kEgid,
        kSyscall,
        kSuccess,
        kExit,
        kComm,
        kExe,
        kTty,
        kKey,
        kOp,
        kAcct,
        kHostname,
        kAddr,
        kTerminal,
        kRes,
        kRule,
        kService,
        kRhost,
        kReason,
        kKinds,
        kSummaryNames
    };
    static constexpr std::string_view kSummaryNames_[kSummaryNames] = {
        "pid",      "ppid",    "auid",     "uid",  "euid", "suid",    "fsuid", "gid",    "egid",
        "syscall",  "success", "exit",     "comm", "exe",  "tty",     "key",   "op",     "acct",
        "hostname", "addr",    "terminal", "res",  "rule", "service", "rhost", "reason", "kinds"};
    static bool appended(int i) { return i == kExe || i == kHostname || i == kAddr || i == kTerminal || i == kRes; }
    static int summary_name(std::string_view name, uint32_t tag) {
        static const auto table = [] {
            std::array<int8_t, 128> t{};
            t.fill(-1);
            for (int i = 0; i < kSummaryNames; ++i) {
                size_t h = Record::slot(Field::name_tag(kSummaryNames_[i]));
                while (t[h] >= 0) h = (h + 1) % t.size();
                t[h] = static_cast<int8_t>(i);
            }
            return t;
        }();
        static constexpr auto kTags = [] {
            std::array<uint32_t, kSummaryNames> t{};
            for (int i = 0; i < kSummaryNames; ++i) t[static_cast<size_t>(i)] = Field::name_tag(kSummaryNames_[i]);
            return t;
        }();
        for (size_t h = Record::slot(tag); table[h] >= 0; h = (h + 1) % table.size()) {
            const auto i = static_cast<size_t>(static_cast<uint8_t>(table[h]));  // >= 0 here
            if (kTags[i] == tag && same(kSummaryNames_[i], name)) return table[h];
        }
        return -1;
    }
    struct Summary {
        std::array<const Field*, kSummaryNames> first{}, trusted{};
        const Field* get(int i) const { return appended(i) ? trusted[i] : first[i]; }
    };
    static Summary summary_fields(const Record& r) {
        Summary s;
        for (const Field& f : r.fields) {
            if (const int i = summary_name(f.name, f.tag); i >= 0) {
                if (!s.first[i]) s.first[i] = &f;
                s.trusted[i] = &f;
            } else if (const size_t t = f.name.find('~'); t != std::string_view::npos) {
                // "exe~2": what a forged copy before libaudit's own was renamed to.
                const std::string_view prefix = f.name.substr(0, t);
                if (const int j = summary_name(prefix, Field::name_tag(prefix)); j >= 0 && appended(j))
                    s.trusted[j] = &f;
            }
        }
        return s;
    }

    static void write_summary(Writer& w, const Event& e) {
        const Summary s = summary_fields(*e.main);
        std::string scratch;
        static constexpr std::pair<int, const char*> kIds[] = {
            {kAuid, "auid_name"},   {kUid, "uid_name"}, {kEuid, "euid_name"}, {kSuid, "suid_name"},
            {kFsuid, "fsuid_name"}, {kGid, "gid_name"}, {kEgid, "egid_name"}};
        static constexpr int kNums[] = {kPid, kPpid};
        static constexpr int kStrings[] = {kComm,     kExe, kTty,  kKey,     kOp,    kAcct,   kHostname, kAddr,
                                           kTerminal, kRes, kRule, kService, kRhost, kReason, kKinds};
        for (const int n : kNums) {
            if (const Field* f = s.get(n)) {
                if (auto v = number<uint64_t>(f->raw)) {
                    w.key_plain(kSummaryNames_[n]);
                    w.num(*v);
                }
            }
        }
        for (const auto& [n, name_key] : kIds) {
            if (const Field* f = s.get(n)) {
                if (auto v = number<uint64_t>(f->raw)) {
                    w.key_plain(kSummaryNames_[n]);
                    w.num(*v);
                    if (!f->interp.empty()) {
                        w.key_plain(name_key);
                        w.str(f->interp);
                    }
                }
            }
        }
        if (!e.syscall.empty()) {
            w.key("syscall");
            w.str(e.syscall);
            if (const Field* f = s.get(kSyscall); f && !f->interp.empty()) {
                if (auto v = number<uint64_t>(f->raw)) {
                    w.key("syscall_nr");
                    w.num(*v);
                }
            }
            if (const Field* f = s.get(kSuccess)) {
                w.key("success");
                w.boolean(f->raw == "yes");
            }
            if (const Field* f = s.get(kExit)) {
                if (auto v = number<int64_t>(f->raw)) {
                    w.key("exit");
                    w.snum(*v);
                    if (!f->interp.empty() && f->interp != f->raw) {
                        w.key("exit_name");
                        w.str(f->interp);
                    }
                }
            }
        }
        for (const int n : kStrings) {
            if (const Field* f = s.get(n)) {
                w.key_plain(kSummaryNames_[n]);
                // res= is "success"/"failed" once interpreted (raw 1/0 or words).
                w.str(n == kRes ? value(f) : decoded(f->raw, scratch));
            }
        }
    }

    void event(auparse_state_t* a) {
        Event e;
        const au_event_t* ts = auparse_get_timestamp(a);
        if (ts) {
            e.serial = ts->serial;
            e.sec = ts->sec;
            e.milli = ts->milli;
            if (ts->host) e.host = ts->host;
        }
        if (e.host.empty()) e.host = opts.default_host;
        bound_caches();
        read_records(a, e);
        process(e);
    }

    void raw_event(const raw::Event& re) {
        Event e;
        if (re.sec != 0) {
            e.serial = re.serial;
            e.sec = re.sec;
            e.milli = re.milli;
            if (re.has_host) e.host = re.host;
        }
        if (e.host.empty()) e.host = opts.default_host;
        bound_caches();
        e.records.swap(spare_records);
        read_raw_records(re, e);
        process(e);
        // The vectors' memory serves the next event (bounded: a huge event
        // gives its memory back).
        for (Record& r : e.records) {
            if (spare_fields.size() < 64 && r.fields.capacity() <= 4096) {
                r.fields.clear();
                spare_fields.push_back(std::move(r.fields));
            }
        }
        e.records.clear();
        if (e.records.capacity() <= 1024) spare_records.swap(e.records);
    }
    std::vector<Record> spare_records;             // empty, its capacity kept
    std::vector<std::vector<Field>> spare_fields;  // empty, their capacity kept

    // The fields of an event point into the caches: they are emptied only
    // between events.
    void bound_caches() {
        const bool full = id_names.size() >= 65536 || contextual.size() >= 16384 || long_contextual.size() >= 2048;
        if (id_names.size() >= 65536) id_names.clear();
        if (interpretations.size() >= 65536) interpretations.clear();
        // Smaller: it also holds values seen once (pointers in a0-a3), and
        // memory is to stay flat (a few MB) whatever the log.
        if (contextual.size() >= 16384) contextual.clear();
        if (long_contextual.size() >= 2048) long_contextual.clear();
        // The memos point into these caches.
        if (full) ++cache_epoch;
        // A record type each (a log may name any number), with a memo at
        // each of up to 256 positions (see hold()).
        if (layouts.size() >= 64) {
            layouts.clear();
            long_memos = 0;
        }
    }
    uint64_t cache_epoch = 1;

    void process(Event& e) {
        derive(e);
        const std::string& time = event_time(e.sec, e.milli);
        join(e, time);
        SessionKey key{e.host, e.ses.value_or(kUnsetSession)};
        if (e.ses) {
            if (auto it = session_rec.find(key); it != session_rec.end()) e.rec = it->second;
        }
        Limits lim;
        std::vector<std::string> trimmed;
        Writer& w = writer;
        w.clear();
        write_event(w, e, time, lim, trimmed);
        // Trimming, in the documented order (doc/audit-json.md).
        std::optional<Writer> trimmed_w;
        if (w.size() > opts.max_event_size) {
            const size_t budget = opts.max_event_size;
            const Limits levels[] = {
                {false, SIZE_MAX, SIZE_MAX, SIZE_MAX, false},
                {false, std::max<size_t>(budget / 512, 4), 256, std::max<size_t>(budget / 1024, 4), false},
                {false, 16, 64, 8, false},
                {false, 0, 0, 0, true},
            };
            std::vector<std::string> names[] = {
                {"records"},
                {"records", "argv", "paths", "strings"},
                {"records", "argv", "paths", "strings"},
                {"records", "summary"},
            };
            if (e.host.size() > kMaxTrimmedHost) names[3].emplace_back("host");
            for (size_t i = 0; i < std::size(levels); ++i) {
                trimmed_w.emplace(budget);
                write_event(*trimmed_w, e, time, levels[i], names[i]);
                if (trimmed_w->size() <= budget) break;
            }
        }
        remember(e);
        ++count;
        out(trimmed_w ? trimmed_w->text() : w.text(), key, e.rec, static_cast<uint64_t>(e.sec) * 1000 + e.milli,
            e.serial);
        // A huge event (argv in the megabytes) leaves a huge buffer: memory
        // stays flat only if it is given back.
        if (w.capacity() > 1024 * 1024) w = Writer(4096);
    }
};

Converter::Converter(Options opts, Output out) : impl_(std::make_unique<Impl>()) {
    impl_->opts = std::move(opts);
    impl_->out = std::move(out);
    if (!impl_->opts.libauparse_events) {
        impl_->reader.emplace(raw::Reader::eoe_timeout(),
                              [impl = impl_.get()](const raw::Event& e) { impl->raw_event(e); });
        return;
    }
    impl_->au = auparse_init(AUSOURCE_FEED, nullptr);
    if (!impl_->au) throw std::runtime_error("auparse_init failed");
    auparse_set_escape_mode(impl_->au, AUPARSE_ESC_RAW);
    auparse_add_callback(impl_->au, &Impl::callback, impl_.get(), nullptr);
}

Converter::~Converter() {
    if (impl_ && impl_->au) auparse_destroy(impl_->au);
}

void Converter::feed(std::string_view text) {
    if (impl_->reader) return impl_->reader->feed(text);
    auparse_feed(impl_->au, text.data(), text.size());
    impl_->rethrow();
}

void Converter::age() {
    if (impl_->reader) return impl_->reader->age(time(nullptr));
    auparse_feed_age_events(impl_->au);
    impl_->rethrow();
}

void Converter::finish() {
    if (impl_->reader) return impl_->reader->finish();
    auparse_flush_feed(impl_->au);
    impl_->rethrow();
}

uint64_t Converter::events() const { return impl_->count; }

Converter::Joined Converter::joined() const { return Joined{impl_->joined_sessions, impl_->joined_failures}; }

}  // namespace tlog::audit
