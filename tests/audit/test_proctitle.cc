// PROCTITLE's interpretation (audit/src/proctitle_text.h) against
// libauparse's own, on every value where libauparse's is defined (ours
// gives the same whatever the bytes libauparse leaves unwritten), and
// without a read past the end where it is not (the value found by the
// fuzzer: "00", hex digits, a byte that is not one, more digits).
#include <random>
#include <string>
#include <vector>

#include "auparse_private.h"
#include "cmocka_cxx.h"
#include "proctitle_text.h"

namespace {

using tlog::audit::libauparse_proctitle;

std::string theirs(const std::string& val) {
    std::string copy = val;  // au_unescape writes into the value (and puts it back)
    const auparse_idata id{0, 0, 0, 0, nullptr, "proctitle", copy.c_str()};
    char* out = auparse_do_interpretation(AUPARSE_TYPE_PROCTITLE, &id, AUPARSE_ESC_RAW);
    std::string s = out != nullptr ? out : "";
    free(out);  // NOLINT(cppcoreguidelines-no-malloc): libauparse's malloc
    return s;
}

bool defined(const std::string& v) { return libauparse_proctitle(v, '\0') == libauparse_proctitle(v, 'X'); }

void test_fixed_values(void**) {
    const std::vector<std::string> values = {"",
                                             "0",
                                             "00",
                                             "0000",
                                             "61",
                                             "616263",
                                             "6162630064656600",
                                             "61626",
                                             "00616263",
                                             "0061zz62",
                                             "(null)",
                                             "(ab)cd",
                                             "(ab)cdefghij",
                                             "(abc",
                                             "\"quoted\"",
                                             "\"unterminated",
                                             "\"\"",
                                             "zz",
                                             "6g",
                                             "2F62696E2F7368002D63",
                                             "2f62696e2f7368002d63",
                                             "00" + std::string(40, '0') + "\xfc\xff" + std::string(60, '0')};
    for (const auto& v : values) {
        if (defined(v)) {
            const std::string want = theirs(v), got = libauparse_proctitle(v);
            if (want != got) fail_msg("proctitle=%s: libauparse '%s', ours '%s'", v.c_str(), want.c_str(), got.c_str());
        }
    }
    // The fuzzer's value: libauparse's result has no end; ours ends.
    const std::string found = "00" + std::string(1260, '0') + "\xfc\xff\xff\xff" + std::string(1640, '0');
    assert_false(defined(found));
    const std::string ours = libauparse_proctitle(found);
    assert_int_equal(ours.size(), found.size() / 2);
    assert_int_equal(ours.find_first_not_of(' '), std::string::npos);  // zeros shown as spaces
}

void test_generated_values(void**) {
    std::mt19937 rng(20261205);
    const std::string alphabet = "0000000123456789abcdefABCDEF\xfc g()\"";
    size_t compared = 0, undefined = 0;
    for (int n = 0; n < 20000; ++n) {
        std::string v = rng() % 3 == 0 ? "00" : "";
        const size_t len = rng() % 48;
        const bool hex_only = rng() % 2 == 0;
        for (size_t i = 0; i < len; ++i)
            v += hex_only ? "0123456789abcdef0000"[rng() % 20] : alphabet[rng() % alphabet.size()];
        if (!defined(v)) {
            ++undefined;
            (void)libauparse_proctitle(v);  // ends within its buffer (ASan would say)
            continue;
        }
        ++compared;
        const std::string want = theirs(v), got = libauparse_proctitle(v);
        if (want != got) fail_msg("proctitle=%s: libauparse '%s', ours '%s'", v.c_str(), want.c_str(), got.c_str());
    }
    // Both kinds came up: the comparison covered much, and the values
    // libauparse gets wrong were met too.
    assert_true(compared > 15000);
    assert_true(undefined > 50);
}

}  // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixed_values),
        cmocka_unit_test(test_generated_values),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
