#include "screen.h"

#include <algorithm>
#include <cstring>

namespace tlog::play::vt {

void fill_cells(Cell* cells, size_t n, const Cell& c) {
    // As two 8-byte words: a scrolled-in line is cleared on every line feed.
    uint64_t w[2];
    std::memcpy(w, &c, 16);
    auto* out = reinterpret_cast<char*>(cells);
    for (size_t i = 0; i < n; i++) std::memcpy(out + 16 * i, w, 16);
}

void Grid::reset(int rows, int cols, const Pen& pen) {
    Line blank;
    blank.cells.assign(static_cast<size_t>(cols), blank_cell(pen));
    lines_.assign(static_cast<size_t>(rows), blank);
    top_ = 0;
}

void Grid::clear_line(int row, const Pen& pen) {
    Line& l = line(row);
    fill_cells(l.cells.data(), l.cells.size(), blank_cell(pen));
    l.size = LineSize::Single;
    l.wrapped = false;
}

void Grid::scroll(int top, int bottom, int n, const Pen& pen) {
    int height = bottom - top;
    if (n == 0 || height <= 0) return;
    int count = std::min(n > 0 ? n : -n, height);
    if (top == 0 && bottom == rows()) {
        // The whole screen: rotate the ring, then blank what entered.
        size_t size = lines_.size();
        if (n > 0) {
            top_ = (top_ + static_cast<size_t>(count)) % size;
            for (int r = bottom - count; r < bottom; r++) clear_line(r, pen);
        } else {
            top_ = (top_ + size - static_cast<size_t>(count)) % size;
            for (int r = top; r < top + count; r++) clear_line(r, pen);
        }
        return;
    }
    // A region: swapping lines moves only their vectors' pointers.
    if (n > 0) {
        for (int r = top; r + count < bottom; r++) std::swap(line(r), line(r + count));
        for (int r = bottom - count; r < bottom; r++) clear_line(r, pen);
    } else {
        for (int r = bottom - 1; r - count >= top; r--) std::swap(line(r), line(r - count));
        for (int r = top; r < top + count; r++) clear_line(r, pen);
    }
}

void Grid::resize(int rows, int cols, int drop_top) {
    std::vector<Line> lines(static_cast<size_t>(rows));
    for (int r = 0; r < rows; r++) {
        Line& to = lines[static_cast<size_t>(r)];
        int from = r + drop_top;
        if (from < this->rows()) {
            to = std::move(line(from));
            to.cells.resize(static_cast<size_t>(cols), Cell{});
            // A wide character the new edge cuts in half is erased.
            Cell& last = to.cells.back();
            if (last.width == 2) last = Cell{};
        } else {
            to.cells.assign(static_cast<size_t>(cols), Cell{});
        }
    }
    lines_ = std::move(lines);
    top_ = 0;
}

void ScreenState::reset(int r, int c) {
    *this = ScreenState{};
    rows = r;
    cols = c;
    bottom = r;
    grids[0].reset(r, c, Pen{});
    grids[1].reset(r, c, Pen{});
    default_tabs(0);
}

void ScreenState::default_tabs(int from) {
    tabs.resize(static_cast<size_t>(cols), 0);
    for (int c = from; c < cols; c++) tabs[static_cast<size_t>(c)] = (c % 8 == 0 && c) ? 1 : 0;
}

uint32_t ScreenState::intern(const std::u32string& g) {
    auto it = grapheme_ids.find(g);
    if (it != grapheme_ids.end()) return it->second;
    if (graphemes.size() >= kMaxGraphemes) return UINT32_MAX;
    auto id = static_cast<uint32_t>(graphemes.size());
    graphemes.push_back(g);
    grapheme_ids.emplace(g, id);
    return id;
}

}  // namespace tlog::play::vt
