// The JSON module: what configuration files need (comments, positions in
// errors, duplicates refused) and the string primitives of the codec.
#include <string>
#include <vector>

#include "cmocka_cxx.h"
#include "tlog/json.h"
#include "tlog/utf8.h"

using tlog::json::parse;

static std::string error_of(const std::string& text, tlog::json::ParseOptions o = {}) {
    try {
        parse(text, "/etc/tlog/tlog-rec.conf", o);
    } catch (const tlog::InputError& e) {
        return e.what();
    }
    return "";
}

static void test_comments_and_positions(void**) {
    tlog::json::ParseOptions o;
    o.allow_comments = true;
    auto v = parse("// tlog config\n{\n  /* writer */ \"writer\": \"file\",\n  \"limit\": {\"rate\": 16384}\n}\n",
                   "conf", o);
    assert_str_eq(v.find("writer")->as_string(), "file");
    assert_int_equal(v.find("writer")->line, 3);
    const auto* rate = v.find("limit")->find("rate");
    assert_int_equal(rate->as_uint().value(), 16384);
    assert_int_equal(rate->line, 4);
    assert_int_equal(rate->column, 21);
}

static void test_errors(void**) {
    assert_str_eq(error_of("{\n \"a\": 1,\n \"b\" 2}"), "/etc/tlog/tlog-rec.conf:3:6: expected ':' after key \"b\"");
    assert_str_eq(error_of("{\"a\":1,\"a\":2}"), "/etc/tlog/tlog-rec.conf:1:8: duplicate key \"a\"");
    assert_true(error_of("// c\n{}").find(":1:1: unexpected character '/'") != std::string::npos);
    assert_true(error_of("{\"a\": \"\xff\"}").find("not valid UTF-8") != std::string::npos);
    assert_true(error_of("{\"a\": \"\\ud800\"}").find("surrogate") != std::string::npos);
    assert_true(error_of("[1,]").find("unexpected character ']'") != std::string::npos);
    assert_true(error_of("{} x").find("after the JSON value") != std::string::npos);
    assert_true(error_of("01").find("after the JSON value") != std::string::npos);
    tlog::json::ParseOptions o;
    o.allow_comments = true;
    assert_true(error_of("{} /* open", o).find("unterminated comment") != std::string::npos);
}

static void test_roundtrip_and_escapes(void**) {
    std::string raw = "a\"b\\c\b\f\n\r\t\x01\x7f\xe2\x82\xac/";
    std::string q = tlog::json::quote(raw);
    assert_str_eq(q, "\"a\\\"b\\\\c\\b\\f\\n\\r\\t\\u0001\\u007f\xe2\x82\xac/\"");
    assert_int_equal(tlog::json::escaped_length(raw) + 2, q.size());
    auto v = parse(q, "x");
    assert_true(v.as_string() == raw);
    auto u = parse("\"\\ud83d\\ude00\\u00e9\\/\"", "x");
    assert_str_eq(u.as_string(), "\xf0\x9f\x98\x80\xc3\xa9/");
    auto doc = parse("{\"a\":[1,-2.5e3,true,null,\"s\"],\"b\":{}}", "x");
    assert_str_eq(tlog::json::dump(doc), "{\"a\":[1,-2.5e3,true,null,\"s\"],\"b\":{}}");
    assert_false(doc.find("a")->items()[1].as_int().has_value());
    assert_true(doc.find("a")->items()[1].as_double().value() == -2500.0);
}

// Strings of every length up to 40 with escaped quotes, runs of
// backslashes (odd and even) before the closing quote, \u escapes and
// UTF-8, many in one document (each string's room is bounded by its own
// end, not the document's: the bound must hold wherever the string ends
// against the 8- and 16-byte copies); and unescape leaving the text after
// the string alone.
static void test_strings_in_long_documents(void**) {
    const std::vector<std::string> pieces = {"x", "\"", "\\", "\\\\", "\xe2\x82\xac", "\x1b", "\"\\"};
    std::vector<std::string> raws;
    for (size_t len = 0; len <= 40; ++len) {
        for (size_t k = 0; k < pieces.size(); ++k) {
            std::string r;
            while (r.size() < len) r += pieces[(r.size() + k) % pieces.size()];
            raws.push_back(r);
            raws.push_back(r + "\\");
            raws.push_back(r + "\\\\\\");
        }
    }
    std::string doc = "[";
    for (size_t i = 0; i < raws.size(); ++i) doc += (i ? "," : "") + tlog::json::quote(raws[i]);
    doc += ",\"\\ud83d\\ude00\\u005c\"]";
    auto v = parse(doc, "x");
    assert_int_equal(v.items().size(), raws.size() + 1);
    for (size_t i = 0; i < raws.size(); ++i) assert_true(v.items()[i].as_string() == raws[i]);
    assert_str_eq(v.items().back().as_string(), "\xf0\x9f\x98\x80\\");

    const std::string text = "ab\\\"c\\\\\", \"rest\" with \\\" quotes\"";
    const char* p = text.data();
    std::string out = "kept:";
    assert_null(tlog::json::unescape(p, text.data() + text.size(), out));
    assert_str_eq(out, "kept:ab\"c\\");
    assert_str_eq(p, ", \"rest\" with \\\" quotes\"");
    // Unterminated: an error, whatever the text holds.
    const std::string open = "abc\\\"";
    p = open.data();
    assert_non_null(tlog::json::unescape(p, open.data() + open.size(), out));
}

static void test_utf8_rules(void**) {
    using tlog::utf8::is_valid;
    assert_true(is_valid("\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf\xf0\x90\x80\x80\xf4\x8f\xbf\xbf"));
    assert_false(is_valid("\xc0\x80"));          // overlong NUL
    assert_false(is_valid("\xe0\x9f\xbf"));      // overlong 3-byte
    assert_false(is_valid("\xed\xa0\x80"));      // surrogate
    assert_false(is_valid("\xf4\x90\x80\x80"));  // above U+10FFFF
    assert_false(is_valid("\xe2\x82"));          // cut
    assert_false(is_valid("\x80"));
    const uint8_t bad[] = {0xe2, 0x82, 'y'};
    assert_int_equal(tlog::utf8::invalid_length(bad, bad + 3), 2);
}

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_comments_and_positions),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_roundtrip_and_escapes),
        cmocka_unit_test(test_strings_in_long_documents),
        cmocka_unit_test(test_utf8_rules),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
