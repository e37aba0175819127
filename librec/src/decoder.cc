#include "tlog/decoder.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <system_error>

#include "tlog/detail/swar.h"
#include "tlog/json.h"
#include "tlog/recording_select.h"
#include "tlog/utf8.h"

namespace tlog {

namespace {

// Largest delay or position accepted, in ms: about 285 million years, far
// past any real session, low enough that sums never overflow.
constexpr uint64_t kMaxMs = uint64_t(1) << 53;

enum Field : uint32_t {
    F_VER = 1u << 0,
    F_HOST = 1u << 1,
    F_REC = 1u << 2,
    F_USER = 1u << 3,
    F_TERM = 1u << 4,
    F_SESSION = 1u << 5,
    F_ID = 1u << 6,
    F_POS = 1u << 7,
    F_TIME = 1u << 8,
    F_TIMING = 1u << 9,
    F_IN_TXT = 1u << 10,
    F_IN_BIN = 1u << 11,
    F_OUT_TXT = 1u << 12,
    F_OUT_BIN = 1u << 13,
    F_END = 1u << 14,
    F_MAC = 1u << 15,
    F_MAC_ALG = 1u << 16,
    F_MAC_KEY = 1u << 17,
    F_MAC_FIELDS = 1u << 18,
};
constexpr uint32_t kRequired =
    F_VER | F_HOST | F_USER | F_TERM | F_SESSION | F_ID | F_POS | F_TIMING | F_IN_BIN | F_OUT_BIN;

// Where a message line's strings and byte arrays are decoded to: one buffer
// as long as the line. A value is never longer than its JSON text, so the
// line's values always fit, nothing is zero-filled or reallocated per field,
// and the fields are views into it.
class Arena {
public:
    // Room for the values of a line of `n` bytes; the previous line's are gone.
    void reset(size_t n) {
        // Shrinks after a huge line, so one does not pin its memory.
        if (!buf_ || n > cap_ || (cap_ > kKeep && n < cap_ / 8)) {
            cap_ = std::max(n, size_t(256));
            buf_ = std::make_unique_for_overwrite<char[]>(cap_);
        }
        used_ = 0;
    }
    char* cursor() { return buf_.get() + used_; }
    // The value written from cursor() to `end`.
    std::string_view commit(const char* end) {
        const char* start = cursor();
        used_ = static_cast<size_t>(end - buf_.get());
        return {start, static_cast<size_t>(end - start)};
    }

private:
    static constexpr size_t kKeep = 1 << 20;
    std::unique_ptr<char[]> buf_;
    size_t cap_ = 0, used_ = 0;
};

struct Msg {
    uint32_t seen = 0;
    std::string_view ver, host, rec, user, term, end, mac, mac_alg, mac_key;
    std::string_view timing, in_txt, out_txt, in_bin, out_bin;
    bool in_ascii = true, out_ascii = true;  // text fields found plain ASCII while unescaping
    uint64_t session = 0, id = 0, pos = 0, time_ms = 0;
    std::vector<std::string_view> mac_fields;
    // Fields the format does not define: name and raw JSON text (a view into the line).
    std::vector<std::pair<std::string_view, std::string_view>> extra;

    void clear() {
        mac_fields.clear();
        extra.clear();
        seen = 0;
        ver = host = rec = user = term = end = mac = mac_alg = mac_key = {};
        timing = in_txt = out_txt = in_bin = out_bin = {};
        in_ascii = out_ascii = true;
        session = id = pos = time_ms = 0;
    }
};

struct FieldDesc {
    std::string_view name;
    Field bit;
};
constexpr FieldDesc kFields[] = {
    {"ver", F_VER},
    {"host", F_HOST},
    {"rec", F_REC},
    {"user", F_USER},
    {"term", F_TERM},
    {"session", F_SESSION},
    {"id", F_ID},
    {"pos", F_POS},
    {"time", F_TIME},
    {"timing", F_TIMING},
    {"in_txt", F_IN_TXT},
    {"in_bin", F_IN_BIN},
    {"out_txt", F_OUT_TXT},
    {"out_bin", F_OUT_BIN},
    {"end", F_END},
    {"mac", F_MAC},
    {"mac_alg", F_MAC_ALG},
    {"mac_key", F_MAC_KEY},
    {"mac_fields", F_MAC_FIELDS},
};

// Parses one message line into a Msg. Throws InputError with the column and
// the field. The common fields are parsed in place; unknown fields skipped.
class LineParser {
public:
    LineParser(std::string_view line, const Location& base, Msg& m, Arena& arena)
        : begin_(line.data()), p_(line.data()), end_(line.data() + line.size()), base_(base), m_(m), arena_(arena) {
        arena_.reset(line.size());
    }

