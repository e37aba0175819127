#include "tlog/play/screen_text.h"

#include <unordered_map>

namespace tlog::play {

void RowChanges::reset(TermModel& m) {
    forced_.clear();
    cur_.assign(m.rows(), Row{});
    for (int r = 0; r < m.rows(); r++) {
        cur_[static_cast<size_t>(r)] = Row{m.line_id(r), m.row_text(r)};
    }
    m.clear_dirty();
}

void RowChanges::render(TermModel& m, const std::function<void(int row, const std::string& text)>& changed) {
    const size_t rows = m.rows();
    if (forced_.size() != rows) forced_.clear();
    if (!m.any_dirty() && forced_.empty()) return;
    std::vector<bool> dirty = m.dirty();
    for (size_t r = 0; r < forced_.size(); r++) dirty[r] = dirty[r] || forced_[r];
    forced_.clear();
    next_.resize(rows);
    bool moved = cur_.size() != rows;
    for (size_t r = 0; r < rows && !moved; r++) moved = cur_[r].id != m.line_id(static_cast<int>(r));
    std::unordered_map<uint64_t, size_t> where;  // line id -> row at the previous rendering
    if (moved) {
        for (size_t r = 0; r < cur_.size(); r++) where.emplace(cur_[r].id, r);
    }
    static const std::string blank;
    for (size_t r = 0; r < rows; r++) {
        uint64_t id = m.line_id(static_cast<int>(r));
        const std::string* before = &blank;
        if (!moved) {
            before = &cur_[r].text;
        } else if (auto it = where.find(id); it != where.end()) {
            before = &cur_[it->second].text;
        }
        next_[r].id = id;
        if (!dirty[r]) {
            next_[r].text = *before;  // a moved line is always dirty
            continue;
        }
        std::string text = m.row_text(static_cast<int>(r));
        if (!text.empty() && text != *before) changed(static_cast<int>(r), text);
        next_[r].text = std::move(text);
    }
    std::swap(cur_, next_);
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
    std::unordered_map<uint64_t, const std::string*> by_id;
    for (const auto& r : cur_) by_id.emplace(r.id, &r.text);
    const auto& dirty = m.dirty();
    for (int r = 0; r < m.rows(); r++) {
        auto it = by_id.find(m.line_id(r));
        const std::string& before = it != by_id.end() ? *it->second : std::string();
        bool changed = dirty[static_cast<size_t>(r)] ||
                       (static_cast<size_t>(r) < forced_.size() && forced_[static_cast<size_t>(r)]);
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
    std::vector<bool> forced(rows);
    for (uint32_t r = 0; r < rows; r++) {
        uint32_t len = 0;
        if (saved.empty()) return false;
        forced[r] = saved.front() != 0;
        saved.remove_prefix(1);
        if (!get_u32(saved, len) || saved.size() < len) return false;
        cur[r] = Row{m.line_id(static_cast<int>(r)), std::string(saved.substr(0, len))};
        saved.remove_prefix(len);
    }
    if (!saved.empty()) return false;
    cur_ = std::move(cur);
    forced_ = std::move(forced);
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
