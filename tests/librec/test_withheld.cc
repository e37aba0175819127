// The withheld-data spans (hidden input, redacted output): the value the
// recorder writes, the parser the player uses, and its errors.
#include "cmocka_cxx.h"

#include <string>

#include "tlog/error.h"
#include "tlog/withheld.h"

namespace {

namespace w = tlog::withheld;

void round_trip(void**) {
    std::vector<w::Span> spans{{5120, 9, w::kEchoOff}, {7000, 1, "pattern"}};
    std::string j = w::to_json(spans);
    assert_str_eq(j, R"([{"pos":5120,"bytes":9,"reason":"echo off"},{"pos":7000,"bytes":1,"reason":"pattern"}])");
    auto back = w::parse(j, "in_hidden");
    assert_int_equal(back.size(), 2);
    assert_int_equal(back[0].pos_ms, 5120);
    assert_int_equal(back[0].bytes, 9);
    assert_str_eq(back[0].reason, "echo off");
    assert_str_eq(w::describe(true, back[0]), "[input hidden: 9 bytes]");
    assert_str_eq(w::describe(false, back[1]), "[output redacted: 1 byte]");
    assert_int_equal(w::parse("[]", "in_hidden").size(), 0);
    // a reader accepts fields it does not know, and a missing reason
    auto extra = w::parse(R"([{"bytes":3,"pos":1,"why":"x"}])", "in_hidden");
    assert_int_equal(extra[0].bytes, 3);
    assert_true(extra[0].reason.empty());
}

// A recording is untrusted: the reason goes to the auditor's terminal.
void hostile_reason_is_printable(void**) {
    auto s = w::parse(R"([{"pos":1,"bytes":2,"reason":"\u001b]0;owned\u0007\u001b[2J caf\u00e9"}])", "in_hidden");
    assert_str_eq(s[0].reason, "?]0;owned??[2J caf??");
    s = w::parse(R"([{"pos":1,"bytes":2,"reason":")" + std::string(1000, 'x') + R"("}])", "in_hidden");
    assert_int_equal(s[0].reason.size(), 64);
}

void errors_name_the_field(void**) {
    for (const char* bad : {"{}", "[1]", R"([{"pos":1}])", R"([{"pos":-1,"bytes":2}])", R"([{"pos":1,"bytes":"9"}])",
                            R"([{"pos":1,"bytes":2,"reason":3}])", "[", R"([{"pos":1.5,"bytes":2}])"}) {
        try {
            w::parse(bad, "in_hidden");
            fail_msg("accepted %s", bad);
        } catch (const tlog::InputError& e) {
            if (std::string(e.what()).find("in_hidden") == std::string::npos)
                fail_msg("error for %s does not name the field: %s", bad, e.what());
        }
    }
}

}  // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip),
        cmocka_unit_test(hostile_reason_is_printable),
        cmocka_unit_test(errors_name_the_field),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
