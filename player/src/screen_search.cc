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

uint64_t search_screen(Playback& pb, const Regex& re, uint64_t from_ms, const std::function<bool(const SearchHit&)>& hit,
                       const std::function<bool(uint64_t pos_ms)>& keep_going) {
    if (from_ms == 0) pb.rewind();  // output at 0 ms can match too
    else pb.seek(from_ms);
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
        if (!t) break;
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

} // namespace tlog::play
