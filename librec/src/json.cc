#include "tlog/json.h"

#include <strings.h>
#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "tlog/detail/swar.h"
#include "tlog/hex.h"
#include "tlog/utf8.h"

namespace tlog::json {

const char* type_name(Type t) {
    switch (t) {
        case Type::Null: return "null";
        case Type::Bool: return "a boolean";
        case Type::Number: return "a number";
        case Type::String: return "a string";
        case Type::Array: return "an array";
        case Type::Object: return "an object";
    }
    return "?";
}

Value Value::make_bool(bool b) {
    Value v;
    v.type_ = Type::Bool;
    v.bool_ = b;
    return v;
}
Value Value::make_number(std::string text) {
    Value v;
    v.type_ = Type::Number;
    v.str_ = std::move(text);
    return v;
}
Value Value::make_string(std::string s) {
    Value v;
    v.type_ = Type::String;
    v.str_ = std::move(s);
    return v;
}
Value Value::make_array() {
    Value v;
    v.type_ = Type::Array;
    return v;
}
Value Value::make_object() {
    Value v;
    v.type_ = Type::Object;
    return v;
}

std::optional<int64_t> Value::as_int() const {
    if (type_ != Type::Number) return std::nullopt;
    int64_t x = 0;
    auto [ptr, ec] = std::from_chars(str_.data(), str_.data() + str_.size(), x);
    if (ec != std::errc() || ptr != str_.data() + str_.size()) return std::nullopt;
    return x;
}

std::optional<uint64_t> Value::as_uint() const {
    if (type_ != Type::Number) return std::nullopt;
    uint64_t x = 0;
    auto [ptr, ec] = std::from_chars(str_.data(), str_.data() + str_.size(), x);
    if (ec != std::errc() || ptr != str_.data() + str_.size()) return std::nullopt;
    return x;
}

std::optional<double> Value::as_double() const {
    if (type_ != Type::Number) return std::nullopt;
    errno = 0;
    char* endp = nullptr;
    double d = std::strtod(str_.c_str(), &endp);
    if (errno != 0 || endp != str_.c_str() + str_.size() || !std::isfinite(d)) return std::nullopt;
    return d;
}

const Value* Value::find(std::string_view key) const {
    for (const auto& m : members_)
        if (m.first == key) return &m.second;
    return nullptr;
}

Value* Value::find(std::string_view key) {
    for (auto& m : members_)
        if (m.first == key) return &m.second;
    return nullptr;
}

Value& Value::set(const std::string& key, Value v) {
    if (Value* old = find(key)) {
        *old = std::move(v);
        return *old;
    }
    members_.emplace_back(key, std::move(v));
    return members_.back().second;
}

// ---------------------------------------------------------------- escaping

namespace {

// 1: copied as is; 2: two-character escape; 6: \u00xx.
struct EscapeTable {
    uint8_t len[256];
    char short_esc[256];
    constexpr EscapeTable() : len(), short_esc() {
        for (int i = 0; i < 256; i++) {
            len[i] = (i < 0x20 || i == 0x7f) ? 6 : 1;
            short_esc[i] = 0;
        }
        const char pairs[][2] = {{'"', '"'},  {'\\', '\\'}, {'\b', 'b'}, {'\f', 'f'},
                                 {'\n', 'n'}, {'\r', 'r'},  {'\t', 't'}};
        for (auto& p : pairs) {
            len[static_cast<uint8_t>(p[0])] = 2;
            short_esc[static_cast<uint8_t>(p[0])] = p[1];
        }
    }
};
constexpr EscapeTable kEsc;

}  // namespace

size_t escaped_length(std::string_view raw) {
    size_t n = 0;
    for (unsigned char c : raw) n += kEsc.len[c];
    return n;
}

void append_escape(std::string& out, unsigned char c) {
    static const char hex[] = "0123456789abcdef";
    if (kEsc.short_esc[c]) {
        char e[2] = {'\\', kEsc.short_esc[c]};
        out.append(e, 2);
    } else {
        char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
        out.append(e, 6);
    }
}

void append_escaped(std::string& out, std::string_view raw) {
    const char* p = raw.data();
    const char* end = p + raw.size();
    while (p < end) {
        const char* run = p;
        for (;;) {
            while (end - p >= 8 && swar::all_json_plain(swar::load8(p))) p += 8;
            if (p < end && kEsc.len[static_cast<unsigned char>(*p)] == 1) {
                p++;
                continue;
            }
            break;
        }
        out.append(run, p - run);
        if (p == end) break;
        append_escape(out, static_cast<unsigned char>(*p++));
    }
}

std::string quote(std::string_view raw) {
    std::string s;
    s.reserve(raw.size() + 2);
    s.push_back('"');
    append_escaped(s, raw);
    s.push_back('"');
    return s;
}

// Hex digit values by byte, -1 for the others: a \u escape is four lookups
// and one test (terminal output has one every few bytes).
constexpr auto kHexValue = [] {
    std::array<int8_t, 256> t{};
    for (int c = 0; c < 256; c++)
        t[static_cast<size_t>(c)] = static_cast<int8_t>(hex::digit_value(static_cast<char>(c)));
    return t;
}();

[[gnu::always_inline]] static inline bool read_hex4(const char*& p, const char* end, uint32_t& v) {
    if (end - p < 4) return false;
    auto d = [&](int i) { return kHexValue[static_cast<unsigned char>(p[i])]; };
    int a = d(0), b = d(1), c = d(2), e = d(3);  // NOLINT(bugprone-signed-char-misuse): -1 marks a non-hex byte
    if ((a | b | c | e) < 0) return false;
    v = static_cast<uint32_t>(a << 12 | b << 8 | c << 4 | e);
    p += 4;
    return true;
}

// Copies the run of bytes a JSON string holds as they are, up to the next
// '"', '\\' or control byte or until fewer than eight bytes are left: 16
// bytes at a time where the CPU has SSE2 (every x86-64), else eight. It
// writes past the run (the room is at least as long as the rest of the
// input), and ORs the bytes copied into `seen`, so whether the text is
// plain ASCII is known without another pass.
static inline void copy_plain(const char*& p, const char* end, char*& w, uint64_t& seen) {
#ifdef __SSE2__
    while (end - p >= 16) {
        __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(w), v);
        __m128i ctl = _mm_cmpeq_epi8(_mm_max_epu8(v, _mm_set1_epi8(0x1f)), _mm_set1_epi8(0x1f));
        __m128i quote = _mm_cmpeq_epi8(v, _mm_set1_epi8('"'));
        __m128i bs = _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'));
        auto m = static_cast<unsigned>(_mm_movemask_epi8(_mm_or_si128(ctl, _mm_or_si128(quote, bs))));
        auto high = static_cast<unsigned>(_mm_movemask_epi8(v));
        unsigned k = m ? static_cast<unsigned>(__builtin_ctz(m)) : 16;
        // Without a branch: non-ASCII bytes come at random in mixed text.
        seen |= uint64_t((high & ((1u << k) - 1)) != 0) << 7;
        p += k;
        w += k;
        if (m) return;
    }
#endif
    while (end - p >= 8) {
        uint64_t v = swar::load8(p);
        std::memcpy(w, &v, 8);
        uint64_t m = swar::json_special_mask(v);
        size_t k = m ? swar::first_marked(m) : 8;
        // The bytes before the first special one (and the low bits of that
        // one, which the test of the high bits ignores); all when none is.
        seen |= v & ((m & (0 - m)) - 1);
        p += k;
        w += k;
        if (m) return;
    }
}