    void parse() {
        ws();
        expect('{', "a message must be a JSON object");
        ws();
        if (p_ < end_ && *p_ == '}') {
            p_++;
        } else {
            do {
                ws();
                member();
            } while (more('}', "expected ',' or '}' after a field"));
        }
        ws();
        if (p_ != end_) fail("text after the end of the message object");
        field_ = {};
        uint32_t missing = kRequired & ~m_.seen;
        if (missing)
            for (const auto& f : kFields)
                if (missing & f.bit) {
                    field_ = f.name;
                    fail("required field is missing", false);
                }
    }

private:
    [[noreturn]] void fail(const std::string& what, bool at_column = true) {
        Location loc = base_;
        if (at_column) loc.column = static_cast<uint64_t>(p_ - begin_) + 1;
        loc.field = std::string(field_);
        throw InputError(loc, what);
    }

    void ws() {
        while (p_ < end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\r' || *p_ == '\n')) p_++;
    }

    // After an element of an array or object: true when another follows
    // (',' consumed), false at the end (`close` consumed).
    bool more(char close, const char* what) {
        ws();
        if (p_ < end_ && *p_ == ',') {
            p_++;
            return true;
        }
        if (p_ < end_ && *p_ == close) {
            p_++;
            return false;
        }
        fail(what);
    }

    void expect(char c, const char* what) {
        if (p_ >= end_ || *p_ != c) fail(what);
        p_++;
    }

    void string_into(std::string_view& out, bool* ascii = nullptr) {
        expect('"', "expected a string");
        char* w = arena_.cursor();
        if (const char* err = json::unescape_into(p_, end_, w, ascii)) fail(err);
        out = arena_.commit(w);
    }

    uint64_t uint_value(const char* what) {
        if (p_ >= end_ || *p_ < '0' || *p_ > '9') fail(std::string("expected ") + what);
        if (*p_ == '0' && p_ + 1 < end_ && p_[1] >= '0' && p_[1] <= '9') fail("leading zero in number");
        uint64_t v = 0;
        while (p_ < end_ && *p_ >= '0' && *p_ <= '9') {
            uint64_t d = static_cast<uint64_t>(*p_ - '0');
            if (v > (std::numeric_limits<uint64_t>::max() - d) / 10) fail("number too large");
            v = v * 10 + d;
            p_++;
        }
        if (p_ < end_ && (*p_ == '.' || *p_ == 'e' || *p_ == 'E')) fail(std::string("expected ") + what);
        return v;
    }

    // "time": seconds with a fraction; kept as whole milliseconds.
    uint64_t time_value() {
        const char* start = p_;
        if (p_ < end_ && *p_ == '-') fail("time must not be negative");
        uint64_t sec = 0;
        if (p_ >= end_ || *p_ < '0' || *p_ > '9') fail("expected a number of seconds");
        while (p_ < end_ && *p_ >= '0' && *p_ <= '9') {
            if (sec > kMaxMs) fail("time out of range");
            sec = sec * 10 + static_cast<uint64_t>(*p_++ - '0');
        }
        uint64_t ms = 0;
        int fd = 0;
        if (p_ < end_ && *p_ == '.') {
            p_++;
            if (p_ >= end_ || *p_ < '0' || *p_ > '9') fail("bad fraction in time");
            while (p_ < end_ && *p_ >= '0' && *p_ <= '9') {
                if (fd < 3) {
                    ms = ms * 10 + static_cast<uint64_t>(*p_ - '0');
                    fd++;
                }
                p_++;
            }
        }
        if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
            // Exponent form from a re-serializing reader: rare, take the slow path.
            while (p_ < end_ && (*p_ == 'e' || *p_ == 'E' || *p_ == '+' || *p_ == '-' || (*p_ >= '0' && *p_ <= '9')))
                p_++;
            json::Value v = json::Value::make_number(std::string(start, p_));
            auto d = v.as_double();
            if (!d || *d < 0 || *d > 1e15) fail("time out of range");
            return static_cast<uint64_t>(std::llround(*d * 1000.0));
        }
        while (fd < 3) {
            ms *= 10;
            fd++;
        }
        return sec * 1000 + ms;
    }

