#include "tlog/play/screen_text.h"

#include <algorithm>
#include <unordered_map>

namespace tlog::play {

void RowChanges::reset(TermModel& m) {
    any_forced_ = false;
    cur_.assign(m.rows(), Row{});
    for (int r = 0; r < m.rows(); r++) {
        cur_[static_cast<size_t>(r)] = Row{m.line_id(r), m.row_text(r), false};
    }
    m.clear_dirty();
}

void RowChanges::render(TermModel& m, const std::function<void(int row, const std::string& text)>& changed) {
    const size_t rows = m.rows();
    if (!m.any_dirty() && !any_forced_) return;
    // Only written rows are rendered (and those a restore left changed): a
    // line a scroll moved shows the text it showed at the previous
    // rendering (most renderings of a shell move every row and write one).
    const std::vector<bool>& written = m.written();
    bool moved = cur_.size() != rows;
    for (size_t r = 0; r < rows && !moved; r++) moved = cur_[r].id != m.line_id(static_cast<int>(r));
    if (!moved) {
        for (size_t r = 0; r < rows; r++) {
            Row& row = cur_[r];
            if (!written[r] && !row.forced) continue;
            row.forced = false;
            m.row_text(static_cast<int>(r), buf_);
            if (buf_ != row.text) {
                if (!buf_.empty()) changed(static_cast<int>(r), buf_);
                std::swap(row.text, buf_);
            }
        }
    } else {
        // Line id -> row at the previous rendering; a line is on one row at
        // most, so its text moves to its new row.
        where_.clear();
        for (size_t r = 0; r < cur_.size(); r++) where_.emplace_back(cur_[r].id, r);
        std::sort(where_.begin(), where_.end());
        next_.resize(rows);
        for (size_t r = 0; r < rows; r++) {
            Row& row = next_[r];
            row.id = m.line_id(static_cast<int>(r));
            row.forced = false;
            auto it = std::lower_bound(where_.begin(), where_.end(), std::pair<uint64_t, size_t>(row.id, 0));
            bool found = it != where_.end() && it->first == row.id;
            bool forced = false;
            if (found) {
                row.text = std::move(cur_[it->second].text);
                forced = cur_[it->second].forced;
            } else {
                row.text.clear();  // a line that entered blank showed ""
            }
            if (found && !written[r] && !forced) continue;
            m.row_text(static_cast<int>(r), buf_);
            if (buf_ != row.text) {
                if (!buf_.empty()) changed(static_cast<int>(r), buf_);
                std::swap(row.text, buf_);
            }
        }
        std::swap(cur_, next_);
    }
    any_forced_ = false;
    m.clear_dirty();
}

namespace {

void put_u32(std::string& s, uint32_t v) {
    for (int i = 0; i < 4; i++) s += static_cast<char>((v >> (8 * i)) & 0xffU);
}

bool get_u32(std::string_view& s, uint32_t& v) {
    if (s.size() < 4) return false;
    v = 0;
    for (int i = 0; i < 4; i++)
        v |= static_cast<uint32_t>(static_cast<unsigned char>(s[static_cast<size_t>(i)])) << (8 * i);
    s.remove_prefix(4);
    return true;
}

}  // namespace

std::string RowChanges::save(const TermModel& m) const {
    // Per row: changed since the last rendering (1 byte), then the text the
    // same line showed then.
    std::string out;
    put_u32(out, m.rows());
    std::unordered_map<uint64_t, const Row*> by_id;
    for (const auto& r : cur_) by_id.emplace(r.id, &r);
    const auto& dirty = m.dirty();
    static const std::string blank;
    for (int r = 0; r < m.rows(); r++) {
        auto it = by_id.find(m.line_id(r));
        const std::string& before = it != by_id.end() ? it->second->text : blank;
        bool changed = dirty[static_cast<size_t>(r)] || (it != by_id.end() && it->second->forced);
        out += changed ? '\1' : '\0';
        put_u32(out, static_cast<uint32_t>(before.size()));
        out += before;
    }
    return out;
}

bool RowChanges::restore(TermModel& m, std::string_view saved) {
    reset(m);
    uint32_t rows = 0;
    if (!get_u32(saved, rows) || rows != m.rows()) return false;
    std::vector<Row> cur(rows);
    bool any = false;
    for (uint32_t r = 0; r < rows; r++) {
        uint32_t len = 0;
        if (saved.empty()) return false;
        bool forced = saved.front() != 0;
        any = any || forced;
        saved.remove_prefix(1);
        if (!get_u32(saved, len) || saved.size() < len) return false;
        cur[r] = Row{m.line_id(static_cast<int>(r)), std::string(saved.substr(0, len)), forced};
        saved.remove_prefix(len);
    }
    if (!saved.empty()) return false;
    cur_ = std::move(cur);
    any_forced_ = any;
    return true;
}

std::string repaint(const TermModel& m) {
    std::string out = "\x1b[0m\x1b[H\x1b[2J";
    for (int r = 0; r < m.rows(); r++) {
        out += "\x1b[" + std::to_string(r + 1) + ";1H";
        out += m.draw_row(r, m.cols());
    }
    out += "\x1b[" + std::to_string(m.cursor_row() + 1) + ";" + std::to_string(m.cursor_col() + 1) + "H";
    out += m.cursor_visible() ? "\x1b[?25h" : "\x1b[?25l";
    return out;
}

}  // namespace tlog::play
