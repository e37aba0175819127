// The one JSON implementation of the suite: a small DOM for configuration and
// rule texts (with optional comments), and the string primitives the message
// codec uses on its hot path. Why not a library: doc/dependencies.md.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tlog/api.h"
#include "tlog/error.h"

namespace tlog::json {

enum class Type { Null, Bool, Number, String, Array, Object };
TLOG_API const char* type_name(Type t);

// A parsed JSON value that remembers where it was in the text, so that a
// configuration error can name the line of the offending key.
class TLOG_API Value {
public:
    using Member = std::pair<std::string, Value>;

    Value() = default;
    static Value make_null() { return Value(); }
    static Value make_bool(bool b);
    static Value make_number(std::string text);  // the number's JSON text
    static Value make_uint(uint64_t n) { return make_number(std::to_string(n)); }
    static Value make_string(std::string s);
    static Value make_array();
    static Value make_object();

    Type type() const { return type_; }
    bool is_null() const { return type_ == Type::Null; }
    bool is_bool() const { return type_ == Type::Bool; }
    bool is_number() const { return type_ == Type::Number; }
    bool is_string() const { return type_ == Type::String; }
    bool is_array() const { return type_ == Type::Array; }
    bool is_object() const { return type_ == Type::Object; }

    bool as_bool() const { return bool_; }
    const std::string& as_string() const { return str_; }  // string value, or number text
    const std::string& number_text() const { return str_; }
    // Integer value if the number is an integer in range, else nullopt.
    std::optional<int64_t> as_int() const;
    std::optional<uint64_t> as_uint() const;
    std::optional<double> as_double() const;

    const std::vector<Value>& items() const { return items_; }
    std::vector<Value>& items() { return items_; }
    const std::vector<Member>& members() const { return members_; }
    std::vector<Member>& members() { return members_; }
    const Value* find(std::string_view key) const;
    Value* find(std::string_view key);
    // Sets (replaces or appends) a member of an object.
    Value& set(const std::string& key, Value v);

    uint64_t line = 0;  // where the value starts in the parsed text (1-based, 0 if built)
    uint64_t column = 0;

private:
    Type type_ = Type::Null;
    bool bool_ = false;
    std::string str_;
    std::vector<Value> items_;
    std::vector<Member> members_;
};

struct TLOG_API ParseOptions {
    bool allow_comments = false;  // "//" and "/* */" as tlog's configuration files allow
    bool allow_duplicate_keys = false;
    size_t max_depth = 64;
    // What json-c (tlog's parser, default flags) also accepts and tlog's own
    // files and users rely on; configuration only, recordings stay strict.
    // The table of accepted and refused inputs is tests/librec/test_json_tlog_syntax.cc.
    bool allow_trailing_commas = false;    // {"a": 1,} and [1,]: Debian's tlog-rec.conf ends "},"
    bool allow_single_quotes = false;      // 'text' for strings and keys (no \' escape, as json-c)
    bool allow_any_case_literals = false;  // True, FALSE, Null
    bool allow_raw_control_chars = false;  // a tab or newline typed inside a string
    bool allow_loose_numbers = false;      // 007, 1., 1e, 1e+: read as json-c reads them (7, 1, 1, 1)

    // The syntax of tlog's configuration files and *_CONF_TEXT variables.
    static ParseOptions tlog_configuration();
};

// Parses a whole text holding one JSON value. Throws InputError naming
// `source`, line and column.
TLOG_API Value parse(std::string_view text, const std::string& source, const ParseOptions& opts = {});

// Serializes compactly (or with two-space indentation when pretty).
TLOG_API std::string dump(const Value& v, bool pretty = false);

// --- string primitives shared by the codec ---

// Appends `raw` (UTF-8) escaped for inclusion between JSON quotes, with the
// escapes tlog uses: \" \\ \b \f \n \r \t and \u00xx for other control bytes and DEL.
TLOG_API void append_escaped(std::string& out, std::string_view raw);

// Appends the escape of one byte that JSON strings cannot hold as it is
// (a control byte, DEL, '"' or '\\').
TLOG_API void append_escape(std::string& out, unsigned char c);

// Length `raw` would have once escaped.
TLOG_API size_t escaped_length(std::string_view raw);

// Unescapes a JSON string body. `p` points just past the opening quote; on
// success it points just past the closing quote and the unescaped text is
// appended to `out`. Returns nullptr on success or a static error message.
// Unpaired surrogates are errors: the codec's text fields are valid UTF-8.
TLOG_API const char* unescape(const char*& p, const char* end, std::string& out);

// The same into room the caller provides: at least `end - p` bytes at
// `out` (the decoder unescapes all strings of a message line into one
// buffer as long as the line, so nothing is zero-filled or reallocated).
// `out` is advanced past the text written. When `ascii` is given it tells
// whether the text is plain ASCII, found while copying.
TLOG_API const char* unescape_into(const char*& p, const char* end, char*& out, bool* ascii = nullptr);

// Escapes for a JSON string: the whole quoted literal.
TLOG_API std::string quote(std::string_view raw);

}  // namespace tlog::json
