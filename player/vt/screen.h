// The terminal model's state: cells, lines, the two screens and everything
// a snapshot must carry (private to the model; doc/terminal-model.md).
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace tlog::play::vt {

// Colours: 0 is the default; indexed colours are kIndexed | n, direct
// colours kRgb | 0xRRGGBB. One integer keeps pens cheap to compare.
constexpr uint32_t kIndexed = 1u << 24;
constexpr uint32_t kRgb = 2u << 24;

// Rendition bits of a pen and a cell.
enum Attr : uint16_t {
    kBold = 1 << 0,
    kDim = 1 << 1,
    kItalic = 1 << 2,
    kUnderline = 1 << 3,
    kDoubleUnderline = 1 << 4,
    kBlink = 1 << 5,
    kReverse = 1 << 6,
    kInvisible = 1 << 7,
    kStrike = 1 << 8,
    kOverline = 1 << 9,
    kAttrMask = (1 << 10) - 1,
    // Cell only: `cp` is an index into the grapheme pool (a base character
    // with combining marks).
    kCombined = 1 << 15,
};

struct Pen {
    uint32_t fg = 0, bg = 0;
    uint16_t attrs = 0;
    bool operator==(const Pen&) const = default;
};

// One character cell, 16 bytes. A wide character is a lead cell of width 2
// followed by a tail cell of width 0.
struct Cell {
    uint32_t cp = 0;  // 0: blank
    uint32_t fg = 0, bg = 0;
    uint16_t attrs = 0;
    uint8_t width = 1;
    uint8_t unused = 0;

    Pen pen() const { return Pen{fg, bg, static_cast<uint16_t>(attrs & kAttrMask)}; }
    bool operator==(const Cell&) const = default;
};

inline Cell blank_cell(const Pen& pen) {
    // Erased cells take the pen's background only (xterm's back colour erase).
    Cell c;
    c.bg = pen.bg;
    return c;
}

void fill_cells(Cell* cells, size_t n, const Cell& c);

enum class LineSize : uint8_t { Single, DoubleWidth, DoubleTop, DoubleBottom };

struct Line {
    std::vector<Cell> cells;
    LineSize size = LineSize::Single;
    bool wrapped = false;  // the text continues on the next line (autowrap)
};

// The lines of one screen as a ring: scrolling the whole screen moves the
// start instead of the lines (the cost that made libvterm slow).
class Grid {
public:
    void reset(int rows, int cols, const Pen& pen);
    Line& line(int row) { return lines_[index(row)]; }
    const Line& line(int row) const { return lines_[index(row)]; }
    void clear_line(int row, const Pen& pen);
    // Scrolls rows [top, bottom) up (n > 0) or down (n < 0) by |n|, blank
    // lines entering.
    void scroll(int top, int bottom, int n, const Pen& pen);
    void resize(int rows, int cols, int drop_top);
    int rows() const { return static_cast<int>(lines_.size()); }

private:
    size_t index(int row) const {
        size_t i = top_ + static_cast<size_t>(row);
        return i >= lines_.size() ? i - lines_.size() : i;
    }

    std::vector<Line> lines_;
    size_t top_ = 0;
};

// What DECSC saves and DECRC restores.
struct SavedCursor {
    int row = 0, col = 0;
    bool pending_wrap = false;
    Pen pen;
    bool origin = false, autowrap = true;
    uint8_t charsets[4] = {'B', 'B', 'B', 'B'};
    uint8_t gl = 0;
    bool operator==(const SavedCursor&) const = default;
};

// Everything except the parser's position inside an unfinished sequence.
struct ScreenState {
    int rows = 24, cols = 80;
    Grid grids[2];  // primary, alternate
    bool alt = false;
    int cur_row = 0, cur_col = 0;
    bool pending_wrap = false;  // a character was written in the last column
    Pen pen;
    bool insert = false, autowrap = true, origin = false, newline_mode = false;
    bool cursor_visible = true, reverse_screen = false;
    int top = 0, bottom = 24;  // scroll region [top, bottom)
    uint8_t charsets[4] = {'B', 'B', 'B', 'B'};
    uint8_t gl = 0;             // which of G0..G3 is in GL
    std::vector<uint8_t> tabs;  // 1 at a tab stop, one per column
    SavedCursor saved[2];       // per screen, as xterm keeps them
    uint32_t last_char = 0;     // for REP (0: nothing printed yet)
    // Graphemes of cells with combining marks; bounded (kMaxGraphemes).
    std::vector<std::u32string> graphemes;
    std::unordered_map<std::u32string, uint32_t> grapheme_ids;

    Grid& grid() { return grids[alt ? 1 : 0]; }
    const Grid& grid() const { return grids[alt ? 1 : 0]; }
    void reset(int rows, int cols);
    void default_tabs(int from);
    // Index of `g` in the pool; UINT32_MAX when the pool is full.
    uint32_t intern(const std::u32string& g);
};

constexpr size_t kMaxGraphemes = 16384;
constexpr size_t kMaxMarks = 8;  // combining marks kept per cell

}  // namespace tlog::play::vt
