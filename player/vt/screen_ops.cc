// The emulator's screen operations: cursor motion, erasing, inserting and
// deleting, scrolling, margins, saved cursors and the two screens. Every
// coordinate from the recording is clamped here: the recording is hostile.
#include <algorithm>

#include "emulator.h"

namespace tlog::play::vt {

void Emulator::mark_moved(int from, int to) {
    any_dirty = true;
    if (from <= 0 && to >= s_.rows) {
        all_dirty_ = true;
        return;
    }
    for (int r = std::max(from, 0); r < std::min(to, s_.rows); r++) dirty_[static_cast<size_t>(r)] = true;
}

void Emulator::linefeed() {
    s_.pending_wrap = false;
    if (s_.cur_row == s_.bottom - 1)
        scroll_region(1);
    else if (s_.cur_row < s_.rows - 1)
        s_.cur_row++;
}

void Emulator::reverse_index() {
    s_.pending_wrap = false;
    if (s_.cur_row == s_.top)
        scroll_region(-1);
    else if (s_.cur_row > 0)
        s_.cur_row--;
}

void Emulator::carriage_return() {
    s_.pending_wrap = false;
    s_.cur_col = 0;
}

void Emulator::wrap() {
    cur_line().wrapped = true;
    carriage_return();
    linefeed();
}

void Emulator::move_to(int row, int col) {
    s_.pending_wrap = false;
    s_.cur_row = std::clamp(row, 0, s_.rows - 1);
    s_.cur_col = std::clamp(col, 0, line_cols(s_.cur_row) - 1);
}

void Emulator::cup(int row, int col) {
    if (s_.origin)
        move_to(std::clamp(row + s_.top, s_.top, s_.bottom - 1), col);
    else
        move_to(row, col);
}

void Emulator::cursor_up(int n) {
    // Stops at the top margin when starting inside the region.
    int stop = s_.cur_row >= s_.top ? s_.top : 0;
    move_to(std::max(s_.cur_row - n, stop), s_.cur_col);
}

void Emulator::cursor_down(int n) {
    int stop = s_.cur_row < s_.bottom ? s_.bottom - 1 : s_.rows - 1;
    move_to(std::min(s_.cur_row + n, stop), s_.cur_col);
}

void Emulator::tab(int n) {
    // At the last column with a wrap pending, a forward tab has nowhere to
    // go and leaves the wrap pending (xterm, tmux).
    if (n > 0 && s_.pending_wrap) return;
    s_.pending_wrap = false;
    int limit = line_cols(s_.cur_row);
    int col = std::min(s_.cur_col, limit - 1);
    for (; n > 0 && col < limit - 1; n--) {
        do col++;
        while (col < limit - 1 && !s_.tabs[static_cast<size_t>(col)]);
    }
    for (; n < 0 && col > 0; n++) {
        do col--;
        while (col > 0 && !s_.tabs[static_cast<size_t>(col)]);
    }
    s_.cur_col = col;
}

// A wide character is erased whole when either half is overwritten.
void Emulator::fix_wide(Line& l, int col) {
    if (col < 0 || col >= s_.cols) return;
    Cell& c = l.cells[static_cast<size_t>(col)];
    if (c.width == 0 && col > 0) {
        Cell& lead = l.cells[static_cast<size_t>(col - 1)];
        lead = Cell{0, 0, lead.bg, 0, 1, 0};
        c = Cell{0, 0, c.bg, 0, 1, 0};
    } else if (c.width == 2 && col + 1 < s_.cols) {
        Cell& tail = l.cells[static_cast<size_t>(col) + 1];
        tail = Cell{0, 0, tail.bg, 0, 1, 0};
        c = Cell{0, 0, c.bg, 0, 1, 0};
    }
}

void Emulator::erase_cells(int row, int from, int to) {
    from = std::max(from, 0);
    to = std::min(to, s_.cols);
    if (from >= to) return;
    Line& l = s_.grid().line(row);
    fix_wide(l, from);
    fix_wide(l, to - 1);
    std::fill(l.cells.begin() + from, l.cells.begin() + to, blank_cell(s_.pen));
    if (to == s_.cols) l.wrapped = false;
    s_.pending_wrap = false;  // xterm: erasing ends a pending wrap (tmux keeps it)
    mark(row);
}

void Emulator::erase_line(int how) {
    if (how == 0)
        erase_cells(s_.cur_row, s_.cur_col, s_.cols);
    else if (how == 1)
        erase_cells(s_.cur_row, 0, s_.cur_col + 1);
    else if (how == 2)
        erase_cells(s_.cur_row, 0, s_.cols);
}

void Emulator::erase_display(int how) {
    if (how == 0) {
        erase_cells(s_.cur_row, s_.cur_col, s_.cols);
        for (int r = s_.cur_row + 1; r < s_.rows; r++) erase_cells(r, 0, s_.cols);
    } else if (how == 1) {
        for (int r = 0; r < s_.cur_row; r++) erase_cells(r, 0, s_.cols);
        erase_cells(s_.cur_row, 0, s_.cur_col + 1);
    } else if (how == 2) {
        for (int r = 0; r < s_.rows; r++) {
            erase_cells(r, 0, s_.cols);
            s_.grid().line(r).size = LineSize::Single;
        }
    }
    // 3 (scrollback): the model keeps none.
}

void Emulator::insert_chars(int n) {
    Line& l = cur_line();
    int col = s_.cur_col;
    n = std::min(n, s_.cols - col);
    if (n <= 0) return;
    // Inserting at a wide character's right half splits it; at its left
    // half the whole character moves.
    if (l.cells[static_cast<size_t>(col)].width == 0) fix_wide(l, col);
    // A wide character pushed half over the edge is erased.
    int edge = s_.cols - n - 1;
    if (edge >= col && l.cells[static_cast<size_t>(edge)].width == 2) fix_wide(l, edge);
    auto first = l.cells.begin() + col;
    std::move_backward(first, l.cells.end() - n, l.cells.end());
    std::fill(first, first + n, blank_cell(s_.pen));
    s_.pending_wrap = false;
    mark(s_.cur_row);
}

void Emulator::delete_chars(int n) {
    Line& l = cur_line();
    int col = s_.cur_col;
    n = std::min(n, s_.cols - col);
    if (n <= 0) return;
    fix_wide(l, col);
    fix_wide(l, col + n - 1);
    auto first = l.cells.begin() + col;
    std::move(first + n, l.cells.end(), first);
    std::fill(l.cells.end() - n, l.cells.end(), blank_cell(s_.pen));
    s_.pending_wrap = false;
    mark(s_.cur_row);
}

void Emulator::insert_lines(int n) {
    if (s_.cur_row < s_.top || s_.cur_row >= s_.bottom) return;
    // The column and a pending wrap stay, as in tmux and libvterm.
    s_.grid().scroll(s_.cur_row, s_.bottom, -n, s_.pen);
    scroll_ids(s_.cur_row, s_.bottom, -n);
    mark_moved(s_.cur_row, s_.bottom);
}

void Emulator::delete_lines(int n) {
    if (s_.cur_row < s_.top || s_.cur_row >= s_.bottom) return;
    s_.grid().scroll(s_.cur_row, s_.bottom, n, s_.pen);
    scroll_ids(s_.cur_row, s_.bottom, n);
    mark_moved(s_.cur_row, s_.bottom);
}

void Emulator::scroll_region(int n) {
    s_.grid().scroll(s_.top, s_.bottom, n, s_.pen);
    scroll_ids(s_.top, s_.bottom, n);
    mark_moved(s_.top, s_.bottom);
}

void Emulator::set_region(int top, int bottom) {
    top = std::max(top, 1);
    bottom = std::min(bottom, s_.rows);
    if (top >= bottom) return;  // as xterm: an empty or one-line region is ignored
    s_.top = top - 1;
    s_.bottom = bottom;
    cup(0, 0);
}

void Emulator::save_cursor() {
    SavedCursor& c = s_.saved[s_.alt ? 1 : 0];
    c.row = s_.cur_row;
    c.col = s_.cur_col;
    c.pending_wrap = s_.pending_wrap;
    c.pen = s_.pen;
    c.origin = s_.origin;
    c.autowrap = s_.autowrap;
    std::copy(std::begin(s_.charsets), std::end(s_.charsets), c.charsets);
    c.gl = s_.gl;
}

void Emulator::restore_cursor() {
    const SavedCursor& c = s_.saved[s_.alt ? 1 : 0];
    move_to(c.row, c.col);
    s_.pending_wrap = c.pending_wrap && s_.cur_col == line_cols(s_.cur_row) - 1;
    s_.pen = c.pen;
    s_.origin = c.origin;
    s_.autowrap = c.autowrap;
    std::copy(std::begin(c.charsets), std::end(c.charsets), s_.charsets);
    s_.gl = c.gl;
}

void Emulator::switch_screen(bool alt) {
    if (s_.alt == alt) return;
    s_.alt = alt;
    s_.pending_wrap = false;
    s_.cur_col = std::min(s_.cur_col, line_cols(s_.cur_row) - 1);
    mark_all();
}

void Emulator::soft_reset() {
    s_.cursor_visible = true;
    s_.insert = s_.origin = s_.newline_mode = false;
    s_.autowrap = true;
    s_.pen = Pen{};
    s_.top = 0;
    s_.bottom = s_.rows;
    std::fill(std::begin(s_.charsets), std::end(s_.charsets), 'B');
    s_.gl = 0;
    s_.saved[s_.alt ? 1 : 0] = SavedCursor{};
    s_.pending_wrap = false;
}

void Emulator::alignment_test() {
    s_.top = 0;
    s_.bottom = s_.rows;
    s_.origin = false;
    for (int r = 0; r < s_.rows; r++) {
        Line& l = s_.grid().line(r);
        l.size = LineSize::Single;
        l.wrapped = false;
        std::fill(l.cells.begin(), l.cells.end(), Cell{'E', 0, 0, 0, 1, 0});
    }
    move_to(0, 0);
    mark_all();
}

void Emulator::resize(int rows, int cols) {
    if (rows == s_.rows && cols == s_.cols) return;
    // Rows leave at the top when the cursor would fall off the bottom, as
    // xterm and tmux do; no reflow.
    int drop = s_.cur_row >= rows ? s_.cur_row - rows + 1 : 0;
    for (Grid& g : s_.grids) g.resize(rows, cols, drop);
    s_.rows = rows;
    s_.cols = cols;
    s_.cur_row -= drop;
    s_.cur_col = std::min(s_.cur_col, cols - 1);
    s_.pending_wrap = false;
    s_.top = 0;
    s_.bottom = rows;
    s_.default_tabs(static_cast<int>(std::min<size_t>(s_.tabs.size(), static_cast<size_t>(cols))));
    for (SavedCursor& c : s_.saved) {
        c.row = std::clamp(c.row - drop, 0, rows - 1);
        c.col = std::min(c.col, cols - 1);
    }
    s_.cur_col = std::min(s_.cur_col, line_cols(s_.cur_row) - 1);
    // The rows kept keep their identities; the rows below them are new.
    std::vector<uint64_t> kept(line_ids_.begin() + std::min<std::ptrdiff_t>(drop, std::ssize(line_ids_)),
                               line_ids_.end());
    if (kept.size() > static_cast<size_t>(rows)) kept.resize(static_cast<size_t>(rows));
    line_ids_ = std::move(kept);
    fresh_ids(static_cast<int>(line_ids_.size()));
    dirty_.assign(static_cast<size_t>(rows), false);
    written_.assign(static_cast<size_t>(rows), false);
    mark_all();
}

}  // namespace tlog::play::vt