    void bin_into(std::string_view& out) {
        expect('[', "expected an array of byte values");
        ws();
        if (p_ < end_ && *p_ == ']') {
            p_++;
            return;
        }
        char* w = arena_.cursor();
        for (;;) {
            ws();
            if (p_ >= end_ || *p_ < '0' || *p_ > '9') fail("expected a byte value (0-255)");
            unsigned v = 0;
            int n = 0;
            while (p_ < end_ && *p_ >= '0' && *p_ <= '9') {
                v = v * 10 + static_cast<unsigned>(*p_++ - '0');
                if (++n > 3) fail("byte value out of range (0-255)");
            }
            if (v > 255) fail("byte value out of range (0-255)");
            *w++ = static_cast<char>(v);
            if (!more(']', "expected ',' or ']' in byte array")) {
                out = arena_.commit(w);
                return;
            }
        }
    }

    void names_into(std::vector<std::string_view>& out) {
        expect('[', "expected an array of field names");
        ws();
        if (p_ < end_ && *p_ == ']') {
            p_++;
            return;
        }
        for (;;) {
            ws();
            out.emplace_back();
            string_into(out.back());
            if (!more(']', "expected ',' or ']' in the list of field names")) return;
        }
    }

    void skip_value(int depth) {
        if (depth > 64) fail("nesting too deep");
        ws();
        if (p_ >= end_) fail("expected a value");
        char c = *p_;
        if (c == '"') {
            string_into(scratch_);
        } else if (c == '{' || c == '[') {
            char close = c == '{' ? '}' : ']';
            p_++;
            ws();
            if (p_ < end_ && *p_ == close) {
                p_++;
                return;
            }
            do {
                ws();
                if (c == '{') {
                    string_into(scratch_);
                    ws();
                    expect(':', "expected ':'");
                }
                skip_value(depth + 1);
            } while (more(close, "unterminated array or object"));
        } else {
            const char* start = p_;
            while (p_ < end_ && *p_ != ',' && *p_ != '}' && *p_ != ']' && *p_ != ' ' && *p_ != '\t') p_++;
            std::string_view tok(start, p_ - start);
            if (tok != "true" && tok != "false" && tok != "null") {
                try {
                    json::parse(tok, "");
                } catch (const InputError&) {
                    p_ = start;
                    fail("invalid value");
                }
            }
        }
    }

    void member() {
        field_ = {};
        string_into(key_);
        ws();
        expect(':', "expected ':' after a field name");
        ws();
        const FieldDesc* fd = nullptr;
        for (const auto& f : kFields)
            if (f.name == key_) fd = &f;
        if (!fd) {
            const char* start = p_;
            skip_value(0);
            m_.extra.emplace_back(key_, std::string_view(start, static_cast<size_t>(p_ - start)));
            return;
        }
        field_ = fd->name;
        if (m_.seen & fd->bit) fail("field appears twice");
        m_.seen |= fd->bit;
        switch (fd->bit) {
            case F_VER:
                if (p_ < end_ && *p_ == '"') {
                    string_into(m_.ver);
                } else {
                    // As many digits out as in (no leading zeros): fits the arena.
                    std::string digits = std::to_string(uint_value("a version string"));
                    char* w = arena_.cursor();
                    std::memcpy(w, digits.data(), digits.size());  // NOLINT(bugprone-not-null-terminated-result): the
                                                                   // arena holds lengths, not C strings
                    m_.ver = arena_.commit(w + digits.size());
                }
                break;
            case F_HOST: string_into(m_.host); break;
            case F_REC: string_into(m_.rec); break;
            case F_USER: string_into(m_.user); break;
            case F_TERM: string_into(m_.term); break;
            case F_SESSION: m_.session = uint_value("a session id (integer)"); break;
            case F_ID: m_.id = uint_value("a message id (integer)"); break;
            case F_POS: m_.pos = uint_value("a position in ms (integer)"); break;
            case F_TIME: m_.time_ms = time_value(); break;
            case F_TIMING: string_into(m_.timing); break;
            case F_IN_TXT: string_into(m_.in_txt, &m_.in_ascii); break;
            case F_OUT_TXT: string_into(m_.out_txt, &m_.out_ascii); break;
            case F_IN_BIN: bin_into(m_.in_bin); break;
            case F_OUT_BIN: bin_into(m_.out_bin); break;
            case F_END: string_into(m_.end); break;
            case F_MAC: string_into(m_.mac); break;
            case F_MAC_ALG: string_into(m_.mac_alg); break;
            case F_MAC_KEY: string_into(m_.mac_key); break;
            case F_MAC_FIELDS: names_into(m_.mac_fields); break;
        }
    }