const char* unescape_into(const char*& p, const char* end, char*& out, bool* ascii) {
    char* w = out;
    uint64_t seen = 0;
    auto finish = [&](const char* err) {
        out = w;
        if (ascii) *ascii = !(seen & swar::kHigh);
        return err;
    };
    for (;;) {
        copy_plain(p, end, w, seen);
        if (p >= end) return finish("unterminated string");
        char c = *p++;
        if (c != '"' && c != '\\' && static_cast<unsigned char>(c) >= 0x20) {
            seen |= static_cast<unsigned char>(c);
            *w++ = c;
            continue;
        }
        if (c == '"') return finish(nullptr);
        if (c != '\\') return finish("unescaped control character in string");
        if (p >= end) return finish("unterminated escape");
        switch (*p++) {
            case '"': *w++ = '"'; break;
            case '\\': *w++ = '\\'; break;
            case '/': *w++ = '/'; break;
            case 'b': *w++ = '\b'; break;
            case 'f': *w++ = '\f'; break;
            case 'n': *w++ = '\n'; break;
            case 'r': *w++ = '\r'; break;
            case 't': *w++ = '\t'; break;
            case 'u': {
                uint32_t cp;
                if (!read_hex4(p, end, cp)) return finish("bad \\u escape");
                if (cp >= 0xd800 && cp <= 0xdbff) {
                    uint32_t lo;
                    if (end - p < 2 || p[0] != '\\' || p[1] != 'u') return finish("unpaired surrogate in \\u escape");
                    p += 2;
                    if (!read_hex4(p, end, lo) || lo < 0xdc00 || lo > 0xdfff)
                        return finish("unpaired surrogate in \\u escape");
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                } else if (cp >= 0xdc00 && cp <= 0xdfff) {
                    return finish("unpaired surrogate in \\u escape");
                }
                if (cp < 0x80) {
                    *w++ = static_cast<char>(cp);  // terminal output: \u001b and the other controls
                } else {
                    seen |= 0x80;
                    w += utf8::encode(cp, w);  // at most 4 bytes out for at least 6 in
                }
                break;
            }
            default: return finish("unknown escape");
        }
    }
}

