#include "tlog/play/screen_search.h"

#include <stdexcept>
#include <unordered_set>
#include <vector>

namespace tlog::play {

Regex::Regex(const std::string& pattern, bool icase) {
    int rc = regcomp(&re_, pattern.c_str(), REG_EXTENDED | REG_NOSUB | (icase ? REG_ICASE : 0));
    if (rc != 0) {
        char buf[256];
        regerror(rc, &re_, buf, sizeof buf);
        throw std::invalid_argument("bad regular expression '" + pattern + "': " + buf);
    }
}

Regex::~Regex() { regfree(&re_); }

bool Regex::search(const std::string& text) const { return regexec(&re_, text.c_str(), 0, nullptr, 0) == 0; }

uint64_t search_screen(Playback& pb, const Regex& re, uint64_t from_ms,
                       const std::function<bool(const SearchHit&)>& hit,
                       const std::function<bool(uint64_t pos_ms)>& keep_going, uint64_t until_ms) {
    if (from_ms == 0)
        pb.rewind();  // output at 0 ms can match too
    else
        pb.seek(from_ms);
    TermModel& m = pb.model();
    // The text of each row that matches ("" for the others). A hit is a
    // matching text that was on no row before: a matching line that
    // scrolls is not found again.
    std::vector<std::string> matched(m.rows());
    for (int r = 0; r < m.rows(); r++) {
        std::string t = m.row_text(r);
        if (re.search(t)) matched[r] = std::move(t);
    }
    m.clear_dirty();
    uint64_t hits = 0;
    bool go_on = true;
    std::unordered_set<std::string> before;
    uint64_t steps = 0;
    while (go_on) {
        auto t = pb.next_time();
        if (!t || *t > until_ms) break;
        if (keep_going && ++steps % 256 == 0 && !keep_going(*t)) break;
        pb.advance_to(*t);
        if (!m.any_dirty()) continue;
        if (matched.size() != m.rows()) matched.resize(m.rows());
        before.clear();
        for (const auto& s : matched)
            if (!s.empty()) before.insert(s);
        const auto& dirty = m.dirty();
        for (int r = 0; r < m.rows(); r++) {
            if (!dirty[r]) continue;
            std::string text = m.row_text(r);
            if (!re.search(text)) {
                matched[r].clear();
                continue;
            }
            if (go_on && !before.count(text)) {
                hits++;
                go_on = hit(SearchHit{*t, r, text});
                before.insert(text);
            }
            matched[r] = std::move(text);
        }
        m.clear_dirty();
    }
    return hits;
}

std::optional<SearchHit> search_screen_backward(Playback& pb, const Regex& re, uint64_t before_ms,
                                                const std::function<bool(uint64_t pos_ms)>& keep_going) {
    if (before_ms == 0) return std::nullopt;
    uint64_t hi = before_ms - 1;  // the window is (lo, hi], or [0, hi] when lo is 0
    bool stopped = false;
    for (;;) {
        uint64_t lo = hi ? pb.index().at_or_before(hi - 1).time_ms : 0;
        std::optional<SearchHit> last;
        search_screen(
            pb, re, lo,
            [&](const SearchHit& h) {
                last = h;
                return true;
            },
            [&](uint64_t at) {
                if (keep_going && !keep_going(at)) stopped = true;
                return !stopped;
            },
            hi);
        if (stopped) return std::nullopt;
        if (last || lo == 0) return last;
        if (keep_going && !keep_going(lo)) return std::nullopt;
        hi = lo;
    }
}

}  // namespace tlog::play
