#include "tlog/play/screen_search.h"

#include <cstring>
#include <stdexcept>
#include <unordered_map>
#include <vector>

namespace tlog::play {

namespace {

std::string escape_ere(const std::string& text) {
    std::string out;
    for (char c : text) {
        if (std::strchr(".[]()*+?{}|^$\\", c) && c != '\0') out += '\\';
        out += c;
    }
    return out;
}

}  // namespace

Regex::Regex(const std::string& pattern, bool icase, bool fixed) {
    int rc = regcomp(&re_, (fixed ? escape_ere(pattern) : pattern).c_str(),
                     REG_EXTENDED | REG_NOSUB | (icase ? REG_ICASE : 0));
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
    // Each row's line identity and, when it matches, its text ("" for the
    // others). A hit is a row that matches and whose text differs from
    // what the same line (by identity: it moves with the line when the
    // screen scrolls) showed at the previous rendering; a line that entered
    // blank showed "". The same text standing on another row does not
    // matter: a command run twice is found twice.
    struct Row {
        uint64_t id = 0;
        std::string text;
    };
    std::vector<Row> cur(m.rows()), next;
    for (int r = 0; r < m.rows(); r++) {
        cur[r].id = m.line_id(r);
        std::string t = m.row_text(r);
        if (re.search(t)) cur[r].text = std::move(t);
    }
    m.clear_dirty();
    uint64_t hits = 0;
    bool go_on = true;
    std::unordered_map<uint64_t, size_t> where;  // line id -> row in cur, built when lines moved
    uint64_t steps = 0;
    while (go_on) {
        auto t = pb.next_time();
        if (!t || *t > until_ms) break;
        if (keep_going && ++steps % 256 == 0 && !keep_going(*t)) break;
        pb.advance_to(*t);
        if (!m.any_dirty()) continue;
        // Rows written since the previous rendering; a line only moved
        // by a scroll keeps the text it had.
        const auto& written = m.written();
        const size_t rows = m.rows();
        next.resize(rows);
        bool moved = cur.size() != rows;
        for (size_t r = 0; r < rows && !moved; r++) moved = cur[r].id != m.line_id(static_cast<int>(r));
        if (moved) {
            where.clear();
            for (size_t r = 0; r < cur.size(); r++) where.emplace(cur[r].id, r);
        }
        for (size_t r = 0; r < rows; r++) {
            uint64_t id = m.line_id(static_cast<int>(r));
            const std::string* before = nullptr;  // the same line's text at the previous rendering
            if (!moved) {
                before = &cur[r].text;
            } else if (auto it = where.find(id); it != where.end()) {
                before = &cur[it->second].text;
            }
            next[r].id = id;
            if (!written[r] && before) {
                next[r].text = *before;  // unchanged since the previous rendering
                continue;
            }
            std::string text = m.row_text(static_cast<int>(r));
            if (!re.search(text)) {
                next[r].text.clear();
                continue;
            }
            if (go_on && (!before || *before != text)) {
                hits++;
                go_on = hit(SearchHit{*t, static_cast<int>(r), text});
            }
            next[r].text = std::move(text);
        }
        std::swap(cur, next);
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