const char* unescape(const char*& p, const char* end, std::string& out) {
    // Unescaped text is never longer than its escaped form, which ends at
    // the first quote not escaped (after an even run of backslashes): room
    // for that, and for the 16 bytes copy_plain may store past it, made
    // once. Room for all the text left (a whole document) made for each
    // string made a parse quadratic: an object of 4,000 strings in 100 KB
    // cleared 200 MB.
    const char* q = p;
    while ((q = static_cast<const char*>(std::memchr(q, '"', static_cast<size_t>(end - q)))) != nullptr) {
        const char* b = q;
        while (b > p && b[-1] == '\\') --b;
        if ((q - b) % 2 == 0) break;
        ++q;
    }
    const auto left = static_cast<size_t>(end - p);
    size_t base = out.size();
    out.resize(base + (q == nullptr ? left : std::min(left, static_cast<size_t>(q - p) + 16)));
    char* w = out.data() + base;
    const char* err = unescape_into(p, end, w, nullptr);
    out.resize(static_cast<size_t>(w - out.data()));
    return err;
}

// ---------------------------------------------------------------- parser

namespace {

class Parser {
public:
    Parser(std::string_view text, const std::string& source, const ParseOptions& opts)
        : begin_(text.data()), p_(text.data()), end_(text.data() + text.size()), source_(source), opts_(opts) {}

    Value parse_document() {
        skip_ws();
        Value v = parse_value(0);
        skip_ws();
        if (p_ != end_) fail("unexpected text after the JSON value");
        return v;
    }

private:
    [[noreturn]] void fail(const std::string& msg, const char* at = nullptr) {
        if (!at) at = p_;
        Location loc{source_, 1, 1, ""};
        for (const char* q = begin_; q < at && q < end_; q++) {
            if (*q == '\n') {
                loc.line++;
                loc.column = 1;
            } else
                loc.column++;
        }
        throw InputError(loc, msg);
    }

    // Value starts are visited in increasing order, so line counting is incremental.
    std::pair<uint64_t, uint64_t> position_of(const char* at) {
        for (; mark_pos_ < at; mark_pos_++) {
            if (*mark_pos_ == '\n') {
                mark_line_++;
                mark_col_ = 1;
            } else
                mark_col_++;
        }
        return {mark_line_, mark_col_};
    }

