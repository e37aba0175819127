#include "screen_view.h"

#include <algorithm>

namespace tlog::play::cli {

void ScreenView::set_size(uint16_t rows, uint16_t cols) {
    if (rows == rows_ && cols == cols_) return;
    rows_ = rows ? rows : 1;
    cols_ = cols ? cols : 1;
    invalidate();
}

void ScreenView::invalidate() {
    shown_.assign(rows_, std::string("\x01"));  // matches no rendered row
    cleared_ = false;
}

void ScreenView::notice(const std::string& text, uint64_t until_ms) {
    notice_ = text;
    notice_until_ = until_ms;
}

bool ScreenView::tick(uint64_t now_ms) {
    if (!notice_.empty() && now_ms >= notice_until_) {
        notice_.clear();
        return true;
    }
    return false;
}

int ScreenView::bottom_lines() const {
    int n = (!input_.empty()) + (!prompt_.empty() || !notice_.empty()) + (!status_.empty());
    return std::min<int>(n, rows_);
}

std::string ScreenView::clean(const std::string& s, size_t max_cols) {
    // Our own messages, but they quote file names, recording ids, user and
    // host names and recorded input: printable ASCII only.
    std::string out;
    for (char c : s) {
        if (out.size() >= max_cols) break;
        out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
    }
    return out;
}

std::string ScreenView::render(const TermModel& m) {
    if (shown_.size() != rows_) invalidate();
    std::string out = "\x1b[?25l";
    if (!cleared_) {
        out += "\x1b[0m\x1b[H\x1b[2J";
        cleared_ = true;
    }
    // The player's lines, top to bottom, on the last rows.
    std::vector<std::string> bottom;
    int prompt_row = -1;
    if (!input_.empty()) bottom.push_back(input_);
    if (!prompt_.empty()) {
        prompt_row = static_cast<int>(bottom.size());
        bottom.push_back(prompt_ + prompt_hint_);
    } else if (!notice_.empty()) {
        bottom.push_back(notice_);
    }
    if (!status_.empty()) bottom.push_back(status_);
    int first_bottom = rows_ - bottom_lines();
    if (prompt_row >= 0) prompt_row += rows_ - static_cast<int>(bottom.size());
    for (int r = 0; r < rows_; r++) {
        std::string line;
        if (r >= first_bottom) {
            line = "\x1b[0;7m" +
                   clean(bottom[static_cast<size_t>(r - (rows_ - static_cast<int>(bottom.size())))], cols_) + "\x1b[0m";
        } else if (!help_.empty()) {
            if (static_cast<size_t>(r) < help_.size()) line = clean(help_[static_cast<size_t>(r)], cols_);
        } else if (r + origin_row_ < m.rows()) {
            line = m.draw_row(r + origin_row_, cols_, origin_col_);
        }
        if (line == shown_[static_cast<size_t>(r)]) continue;
        out += "\x1b[" + std::to_string(r + 1) + ";1H" + line + "\x1b[0m\x1b[K";
        shown_[static_cast<size_t>(r)] = std::move(line);
    }
    int crow = m.cursor_row() - origin_row_, ccol = m.cursor_col() - origin_col_;
    if (prompt_row >= 0) {
        size_t col = std::min<size_t>(prompt_.size(), cols_ - 1);
        out += "\x1b[" + std::to_string(prompt_row + 1) + ";" + std::to_string(col + 1) + "H\x1b[?25h";
    } else if (help_.empty() && m.cursor_visible() && crow >= 0 && crow < first_bottom && ccol >= 0 && ccol < cols_) {
        out += "\x1b[" + std::to_string(crow + 1) + ";" + std::to_string(ccol + 1) + "H\x1b[?25h";
    }
    return out;
}

}  // namespace tlog::play::cli