    const char* begin_;
    const char* p_;
    const char* end_;
    const Location& base_;
    Msg& m_;
    Arena& arena_;
    std::string_view field_;
    std::string_view key_, scratch_;
};

// Advances over `n` UTF-8 characters of `s` from `pos`. Returns false when
// the text runs out or is not UTF-8.
bool skip_chars(std::string_view s, size_t& pos, uint64_t n) {
    auto p = reinterpret_cast<const uint8_t*>(s.data()) + pos;
    auto end = reinterpret_cast<const uint8_t*>(s.data()) + s.size();
    while (n) {
        // Eight ASCII bytes at a time: the common case of terminal text.
        while (n >= 8 && end - p >= 8) {
            uint64_t high = swar::load8(p) & swar::kHigh;
            size_t k = high ? swar::first_marked(high) : 8;
            p += k;
            n -= k;
            if (k < 8) break;
        }
        if (!n) break;
        if (p >= end) return false;
        if (*p < 0x80) {
            p++;
        } else {
            size_t len = utf8::valid_prefix(p, end);
            if (!len) return false;
            p += len;
        }
        n--;
    }
    pos = static_cast<size_t>(p - reinterpret_cast<const uint8_t*>(s.data()));
    return true;
}

// A text field as the timing takes characters from it. Plain ASCII (known
// from unescaping) is counted in bytes; other text goes through
// skip_chars(), which checks the UTF-8 as it counts, so invalid text fails
// at the same place with the same message as always.
struct TextCursor {
    std::string_view text;
    bool ascii;
    size_t pos = 0;

    bool skip(uint64_t n) {
        if (!ascii) return skip_chars(text, pos, n);
        if (n > text.size() - pos) return false;
        pos += n;
        return true;
    }
};

}  // namespace

std::string Problem::str() const {
    std::string loc = where.str();
    return loc.empty() ? what : loc + ": " + what;
}

const char* IntegrityReport::name(Verdict v) {
    switch (v) {
        case Verdict::Unprotected: return "unprotected";
        case Verdict::Intact: return "intact";
        case Verdict::Incomplete: return "incomplete";
        case Verdict::Broken: return "broken";
        case Verdict::Unverifiable: return "unverifiable";
    }
    return "?";
}

std::string IntegrityReport::label() const {
    std::string s = name(verdict);
    const bool keyed = alg == integrity::alg_name(integrity::Alg::HmacSha256);
    switch (verdict) {
        case Verdict::Intact:
        case Verdict::Incomplete:
            // An unkeyed chain proves the absence of accidents, not of
            // tampering: the verdict says so where it is read.
            s += keyed ? " (keyed, key " + key_id + ")" : " (unkeyed: anyone could have rewritten it)";
            break;
        case Verdict::Unverifiable: s += (wrong_key ? " (wrong key " : " (no key ") + key_id + ")"; break;
        case Verdict::Broken:
        case Verdict::Unprotected: break;
    }
    return s;
}

std::string IntegrityReport::str() const {
    std::string s = label();
    if (verdict == Verdict::Broken) {
        s += " at message " + std::to_string(first_bad_id);
        if (first_bad_line) s += " (line " + std::to_string(first_bad_line) + ")";
        s += ": " + reason;
    } else if (verdict == Verdict::Intact) {
        s += ": " + std::to_string(messages) + " messages, ended: " + end;
    } else if (verdict == Verdict::Incomplete) {
        s += ": " + std::to_string(messages) + " messages, no end marker: still being written, or cut short";
    } else if (verdict == Verdict::Unverifiable) {
        s += wrong_key ? ": " + reason : ": the verifier was given no key of that id (--integrity-key)";
    }
    return s;
}

struct TLOG_LOCAL Decoder::Impl {
    DecodeOptions opts;
    Msg m;
    // Recording state.
    uint64_t count = 0;  // messages accepted
    uint64_t expect_id = 1;
    uint64_t last_pos = 0;  // time of the last event
    bool have_first = false;
    std::string host, rec, user, term;
    uint64_t session = 0;
    bool ended = false;
    bool have_window = false;
    uint16_t width = 0, height = 0;
    // Integrity state.
    bool chained = false;  // the recording carries a chain
    bool unverifiable = false;
    std::unique_ptr<integrity::Chain> chain;
    std::string chain_alg, chain_key;
    integrity::Mac prev{};
    bool prev_known = true;
    IntegrityReport report;