    void skip_ws() {
        for (;;) {
            while (p_ < end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r')) p_++;
            if (opts_.allow_comments && p_ + 1 < end_ && *p_ == '/') {
                if (p_[1] == '/') {
                    while (p_ < end_ && *p_ != '\n') p_++;
                    continue;
                }
                if (p_[1] == '*') {
                    const char* start = p_;
                    p_ += 2;
                    while (p_ + 1 < end_ && !(p_[0] == '*' && p_[1] == '/')) p_++;
                    if (p_ + 1 >= end_) fail("unterminated comment", start);
                    p_ += 2;
                    continue;
                }
            }
            return;
        }
    }

    bool literal(const char* word) {
        size_t n = std::strlen(word);
        if (static_cast<size_t>(end_ - p_) < n) return false;
        bool same = opts_.allow_any_case_literals ? strncasecmp(p_, word, n) == 0 : std::memcmp(p_, word, n) == 0;
        if (same) p_ += n;
        return same;
    }

    // json-c reads NaN and Infinity where a value may be; no setting takes
    // them, so they are named rather than called an unexpected character.
    [[noreturn]] void fail_non_finite() {
        for (const char* word : {"nan", "infinity", "-infinity"})
            if (static_cast<size_t>(end_ - p_) >= std::strlen(word) && strncasecmp(p_, word, std::strlen(word)) == 0)
                fail("NaN and Infinity are not accepted: no setting takes a number that is not finite");
        fail(std::string("unexpected character '") + *p_ + "'");
    }

    Value parse_value(size_t depth) {
        if (depth > opts_.max_depth) fail("nesting too deep");
        if (p_ >= end_) fail("unexpected end of text, expected a value");
        auto [line, column] = position_of(p_);
        Value v;
        char c = *p_;
        if (opts_.allow_any_case_literals && c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        switch (c) {
            case '{': v = parse_object(depth); break;
            case '[': v = parse_array(depth); break;
            case '"': v = Value::make_string(parse_string()); break;
            case '\'':
                if (!opts_.allow_single_quotes) fail("unexpected character '\\''");
                v = Value::make_string(parse_string());
                break;
            case 't':
                if (!literal("true")) fail("invalid literal");
                v = Value::make_bool(true);
                break;
            case 'f':
                if (!literal("false")) fail("invalid literal");
                v = Value::make_bool(false);
                break;
            case 'n':
                if (!literal("null")) {
                    if (opts_.allow_any_case_literals) fail_non_finite();
                    fail("invalid literal");
                }
                break;
            default:
                if (opts_.allow_loose_numbers && *p_ == '-' && p_ + 1 < end_ && (p_[1] == 'i' || p_[1] == 'I'))
                    fail_non_finite();
                if (*p_ == '-' || (*p_ >= '0' && *p_ <= '9'))
                    v = opts_.allow_loose_numbers ? parse_loose_number() : parse_number();
                else if (opts_.allow_any_case_literals && c == 'i')
                    fail_non_finite();
                else
                    fail(std::string("unexpected character '") + *p_ + "'");
        }
        v.line = line;
        v.column = column;
        return v;
    }

    std::string parse_string() {
        const char* start = p_;
        if (*p_ == '\'' || opts_.allow_raw_control_chars) return parse_lenient_string();
        p_++;  // opening quote
        std::string s;
        if (const char* err = unescape(p_, end_, s)) fail(err, p_ > start ? p_ - 1 : start);
        if (!utf8::is_valid(s)) fail("string is not valid UTF-8", start);
        return s;
    }

    // A string as json-c reads it in a configuration: quoted with ' or ",
    // raw control characters allowed. It is rewritten as the strict literal
    // it stands for and unescaped by the one decoder, so escapes mean the
    // same in both modes (a \' in a '-quoted string is refused, as json-c does).
    std::string parse_lenient_string() {
        const char* start = p_;
        const char quote_char = *p_++;
        std::string strict = "\"";
        std::vector<const char*> origin;  // where each byte of `strict` came from, for errors
        origin.push_back(start);
        for (;;) {
            if (p_ >= end_) fail("unterminated string", start);
            const char c = *p_;
            if (c == quote_char) break;
            if (c == '\\') {
                strict.push_back(c);
                origin.push_back(p_++);
                if (p_ >= end_) fail("unterminated escape", p_ - 1);
                strict.push_back(*p_);
                origin.push_back(p_++);
                continue;
            }
            const auto u = static_cast<unsigned char>(c);
            if (u == 0) fail("NUL byte in string");
            if (c == '"' || (u < 0x20 && opts_.allow_raw_control_chars)) {
                const size_t before = strict.size();
                append_escape(strict, u);
                origin.insert(origin.end(), strict.size() - before, p_);
            } else if (u < 0x20) {
                fail("unescaped control character in string");
            } else {
                strict.push_back(c);
                origin.push_back(p_);
            }
            p_++;
        }
        strict.push_back('"');
        origin.push_back(p_++);
        const char* q = strict.data() + 1;
        std::string s;
        if (const char* err = unescape(q, strict.data() + strict.size(), s)) {
            const auto at = static_cast<size_t>(q - strict.data());
            fail(err, origin[at > 0 ? at - 1 : 0]);
        }
        if (!utf8::is_valid(s)) fail("string is not valid UTF-8", start);
        return s;
    }

    Value parse_number() {
        const char* start = p_;
        if (*p_ == '-') p_++;
        if (p_ >= end_) fail("bad number", start);
        if (*p_ == '0')
            p_++;
        else if (*p_ >= '1' && *p_ <= '9')
            while (p_ < end_ && *p_ >= '0' && *p_ <= '9') p_++;
        else
            fail("bad number", start);
        if (p_ < end_ && *p_ == '.') {
            p_++;
            if (p_ >= end_ || !(*p_ >= '0' && *p_ <= '9')) fail("bad number", start);
            while (p_ < end_ && *p_ >= '0' && *p_ <= '9') p_++;
        }
        if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
            p_++;
            if (p_ < end_ && (*p_ == '+' || *p_ == '-')) p_++;
            if (p_ >= end_ || !(*p_ >= '0' && *p_ <= '9')) fail("bad number", start);
            while (p_ < end_ && *p_ >= '0' && *p_ <= '9') p_++;
        }
        return Value::make_number(std::string(start, p_));
    }

    // A number as json-c reads it: leading zeros (007 is 7), a fraction
    // point with no digits (1.), an exponent with no digits (1e, 1e+: no
    // exponent). Its text is rewritten as the strict number it stands for.
    Value parse_loose_number() {
        const char* start = p_;
        std::string text;
        if (*p_ == '-') text.push_back(*p_++);
        auto digits = [&]() {
            const char* d = p_;
            while (p_ < end_ && *p_ >= '0' && *p_ <= '9') p_++;
            return std::string(d, p_);
        };
        std::string integer = digits();
        if (integer.empty()) fail("bad number", start);
        integer.erase(0, std::min(integer.find_first_not_of('0'), integer.size() - 1));
        text += integer;
        if (p_ < end_ && *p_ == '.') {
            p_++;
            if (std::string fraction = digits(); !fraction.empty()) text += "." + fraction;
        }
        if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
            p_++;
            std::string sign;
            if (p_ < end_ && (*p_ == '+' || *p_ == '-')) sign = *p_++;
            if (std::string exponent = digits(); !exponent.empty()) text += "e" + sign + exponent;
        }
        if (p_ < end_ && (*p_ == '.' || *p_ == 'e' || *p_ == 'E' || *p_ == '+' || *p_ == '-'))
            fail("bad number", start);
        return Value::make_number(std::move(text));
    }

