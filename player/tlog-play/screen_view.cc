#include "screen_view.h"

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

std::string ScreenView::clean(const std::string& s, size_t max_cols) {
    // Our own messages, but they quote file names and recording ids:
    // printable ASCII only.
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
    const std::string& overlay = !prompt_.empty() ? prompt_ : notice_;
    for (int r = 0; r < rows_; r++) {
        std::string line;
        if (r == rows_ - 1 && !overlay.empty())
            line = "\x1b[0;7m" + clean(overlay, cols_) + "\x1b[0m";
        else if (r < m.rows())
            line = m.draw_row(r, cols_);
        if (line == shown_[r]) continue;
        out += "\x1b[" + std::to_string(r + 1) + ";1H" + line + "\x1b[0m\x1b[K";
        shown_[r] = std::move(line);
    }
    if (!prompt_.empty()) {
        size_t col = std::min<size_t>(prompt_.size(), cols_ - 1);
        out += "\x1b[" + std::to_string(rows_) + ";" + std::to_string(col + 1) + "H\x1b[?25h";
    } else if (m.cursor_visible() && m.cursor_row() < rows_ && m.cursor_col() < cols_) {
        out += "\x1b[" + std::to_string(m.cursor_row() + 1) + ";" + std::to_string(m.cursor_col() + 1) + "H\x1b[?25h";
    }
    return out;
}

}  // namespace tlog::play::cli
