// The key parser: the player's commands come only from keys; whatever a
// terminal sends by itself (reports, query answers) is swallowed whole.
#include <string>
#include <vector>

#include "keys.h"

#include "cmocka_cxx.h"

using tlog::play::cli::Binding;
using tlog::play::cli::Command;
using tlog::play::cli::Key;
using tlog::play::cli::KeyParser;

namespace {

std::vector<Key> parse(const std::vector<std::string>& chunks) {
    KeyParser p;
    std::vector<Key> out;
    for (const auto& c : chunks) p.feed(c, out);
    return out;
}

void test_plain_keys(void**) {
    auto k = parse({"q p}{.G/5\x7f\r"});
    assert_int_equal(k.size(), 11);
    assert_int_equal(k[0].ch, 'q');
    assert_int_equal(k[1].ch, ' ');
    assert_int_equal(k[9].type, Key::Type::Backspace);
    assert_int_equal(k[10].type, Key::Type::Enter);
}

void test_arrows(void**) {
    auto k = parse({"\x1b[D\x1b[C\x1b[1;2D\x1b[1;2C\x1bOA\x1b[5~"});
    assert_int_equal(k.size(), 6);
    assert_int_equal(k[0].type, Key::Type::Left);
    assert_int_equal(k[1].type, Key::Type::Right);
    assert_int_equal(k[2].type, Key::Type::ShiftLeft);
    assert_int_equal(k[3].type, Key::Type::ShiftRight);
    assert_int_equal(k[4].type, Key::Type::Up);
    assert_int_equal(k[5].type, Key::Type::PageUp);
}

void test_split_sequence(void**) {
    auto k = parse({"\x1b", "[", "1;2", "C", "q"});
    assert_int_equal(k.size(), 2);
    assert_int_equal(k[0].type, Key::Type::ShiftRight);
    assert_int_equal(k[1].ch, 'q');
}

void test_answers_are_not_keys(void**) {
    // DSR cursor report, DA1/DA2, DECRQSS answer, OSC 52 clipboard and
    // title reports, colour query answers: letters inside them (q, p, G,
    // digits) must never act.
    const char* answers[] = {
        "\x1b[12;40R",
        "\x1b[?64;1;2;6;9;15;18;21;22c",
        "\x1b[>41;354;0c",
        "\x1bP1$r0;1m\x1b\\",
        "\x1bP1$r2 q\x1b\\",
        "\x1b]52;c;cXVpdCBwbGVhc2U=\x07",
        "\x1b]l evil title q\x1b\\",
        "\x1b]11;rgb:0000/0000/0000\x07",
        "\x1b[8;24;80t",
    };
    for (const char* a : answers) {
        auto k = parse({a});
        if (!k.empty()) fail_msg("answer %s gave %zu keys", a + 1, k.size());
        // Cut anywhere, too.
        std::string s = a;
        for (size_t cut = 1; cut < s.size(); cut++) {
            auto k2 = parse({s.substr(0, cut), s.substr(cut)});
            if (!k2.empty()) fail_msg("answer %s cut at %zu gave keys", a + 1, cut);
        }
    }
}

void test_lone_escape(void**) {
    KeyParser p;
    std::vector<Key> out;
    p.feed("\x1b", out);
    assert_true(out.empty());
    assert_true(p.pending());
    p.timeout(out);
    assert_int_equal(out.size(), 1);
    assert_int_equal(out[0].type, Key::Type::Escape);
    // An unfinished answer is not released as keys by a timeout.
    out.clear();
    p.feed("\x1b]52;c;cXVp", out);
    p.timeout(out);
    assert_true(out.empty());
    p.feed("dA==\x07q", out);
    assert_int_equal(out.size(), 1);
    assert_int_equal(out[0].ch, 'q');
}

void test_function_and_ctrl_keys(void**) {
    auto k = parse({"\x1bOP\x1b[11~\x1b[1;5D\x1b[1;5C\x1b[1;5A\x1b[1;5B\x1b[P"});
    assert_int_equal(k.size(), 6);  // ESC [ P is no key
    assert_int_equal(k[0].type, Key::Type::F1);
    assert_int_equal(k[1].type, Key::Type::F1);
    assert_int_equal(k[2].type, Key::Type::CtrlLeft);
    assert_int_equal(k[3].type, Key::Type::CtrlRight);
    assert_int_equal(k[4].type, Key::Type::CtrlUp);
    assert_int_equal(k[5].type, Key::Type::CtrlDown);
}

// The table: one command per key and place, every command described, and
// the help fits a 24x80 terminal with its closing lines.
void test_binding_table(void**) {
    using W = Binding::Where;
    auto cmd = [](Key::Type t, char c, W w) { return tlog::play::cli::command_for(Key{t, c}, w); };
    assert_true(cmd(Key::Type::Char, 'h', W::Player) == Command::Help);
    assert_true(cmd(Key::Type::F1, 0, W::Player) == Command::Help);
    assert_true(cmd(Key::Type::Char, '7', W::Player) == Command::Percent);
    assert_true(cmd(Key::Type::Char, 'H', W::Player) == Command::PanLeft);
    assert_true(cmd(Key::Type::Char, 'q', W::Player) == Command::Quit);
    assert_true(cmd(Key::Type::Char, 9, W::Prompt) == Command::PromptIgnoreCase);
    assert_true(cmd(Key::Type::Char, 6, W::Prompt) == Command::PromptFixed);
    assert_false(cmd(Key::Type::Char, 'q', W::Prompt).has_value());  // typed into the pattern
    assert_false(cmd(Key::Type::Char, 'x', W::Player).has_value());
    auto all = tlog::play::cli::bindings();
    for (size_t i = 0; i < all.size(); i++)
        for (size_t j = i + 1; j < all.size(); j++) {
            const Binding &a = all[i], &b = all[j];
            bool overlap =
                a.where == b.where && a.type == b.type && (a.type != Key::Type::Char || (a.lo <= b.hi && b.lo <= a.hi));
            if (overlap) fail_msg("bindings %zu and %zu take the same key", i, j);
        }
    auto help = tlog::play::cli::help_lines();
    assert_true(help.size() <= 22);
    for (const auto& l : help) {
        assert_true(l.size() <= 80);
        assert_true(!l.empty() && l.back() != ' ');  // every line says something, no key without a description
    }
}

}  // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_keys),     cmocka_unit_test(test_arrows),
        cmocka_unit_test(test_split_sequence), cmocka_unit_test(test_answers_are_not_keys),
        cmocka_unit_test(test_lone_escape),    cmocka_unit_test(test_function_and_ctrl_keys),
        cmocka_unit_test(test_binding_table),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