    Arena arena;  // the current line's values (Msg's views)

    explicit Impl(DecodeOptions o) : opts(std::move(o)) {
        if (opts.first_id == 0) opts.first_id = 1;
        expect_id = opts.first_id;
    }

    Location loc(uint64_t line, std::string_view field = {}) const {
        return Location{opts.source, line, 0, std::string(field)};
    }

    // A keyed chain's MAC mismatches before any message verified: held
    // back, because a wrong key file fails every message and is then blamed
    // instead of the recording (finish()); damage fails some messages only.
    struct Mismatch {
        uint64_t id, line;
    };
    std::optional<Mismatch> held_mismatch;
    uint64_t macs_verified = 0, macs_failed = 0;
    static constexpr const char* kMismatch =
        "MAC mismatch: the message was altered, or messages were removed or reordered";

    void flush_held_mismatch(EventSink& sink) {
        if (!held_mismatch) return;
        Mismatch h = *held_mismatch;
        held_mismatch.reset();
        broken(h.id, h.line, kMismatch, sink);
    }

    void broken(uint64_t id, uint64_t line, const std::string& why, EventSink& sink) {
        flush_held_mismatch(sink);  // it came first: any other damage makes it damage too
        if (report.verdict != IntegrityReport::Verdict::Broken) {
            report.verdict = IntegrityReport::Verdict::Broken;
            report.first_bad_id = id;
            report.first_bad_line = line;
            report.reason = why;
        }
        sink.problem(Problem{loc(line, "mac"), "integrity: " + why});
    }

    // Strict: throw. Lax: report and let the caller go on.
    void problem(bool fatal_in_strict, const Location& where, const std::string& what, EventSink& sink) {
        if (!opts.lax && fatal_in_strict) throw InputError(where, what);
        sink.problem(Problem{where, what});
    }

    void check_integrity(uint64_t line, EventSink& sink) {
        bool has_mac = m.seen & F_MAC;
        // Started mid-recording: the first message's MAC is where the chain
        // is picked up (its predecessor is not here to check it against).
        bool pick_up = count == 0 && m.id == opts.first_id && opts.first_id > 1;
        if (count == 0 && m.id == opts.first_id) {
            chained = has_mac;
            prev = integrity::zero_mac();
            prev_known = true;
        }
        if (!has_mac) {
            if (chained) broken(m.id, line, "message has no MAC while the recording is chained (chain stripped)", sink);
            return;
        }
        if (!chained) {
            chained = true;
            broken(m.id, line, "the chain does not start at message 1", sink);
        }
        auto mac = integrity::from_hex(m.mac);
        if (!mac) {
            broken(m.id, line, "\"mac\" is not 64 hex digits", sink);
            prev_known = false;
            return;
        }
        auto alg = integrity::alg_from_name(m.mac_alg);
        if (!alg) {
            broken(m.id, line, "unknown \"mac_alg\" \"" + std::string(m.mac_alg) + "\"", sink);
            prev = *mac;
            return;
        }
        if (!chain || m.mac_alg != chain_alg || m.mac_key != chain_key) {
            if (chain) broken(m.id, line, "algorithm or key changed inside the recording", sink);
            chain_alg = m.mac_alg;
            chain_key = m.mac_key;
            report.alg = chain_alg;
            report.key_id = *alg == integrity::Alg::HmacSha256 ? chain_key : std::string();
            const integrity::Key* key = nullptr;
            if (*alg == integrity::Alg::HmacSha256) {
                key = opts.keys ? opts.keys->find(m.mac_key) : nullptr;
                if (!key) {
                    unverifiable = true;
                    chain.reset();
                    prev = *mac;
                    return;
                }
            }
            chain = std::make_unique<integrity::Chain>(*alg, key);
        }
        if (!chain) {  // keyed, no key: the chain cannot be checked
            prev = *mac;
            return;
        }
        std::string ext;
        for (const auto& name : m.mac_fields) {
            auto it = std::find_if(m.extra.begin(), m.extra.end(), [&](const auto& e) { return e.first == name; });
            if (it == m.extra.end()) {
                broken(m.id, line, "field \"" + std::string(name) + "\" named in \"mac_fields\" is missing", sink);
                prev = *mac;
                return;
            }
            try {
                integrity::append_ext(ext, name, json::dump(json::parse(it->second, "")));
            } catch (const InputError&) {
                broken(m.id, line, "field \"" + std::string(name) + "\" is not valid JSON", sink);
                prev = *mac;
                return;
            }
        }
        if (pick_up) {
            prev = *mac;
            return;
        }
        if (prev_known) {
            integrity::Fields f{m.host,    m.rec,     m.user,    m.term,    m.session, m.id,
                                m.pos,     m.time_ms, m.timing,  m.in_txt,  m.in_bin,  m.out_txt,
                                m.out_bin, m.end,     m.mac_alg, m.mac_key, ext};
            integrity::Mac want = chain->compute(prev, f);
            if (integrity::equal(want, *mac)) {
                if (macs_verified++ == 0) flush_held_mismatch(sink);
            } else if (chain->alg() == integrity::Alg::HmacSha256 && macs_verified == 0) {
                if (macs_failed++ == 0) held_mismatch = Mismatch{m.id, line};
            } else {
                broken(m.id, line, kMismatch, sink);
            }
        } else {
            broken(m.id, line, "cannot verify after missing messages", sink);
        }
        // Go on from the message's own MAC, so later damage is found too.
        prev = *mac;
        prev_known = true;
    }

