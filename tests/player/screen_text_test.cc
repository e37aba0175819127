// RowChanges (the rows whose text changed at each rendering: the server's
// index of screen text) against a brute-force reference that renders every
// row at every rendering and compares it with what the same line
// (TermModel::line_id) showed at the previous one. RowChanges renders only
// the rows written since (TermModel::written: a line a scroll only moved
// keeps its text), so every way of changing or moving lines is thrown at
// both: printing (ASCII, wide, combining), erasing, inserting and deleting
// characters and lines, scrolling the screen and a region both ways, the
// alternate screen, window changes, resets, double-width lines, and
// keyframes taken between renderings (RowChanges::save, a snapshot, and a
// second model restored from them going on in step).
#include <cstdio>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "tlog/play/screen_text.h"
#include "tlog/play/snapshot.h"
#include "tlog/play/term_model.h"

#include "cmocka_cxx.h"

using namespace tlog::play;

namespace {

struct Change {
    int row;
    std::string text;
    bool operator==(const Change&) const = default;
};
using Rendering = std::vector<Change>;

// The rule, without dirty or written flags.
class Reference {
public:
    explicit Reference(const TermModel& m) { before_ = all(m); }
    Rendering render(const TermModel& m) {
        Rendering out;
        for (int r = 0; r < m.rows(); r++) {
            std::string text = m.row_text(r);
            auto it = before_.find(m.line_id(r));
            const std::string old = it == before_.end() ? std::string() : it->second;
            if (!text.empty() && text != old) out.push_back({r, text});
        }
        before_ = all(m);
        return out;
    }

private:
    static std::map<uint64_t, std::string> all(const TermModel& m) {
        std::map<uint64_t, std::string> now;
        for (int r = 0; r < m.rows(); r++) now[m.line_id(r)] = m.row_text(r);
        return now;
    }
    std::map<uint64_t, std::string> before_;
};

Rendering render(RowChanges& rc, TermModel& m) {
    Rendering out;
    rc.render(m, [&](int row, const std::string& text) { out.push_back({row, text}); });
    return out;
}

std::string show(const Rendering& r) {
    std::string s;
    for (const auto& c : r) s += "  row " + std::to_string(c.row) + " '" + c.text + "'\n";
    return s.empty() ? "  (nothing)\n" : s;
}

// One piece of output: anything that writes, erases or moves lines.
std::string piece(std::mt19937& rng, int rows, int cols) {
    auto n = [&](int hi) { return std::to_string(1 + rng() % static_cast<unsigned>(hi)); };
    const char* words[] = {
        "$ make -j2", "root:*:0", "ls -l",     "\xe4\xb8\xad\xe6\x96\x87",
        "e\xcc\x81",  "x",        "tab\there", "a long line that wraps around the right margin of the screen"};
    switch (rng() % 30) {
        case 0: return "\r\n";
        case 1: return "\n";
        case 2: return "\x1b[" + n(rows) + ";" + n(cols) + "H";
        case 3: return "\x1b[" + std::to_string(rng() % 3) + "J";
        case 4: return "\x1b[" + std::to_string(rng() % 3) + "K";
        case 5: return "\x1b[" + n(4) + "X";
        case 6: return "\x1b[" + n(4) + "@";
        case 7: return "\x1b[" + n(4) + "P";
        case 8: return "\x1b[" + n(3) + "L";
        case 9: return "\x1b[" + n(3) + "M";
        case 10: return "\x1b[" + n(3) + "S";
        case 11: return "\x1b[" + n(3) + "T";
        case 12: return "\x1bM";  // reverse index: scrolls down at the top
        case 13:
            return "\x1b"
                   "D";  // index
        case 14: return "\x1b[" + n(rows / 2) + ";" + std::to_string(rows / 2 + 1 + rng() % (rows / 2)) + "r";
        case 15: return "\x1b[r";
        case 16: return rng() % 2 ? "\x1b[?1049h" : "\x1b[?1049l";
        case 17: return rng() % 2 ? "\x1b[?47h" : "\x1b[?1047l";
        case 18: return rng() % 2 ? "\x1b[?7l" : "\x1b[?7h";  // autowrap
        case 19: return rng() % 2 ? "\x1b[4h" : "\x1b[4l";    // insert mode
        case 20:
            return "\x1b"
                   "#" +
                   std::to_string(3 + rng() % 4);  // double width / height, single
        case 21:
            return rng() % 20 == 0 ? "\x1b"
                                     "c"
                                   : "\x1b#8";                // reset, alignment test
        case 22: return "x\x1b[" + n(30) + "b";               // REP
        case 23: return rng() % 2 ? "\x1b[?5h" : "\x1b[?5l";  // reverse screen
        case 24: return "\x1b[" + n(rows) + "d\x1b[" + n(cols) + "G";
        case 25: return "\x1b[" + n(rows) + "B\x1b[" + n(rows) + "A";
        case 26: return "\b\b";
        default: return std::string(words[rng() % 8]) + (rng() % 3 ? "" : "\r\n");
    }
}

// `seed` drives the output, the window changes and where renderings and
// keyframes fall.
void run(unsigned seed, int steps) {
    std::mt19937 rng(seed);
    int rows = 4 + static_cast<int>(rng() % 10), cols = 10 + static_cast<int>(rng() % 30);
    TermModel m(static_cast<uint16_t>(rows), static_cast<uint16_t>(cols));
    RowChanges rc;
    rc.reset(m);
    Reference ref(m);
    // A model resumed from a keyframe, going on in step with the first.
    std::unique_ptr<TermModel> resumed;
    RowChanges resumed_rc;
    int renderings = 0, changes = 0;
    for (int i = 0; i < steps; i++) {
        if (rng() % 60 == 0) {
            rows = 3 + static_cast<int>(rng() % 12);
            cols = 8 + static_cast<int>(rng() % 40);
            m.resize(static_cast<uint16_t>(rows), static_cast<uint16_t>(cols));
            if (resumed) resumed->resize(static_cast<uint16_t>(rows), static_cast<uint16_t>(cols));
        }
        std::string out;
        for (unsigned k = 1 + rng() % 4; k > 0; k--) out += piece(rng, rows, cols);
        m.feed(out);
        if (resumed) resumed->feed(out);
        if (rng() % 9 == 0 && m.at_ground()) {
            // A keyframe between renderings, as the indexer takes them.
            std::string saved = rc.save(m);
            Snapshot snap;
            if (!Snapshot::deserialize(m.snapshot().serialize(), snap))
                fail_msg("seed %u: a snapshot does not load", seed);
            resumed = std::make_unique<TermModel>();
            resumed->restore(snap);
            if (!resumed_rc.restore(*resumed, saved))
                fail_msg("seed %u step %d: the saved state does not load", seed, i);
        }
        if (rng() % 3 == 0) continue;  // several pieces in one rendering
        Rendering want = ref.render(m);
        Rendering got = render(rc, m);
        renderings++;
        changes += static_cast<int>(want.size());
        if (got != want)
            fail_msg("seed %u step %d: RowChanges reported\n%sthe reference\n%s", seed, i, show(got).c_str(),
                     show(want).c_str());
        if (resumed) {
            Rendering again = render(resumed_rc, *resumed);
            if (again != want)
                fail_msg("seed %u step %d: resumed from a keyframe, RowChanges reported\n%sthe reference\n%s", seed, i,
                         show(again).c_str(), show(want).c_str());
        }
    }
    // The generator must exercise the rule: many renderings, many changes.
    assert_true(renderings > steps / 2);
    assert_true(changes > steps / 4);
}

void test_random_output_against_reference(void**) {
    for (unsigned seed = 1; seed <= 300; seed++) run(seed, 400);
}

// A shell scrolling at the bottom: each line feed moves every row and
// writes one. Only the new line is reported, and a line rewritten after it
// moved is reported at its new row.
void test_scrolled_lines_keep_their_text(void**) {
    TermModel m(4, 20);
    RowChanges rc;
    rc.reset(m);
    m.feed("one\r\ntwo\r\nthree\r\nfour");
    Rendering r = render(rc, m);
    assert_int_equal(r.size(), 4);
    m.feed("\r\nfive");
    r = render(rc, m);
    assert_int_equal(r.size(), 1);
    assert_true((r[0] == Change{3, "five"}));
    // "three" moved up to row 0 and is rewritten there in the same rendering.
    m.feed("\r\nsix\x1b[1;1Htwo!\x1b[4;4H");
    r = render(rc, m);
    assert_int_equal(r.size(), 2);
    assert_true((r[0] == Change{0, "two!e"}));
    assert_true((r[1] == Change{3, "six"}));
    // Written again with the same text: not a change.
    m.feed("\x1b[2;1Hfour");
    assert_int_equal(render(rc, m).size(), 0);
}

}  // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_output_against_reference),
        cmocka_unit_test(test_scrolled_lines_keep_their_text),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