    Value parse_array(size_t depth) {
        p_++;
        Value v = Value::make_array();
        skip_ws();
        if (p_ < end_ && *p_ == ']') {
            p_++;
            return v;
        }
        for (;;) {
            skip_ws();
            v.items().push_back(parse_value(depth + 1));
            skip_ws();
            if (p_ < end_ && *p_ == ',') {
                p_++;
                skip_ws();
                if (opts_.allow_trailing_commas && p_ < end_ && *p_ == ']') {
                    p_++;
                    return v;
                }
                continue;
            }
            if (p_ < end_ && *p_ == ']') {
                p_++;
                return v;
            }
            fail("expected ',' or ']' in array");
        }
    }

    Value parse_object(size_t depth) {
        p_++;
        Value v = Value::make_object();
        skip_ws();
        if (p_ < end_ && *p_ == '}') {
            p_++;
            return v;
        }
        for (;;) {
            skip_ws();
            if (p_ >= end_ || !(*p_ == '"' || (*p_ == '\'' && opts_.allow_single_quotes)))
                fail("expected a quoted key in object");
            const char* key_at = p_;
            std::string key = parse_string();
            if (!opts_.allow_duplicate_keys && v.find(key)) fail("duplicate key \"" + key + "\"", key_at);
            skip_ws();
            if (p_ >= end_ || *p_ != ':') fail("expected ':' after key \"" + key + "\"");
            p_++;
            skip_ws();
            Value member = parse_value(depth + 1);
            v.members().emplace_back(std::move(key), std::move(member));
            skip_ws();
            if (p_ < end_ && *p_ == ',') {
                p_++;
                skip_ws();
                if (opts_.allow_trailing_commas && p_ < end_ && *p_ == '}') {
                    p_++;
                    return v;
                }
                continue;
            }
            if (p_ < end_ && *p_ == '}') {
                p_++;
                return v;
            }
            fail("expected ',' or '}' in object");
        }
    }