    void feed(std::string_view line_text, uint64_t line, EventSink& sink) {
        m.clear();
        try {
            Location base = loc(line);
            LineParser(line_text, base, m, arena).parse();
        } catch (const InputError& e) {
            if (!opts.lax) throw;
            sink.problem(Problem{e.where(), e.message()});
            prev_known = false;
            return;
        }
        if (opts.each_alone) {
            count = 0;
            expect_id = m.id;
            last_pos = 0;
            have_first = false;
            ended = false;
            have_window = false;
            if (m.id == 0) {
                // In order, id 0 is refused as out of order; alone, here.
                problem(true, loc(line, "id"), "message ids start at 1", sink);
                return;
            }
        }
        // Version: tlog reads major version 2 and below.
        {
            unsigned major = 0;
            size_t i = 0;
            while (i < m.ver.size() && m.ver[i] >= '0' && m.ver[i] <= '9') major = major * 10 + (m.ver[i++] - '0');
            if (i == 0 || major > 2 || (i < m.ver.size() && m.ver[i] != '.')) {
                problem(true, loc(line, "ver"),
                        "unsupported format version \"" + std::string(m.ver) + "\" (2.x is read)", sink);
                return;
            }
        }
        if (m.session == 0 || m.session > 0xffffffffu) {
            problem(true, loc(line, "session"), "session id must be 1..4294967295", sink);
            return;
        }
        if (m.pos > kMaxMs) {
            problem(true, loc(line, "pos"), "position out of range", sink);
            return;
        }
        if (ended) problem(true, loc(line, "id"), "message after the end of the recording", sink);
        if (have_first) {
            auto same = [&](std::string_view a, const std::string& b, const char* f) {
                if (a != b)
                    problem(true, loc(line, f),
                            std::string("differs from the recording's first message (\"") + b + "\")", sink);
            };
            same(m.host, host, "host");
            same(m.rec, rec, "rec");
            same(m.user, user, "user");
            same(m.term, term, "term");
            if (m.session != session)
                problem(true, loc(line, "session"), "differs from the recording's first message", sink);
        }
        if (m.id != expect_id) {
            if (m.id < expect_id) {
                problem(
                    true, loc(line, "id"),
                    "message id " + std::to_string(m.id) + " out of order (expected " + std::to_string(expect_id) + ")",
                    sink);
                if (chained) broken(m.id, line, "message out of order", sink);
                return;  // lax: a duplicate or reordered message is not played twice
            }
            problem(true, loc(line, "id"),
                    "messages " + std::to_string(expect_id) + ".." + std::to_string(m.id - 1) + " are missing", sink);
            sink.gap(expect_id, m.id - 1);
            if (chained || (m.seen & F_MAC))
                broken(m.id, line,
                       "messages " + std::to_string(expect_id) + ".." + std::to_string(m.id - 1) + " are missing",
                       sink);
            prev_known = false;
        }
        if (m.pos < last_pos) {
            problem(true, loc(line, "pos"),
                    "position " + std::to_string(m.pos) + " ms goes back before " + std::to_string(last_pos) + " ms",
                    sink);
            m.pos = last_pos;
        }
        if (!opts.each_alone) check_integrity(line, sink);
        if (!have_first) {
            have_first = true;
            host = m.host;
            rec = m.rec;
            user = m.user;
            term = m.term;
            session = m.session;
        }
        expect_id = m.id + 1;
        count++;
        if (!m.end.empty()) {
            ended = true;
            report.end = m.end;
        }

        MessageHeader h;
        h.line = line;
        h.ver = m.ver;
        h.host = m.host;
        h.rec = m.rec;
        h.user = m.user;
        h.term = m.term;
        h.end = m.end;
        h.session = m.session;
        h.id = m.id;
        h.pos = m.pos;
        h.time_ms = m.time_ms;
        h.has_time = m.seen & F_TIME;
        for (const auto& [name, raw] : m.extra) h.extra.emplace_back(name, raw);
        sink.message(h);
        play(line, sink);
    }

