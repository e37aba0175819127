// The configuration syntax (json::ParseOptions::tlog_configuration()) against
// json-c itself, the parser tlog reads its files with (json_tokener_parse_verbose,
// default flags): each row says what json-c does and what we do, and the test
// asks json-c, so the table cannot drift from the library it describes. Where
// we refuse what json-c accepts, the row says why.
#include <json-c/json.h>

#include <cmath>
#include <memory>
#include <string>

#include "tlog/json.h"

// cmocka last: its fail() macro clashes with the C++ headers.
#include "cmocka_cxx.h"

namespace {

struct Row {
    const char* text;
    bool json_c;      // json-c accepts it
    bool ours;        // tlog_configuration() accepts it
    const char* why;  // when they differ: why we refuse; when we refuse: what our error says
};

constexpr Row kRows[] = {
    // What Debian's own conffiles and tlog's users rely on.
    {"{\"a\": 1,}", true, true, ""},
    {"{\"a\": {\"b\": 1,},\n}", true, true, ""},
    {"[1, 2,]", true, true, ""},
    {"{\"a\": [],}", true, true, ""},
    {"// comment\n{\"a\": 1} // comment", true, true, ""},
    {"/* c */ {\"a\": 1 /* c */, \"b\": 2}", true, true, ""},
    {"{'a': 'b'}", true, true, ""},
    {"{\"a\": 'x\"y'}", true, true, ""},
    {"{\"a\": True, \"b\": FALSE, \"c\": Null}", true, true, ""},
    {"{\"a\": \"x\ny\"}", true, true, ""},
    {"{\"a\": \"\t\"}", true, true, ""},
    {"{\"a\": 007}", true, true, ""},
    {"{\"a\": -01}", true, true, ""},
    {"{\"a\": 1.}", true, true, ""},
    {"{\"a\": 1e}", true, true, ""},
    {"{\"a\": 1e+}", true, true, ""},
    {"{\"a\": 1.e3}", true, true, ""},
    {"{\"a\": 1.5e-}", true, true, ""},
    {"{\"a\": -1.5e-3, \"b\": 1E2, \"c\": -0}", true, true, ""},
    {"{\"a\": \"\\/\\u00e9\\ud83d\\ude00\"}", true, true, ""},
    // Refused by both.
    {"{\"a\": 1,,}", false, false, "expected a quoted key"},
    {"[,]", false, false, "unexpected character ','"},
    {"{,}", false, false, "expected a quoted key"},
    {"[1,,2]", false, false, "unexpected character ','"},
    {"# comment\n{}", false, false, "unexpected character '#'"},
    {"{\"a\": 1 # comment\n}", false, false, "expected ',' or '}'"},
    {"{a: 1}", false, false, "expected a quoted key"},
    {"{\"a\": \"\\x\"}", false, false, "unknown escape"},
    {"{\"a\": 'it\\'s'}", false, false, "unknown escape"},
    {"{\"a\": .5}", false, false, "unexpected character '.'"},
    {"{\"a\": +1}", false, false, "unexpected character '+'"},
    {"{\"a\": 0x10}", false, false, "expected ',' or '}'"},
    {"{\"a\": --1}", false, false, "bad number"},
    {"{\"a\": 1-2}", false, false, "bad number"},
    {"{\"a\": 1.2.3}", false, false, "bad number"},
    {"{\"a\": 1e5e5}", false, false, "bad number"},
    {"{\"a\": tru}", false, false, "invalid literal"},
    {"{\"a\": trueX}", false, false, "expected ',' or '}'"},
    {"{\"a\" 1}", false, false, "expected ':'"},
    {"{\"a\": [1 2]}", false, false, "expected ',' or ']'"},
    {"{\"a\": 1]", false, false, "expected ',' or '}'"},
    {"{\"a\": 1 /c}", false, false, "expected ',' or '}'"},
    {"\xef\xbb\xbf{}", false, false, "unexpected character"},
    {"", false, false, "unexpected end of text"},
    {"  ", false, false, "unexpected end of text"},
    // Accepted by json-c, refused on purpose.
    {"{\"a\": 1, \"a\": 2}", true, false,
     "duplicate key: json-c keeps the last, a reader of the file may see the first"},
    {"{\"a\": 1} x", true, false, "after the JSON value: json-c ignores it, so would a setting written there"},
    {"{\"a\": 1}{\"b\": 2}", true, false, "after the JSON value: a second object would be silently ignored"},
    {"{\"a\": 1}}", true, false, "after the JSON value"},
    {"{\"a\": 1} /* open", true, false, "unterminated comment: what follows may have been meant as settings"},
    {"{\"a\": NaN}", true, false, "NaN and Infinity are not accepted: no setting takes them"},
    {"{\"a\": Infinity}", true, false, "NaN and Infinity are not accepted"},
    {"{\"a\": -Infinity}", true, false, "NaN and Infinity are not accepted"},
    {"{\"a\": \"\xff\"}", true, false, "not valid UTF-8: strings reach recordings and logs, which are UTF-8"},
    {"{\"a\": \"\\ud800\"}", true, false, "surrogate: json-c replaces it with U+FFFD, silently changing the text"},
};

struct JsonCDeleter {
    void operator()(json_object* o) const { json_object_put(o); }
};

// Whether json-c's value and ours are the same JSON value.
bool same(json_object* c, const tlog::json::Value& v) {
    switch (json_object_get_type(c)) {
        case json_type_null: return v.is_null();
        case json_type_boolean: return v.is_bool() && v.as_bool() == (json_object_get_boolean(c) != 0);
        case json_type_int:
        case json_type_double: {
            auto d = v.as_double();
            return v.is_number() && d && *d == json_object_get_double(c);
        }
        case json_type_string:
            return v.is_string() && v.as_string() == std::string(json_object_get_string(c),
                                                                 static_cast<size_t>(json_object_get_string_len(c)));
        case json_type_array: {
            if (!v.is_array() || v.items().size() != json_object_array_length(c)) return false;
            for (size_t i = 0; i < v.items().size(); i++)
                if (!same(json_object_array_get_idx(c, i), v.items()[i])) return false;
            return true;
        }
        case json_type_object: {
            if (!v.is_object() || v.members().size() != static_cast<size_t>(json_object_object_length(c))) return false;
            for (const auto& [key, member] : v.members()) {
                json_object* m = nullptr;
                if (!json_object_object_get_ex(c, key.c_str(), &m) || !same(m, member)) return false;
            }
            return true;
        }
    }
    return false;
}

void test_table_against_json_c(void**) {
    for (const Row& r : kRows) {
        json_tokener_error err = json_tokener_success;
        std::unique_ptr<json_object, JsonCDeleter> c(json_tokener_parse_verbose(r.text, &err));
        const bool c_ok = err == json_tokener_success;
        if (c_ok != r.json_c)
            fail_msg("json-c %s '%s' (%s), the table says it %s", c_ok ? "accepts" : "refuses", r.text,
                     json_tokener_error_desc(err), r.json_c ? "accepts" : "refuses");
        std::string error;
        tlog::json::Value v;
        try {
            v = tlog::json::parse(r.text, "conf", tlog::json::ParseOptions::tlog_configuration());
        } catch (const tlog::InputError& e) {
            error = e.what();
        }
        if (error.empty() != r.ours)
            fail_msg("we %s '%s' (%s), the table says we %s", error.empty() ? "accept" : "refuse", r.text,
                     error.c_str(), r.ours ? "accept" : "refuse");
        if (!r.ours) {
            // The first words of `why` are what our error says.
            std::string why = r.why;
            std::string expect = why.substr(0, why.find(':'));
            if (error.find(expect) == std::string::npos && error.find(why) == std::string::npos)
                fail_msg("our error for '%s' is '%s', expected it to say '%s'", r.text, error.c_str(), expect.c_str());
            if (error.rfind("conf:", 0) != 0) fail_msg("error '%s' does not name the source", error.c_str());
        } else if (!same(c.get(), v)) {
            fail_msg("'%s': json-c reads %s, we read %s", r.text, json_object_to_json_string(c.get()),
                     tlog::json::dump(v).c_str());
        }
    }
}

// The lenient syntax keeps the precise positions of strict errors.
void test_positions(void**) {
    auto error_of = [](const char* text) {
        try {
            tlog::json::parse(text, "/etc/tlog/tlog-rec.conf", tlog::json::ParseOptions::tlog_configuration());
        } catch (const tlog::InputError& e) {
            return std::string(e.what());
        }
        return std::string();
    };
    assert_str_eq(error_of("{\n  'a': 'x\\q',\n}"), "/etc/tlog/tlog-rec.conf:2:11: unknown escape");
    assert_str_eq(error_of("{\n  \"a\": 1,\n  \"a\": 2,\n}"), "/etc/tlog/tlog-rec.conf:3:3: duplicate key \"a\"");
    assert_str_eq(error_of("{\"a\": [1,],\n \"b\": 1.2.3}"), "/etc/tlog/tlog-rec.conf:2:7: bad number");
    assert_str_eq(error_of("{\"a\": 1,\n\n  NaN}"), "/etc/tlog/tlog-rec.conf:3:3: expected a quoted key in object");
    assert_str_eq(error_of("{\"a\":\n  nan}"),
                  "/etc/tlog/tlog-rec.conf:2:3: NaN and Infinity are not accepted: no setting takes a number that "
                  "is not finite");
    // Number texts are rewritten as the strict numbers they stand for.
    auto v = tlog::json::parse("{\"a\": 007, \"b\": 1., \"c\": 1.e3, \"d\": 2e+}", "x",
                               tlog::json::ParseOptions::tlog_configuration());
    assert_str_eq(tlog::json::dump(v), "{\"a\":7,\"b\":1,\"c\":1e3,\"d\":2}");
}

// Recordings stay strict: none of the configuration syntax is accepted by default.
void test_strict_by_default(void**) {
    for (const char* text : {"{\"a\": 1,}", "[1,]", "{'a': 1}", "{\"a\": True}", "{\"a\": \"x\ny\"}", "{\"a\": 01}",
                             "{\"a\": 1.}", "// c\n{}"}) {
        bool refused = false;
        try {
            tlog::json::parse(text, "rec");
        } catch (const tlog::InputError&) {
            refused = true;
        }
        if (!refused) fail_msg("strict parse accepts '%s'", text);
    }
}

}  // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_against_json_c),
        cmocka_unit_test(test_positions),
        cmocka_unit_test(test_strict_by_default),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