    const char* begin_;
    const char* p_;
    const char* end_;
    const std::string& source_;
    const ParseOptions& opts_;
    const char* mark_pos_ = begin_;
    uint64_t mark_line_ = 1, mark_col_ = 1;
};

void dump_to(std::string& out, const Value& v, bool pretty, int indent) {
    auto nl = [&](int ind) {
        if (!pretty) return;
        out.push_back('\n');
        out.append(static_cast<size_t>(ind) * 2, ' ');
    };
    switch (v.type()) {
        case Type::Null: out += "null"; break;
        case Type::Bool: out += v.as_bool() ? "true" : "false"; break;
        case Type::Number: out += v.number_text(); break;
        case Type::String:
            out.push_back('"');
            append_escaped(out, v.as_string());
            out.push_back('"');
            break;
        case Type::Array: {
            out.push_back('[');
            bool first = true;
            for (const auto& item : v.items()) {
                if (!first) out.push_back(',');
                first = false;
                nl(indent + 1);
                dump_to(out, item, pretty, indent + 1);
            }
            if (!v.items().empty()) nl(indent);
            out.push_back(']');
            break;
        }
        case Type::Object: {
            out.push_back('{');
            bool first = true;
            for (const auto& [k, item] : v.members()) {
                if (!first) out.push_back(',');
                first = false;
                nl(indent + 1);
                out.push_back('"');
                append_escaped(out, k);
                out += pretty ? "\": " : "\":";
                dump_to(out, item, pretty, indent + 1);
            }
            if (!v.members().empty()) nl(indent);
            out.push_back('}');
            break;
        }
    }
}

}  // namespace

ParseOptions ParseOptions::tlog_configuration() {
    ParseOptions o;
    o.allow_comments = true;
    o.allow_trailing_commas = true;
    o.allow_single_quotes = true;
    o.allow_any_case_literals = true;
    o.allow_raw_control_chars = true;
    o.allow_loose_numbers = true;
    return o;
}

Value parse(std::string_view text, const std::string& source, const ParseOptions& opts) {
    Parser p(text, source, opts);
    return p.parse_document();
}

std::string dump(const Value& v, bool pretty) {
    std::string out;
    dump_to(out, v, pretty, 0);
    return out;
}

}  // namespace tlog::json