    void play(uint64_t line, EventSink& sink) {
        std::string_view t = m.timing;
        size_t i = 0, in_bin = 0, out_bin = 0;
        TextCursor in_txt{m.in_txt, m.in_ascii}, out_txt{m.out_txt, m.out_ascii};
        uint64_t pos = m.pos;
        auto bad = [&](const std::string& what) {
            Location l = loc(line, "timing");
            throw InputError(l, what + " (at timing offset " + std::to_string(i) + ")");
        };
        auto number = [&]() -> uint64_t {
            if (i >= t.size() || t[i] < '0' || t[i] > '9') bad("expected a number");
            uint64_t v = 0;
            while (i < t.size() && t[i] >= '0' && t[i] <= '9') {
                if (v > kMaxMs) bad("number too large");
                v = v * 10 + static_cast<uint64_t>(t[i++] - '0');
            }
            return v;
        };
        try {
            while (i < t.size()) {
                char c = t[i];
                if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
                    i++;
                    continue;
                }
                i++;
                switch (c) {
                    case '+': {
                        uint64_t d = number();
                        pos += d;
                        if (pos > kMaxMs) bad("time out of range");
                        break;
                    }
                    case '=': {
                        uint64_t w = number();
                        if (i >= t.size() || t[i] != 'x') bad("expected 'x' in window record");
                        i++;
                        uint64_t h = number();
                        if (w > 0xffff || h > 0xffff) bad("window size out of range");
                        if (!have_window || w != width || h != height) {
                            have_window = true;
                            width = static_cast<uint16_t>(w);
                            height = static_cast<uint16_t>(h);
                            Event ev{Event::Type::Window, pos, {}, width, height};
                            sink.event(ev);
                        }
                        break;
                    }
                    case '<':
                    case '>': {
                        bool out = c == '>';
                        TextCursor& txt = out ? out_txt : in_txt;
                        uint64_t n = number();
                        size_t start = txt.pos;
                        if (!txt.skip(n))
                            bad(std::string(out ? "out_txt" : "in_txt") + " has fewer characters than the timing uses");
                        if (txt.pos > start) {
                            Event ev{out ? Event::Type::Output : Event::Type::Input, pos,
                                     txt.text.substr(start, txt.pos - start)};
                            sink.event(ev);
                        }
                        break;
                    }
                    case '[':
                    case ']': {
                        bool out = c == ']';
                        TextCursor& txt = out ? out_txt : in_txt;
                        std::string_view bin = out ? m.out_bin : m.in_bin;
                        size_t& bp = out ? out_bin : in_bin;
                        uint64_t n = number();
                        if (i >= t.size() || t[i] != '/') bad("expected '/' in binary record");
                        i++;
                        uint64_t nb = number();
                        for (uint64_t k = 0; k < n; k++) {
                            size_t before = txt.pos;
                            if (!skip_chars(txt.text, txt.pos, 1))
                                bad(std::string(out ? "out_txt" : "in_txt") +
                                    " has fewer replacement characters than the timing uses");
                            if (!opts.lax && txt.text.substr(before, txt.pos - before) != utf8::kReplacement)
                                bad(std::string(out ? "out_txt" : "in_txt") +
                                    " has a character other than U+FFFD where the timing skips invalid bytes");
                        }
                        if (nb > bin.size() - bp)
                            bad(std::string(out ? "out_bin" : "in_bin") + " has fewer bytes than the timing uses");
                        if (nb) {
                            Event ev{out ? Event::Type::Output : Event::Type::Input, pos, bin.substr(bp, nb)};
                            sink.event(ev);
                        }
                        bp += nb;
                        break;
                    }
                    default: i--; bad(std::string("unknown timing record '") + c + "'");
                }
            }
            auto leftover = [&](std::string_view s, size_t used, const char* f, const char* unit) {
                if (used != s.size())
                    throw InputError(loc(line, f), std::to_string(s.size() - used) + " " + unit +
                                                       " left over after the timing is played (lengths do not match)");
            };
            leftover(m.in_txt, in_txt.pos, "in_txt", "bytes of text");
            leftover(m.out_txt, out_txt.pos, "out_txt", "bytes of text");
            leftover(m.in_bin, in_bin, "in_bin", "bytes");
            leftover(m.out_bin, out_bin, "out_bin", "bytes");
        } catch (const InputError& e) {
            last_pos = std::max(last_pos, pos);
            if (!opts.lax) throw;
            sink.problem(Problem{e.where(), e.message()});
            return;
        }
        last_pos = std::max(last_pos, pos);
    }

    const IntegrityReport& finish() {
        report.messages = count;
        report.duration_ms = last_pos;
        using V = IntegrityReport::Verdict;
        if (report.verdict == V::Broken) return report;
        if (held_mismatch) {
            report.verdict = V::Unverifiable;
            report.wrong_key = true;
            report.reason = "key \"" + report.key_id + "\" verifies none of the " + std::to_string(macs_failed) +
                            " messages: the key file is not the one this recording was made with (or every message "
                            "was rewritten)";
        } else if (!chained)
            report.verdict = V::Unprotected;
        else if (unverifiable)
            report.verdict = V::Unverifiable;
        else if (ended)
            report.verdict = V::Intact;
        else
            report.verdict = V::Incomplete;
        return report;
    }
};

Decoder::Decoder(DecodeOptions opts) : impl_(std::make_unique<Impl>(std::move(opts))) {}
Decoder::~Decoder() = default;

void Decoder::feed(std::string_view line, uint64_t line_no, EventSink& sink) { impl_->feed(line, line_no, sink); }
const IntegrityReport& Decoder::finish() { return impl_->finish(); }
const IntegrityReport& Decoder::integrity() const { return impl_->report; }
uint64_t Decoder::messages() const { return impl_->count; }
uint64_t Decoder::next_id() const { return impl_->expect_id; }

bool peek_rec(std::string_view line, std::string& rec) {
    // Inside a JSON string every '"' is escaped, so `"rec":"` can only be the
    // key itself (doc/format.md relies on writers not putting spaces there;
    // lines that do are decoded in full instead).
    static constexpr std::string_view kKey = "\"rec\":\"";
    size_t at = line.find(kKey);
    if (at == std::string_view::npos) return false;
    const char* p = line.data() + at + kKey.size();
    const char* end = line.data() + line.size();
    rec.clear();
    return json::unescape(p, end, rec) == nullptr;
}

namespace {
struct Fd {
    int fd = -1;
    ~Fd() {
        if (fd > 0) ::close(fd);
    }
};
}  // namespace

IntegrityReport decode_file(const std::string& path, const ReadOptions& opts, EventSink& sink) {
    Fd f;
    if (path == "-") {
        f.fd = 0;
    } else {
        f.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (f.fd < 0) throw std::system_error(errno, std::generic_category(), "cannot open " + path);
    }
    DecodeOptions dopts = opts.decode;
    if (dopts.source == "<input>") dopts.source = path == "-" ? "<stdin>" : path;
    Decoder dec(dopts);
    RecordingSelector select(opts.rec);
    try {
        for_each_line(f.fd, [&](std::string_view line, uint64_t no) {
            if (select.take(line)) dec.feed(line, no, sink);
        });
    } catch (const InputError& e) {
        if (!e.where().file.empty()) throw;
        Location where = e.where();
        where.file = dopts.source;
        throw InputError(where, e.message());
    }
    return dec.finish();
}

}  // namespace tlog
