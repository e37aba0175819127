// The terminal model: one emulated terminal (our own, doc/terminal-model.md)
// that replays a recording's output and gives back its screen as text, as
// sequences to draw it on a real terminal, and as snapshots to seek with.
// Nothing the recording contains ever leaves the model: the emulator has no
// way to answer (device reports, DECRQSS, ... are parsed and dropped), and
// what is drawn is regenerated from the cells.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tlog/play/snapshot.h"

namespace tlog::play {

namespace vt {
class Emulator;
}

// A colour of a styled run: the terminal's default, a palette index
// (0-255) or a 24-bit colour (0xRRGGBB).
struct RunColor {
    enum class Kind : uint8_t { Default, Palette, Rgb };
    Kind kind = Kind::Default;
    uint32_t value = 0;
    bool operator==(const RunColor&) const = default;
};

// Consecutive cells of one rendition, as a view without a terminal (the
// server's web player) draws them: no control character, a wide character
// once.
struct StyledRun {
    static constexpr uint16_t Bold = 1 << 0;
    static constexpr uint16_t Dim = 1 << 1;
    static constexpr uint16_t Italic = 1 << 2;
    static constexpr uint16_t Underline = 1 << 3;
    static constexpr uint16_t DoubleUnderline = 1 << 4;
    static constexpr uint16_t Blink = 1 << 5;
    static constexpr uint16_t Inverse = 1 << 6;
    static constexpr uint16_t Invisible = 1 << 7;
    static constexpr uint16_t Strike = 1 << 8;
    static constexpr uint16_t Overline = 1 << 9;
    std::string text;  // UTF-8
    int width = 0;     // columns
    RunColor fg, bg;
    uint16_t attrs = 0;  // the bits above
    bool operator==(const StyledRun&) const = default;
};

class TermModel {
public:
    TermModel(uint16_t rows = 24, uint16_t cols = 80);
    ~TermModel();
    TermModel(const TermModel&) = delete;
    TermModel& operator=(const TermModel&) = delete;

    void feed(std::string_view bytes);
    // A window change: 0 rows or columns (tlog-rec without a terminal
    // records "=0x0") keep the current size.
    void resize(uint16_t rows, uint16_t cols);
    // Back to a blank screen of the given size.
    void reset(uint16_t rows, uint16_t cols);

    uint16_t rows() const;
    uint16_t cols() const;
    int cursor_row() const;
    int cursor_col() const;
    bool cursor_visible() const;
    bool alt_screen() const;
    // The last column was just written: the next character goes to the
    // next line (xterm's "last column flag").
    bool wrap_pending() const;
    // Between escape sequences and characters: a snapshot taken here
    // continues exactly as the model would have.
    bool at_ground() const;

    Snapshot snapshot() const;
    // Throws std::runtime_error for a snapshot this version did not write.
    void restore(const Snapshot& s);

    // One row as UTF-8 text, trailing blanks removed.
    std::string row_text(int row) const;
    // The same into `out` (replacing what it held): a buffer kept from row
    // to row allocates once.
    void row_text(int row, std::string& out) const;
    // The whole screen, rows joined with '\n', trailing empty rows kept.
    std::string text() const;
    // SGR and characters that draw `row` from column `first_col` on (a
    // view panned over a screen wider than the terminal) on a real
    // terminal, clipped to `max_cols` columns; a wide character cut by
    // either edge is drawn as a blank, never half of it. Control
    // characters are never emitted. Ends with the attributes reset.
    std::string draw_row(int row, int max_cols, int first_col = 0) const;
    // The cells of `row` as runs of one rendition, by draw_row's rules:
    // the screen-wide reverse video applied, trailing blanks a terminal
    // shows without drawing them left out, a wide character cut by the
    // right edge a blank.
    std::vector<StyledRun> row_runs(int row) const;

    // Rows changed since the last clear_dirty(): written, or moved by a
    // scroll (a view draws them again).
    const std::vector<bool>& dirty() const;
    // Rows whose line was written since the last clear_dirty(), following
    // the line when it moves (line_id): a row only moved by a scroll is
    // not in it, its text is the text its line had (the screen's text
    // rules use it to render only what changed). Every row after a reset,
    // restore, resize or screen switch; a line that enters blank is.
    const std::vector<bool>& written() const;
    bool any_dirty() const;
    void clear_dirty();

    // The identity of the line on `row`: it moves with the line when the
    // screen or a scrolling region scrolls (line feed at the bottom, reverse
    // index, SU/SD, IL/DL); a line that enters blank, and every row after a
    // reset, restore or resize that adds rows, gets a new one. Switching to
    // or from the alternate screen keeps them. Not part of a snapshot: the
    // search compares a line's text with what the same line held before.
    uint64_t line_id(int row) const;

    // Bytes fed since construction (statistics for the index).
    uint64_t fed() const { return fed_; }

private:
    std::unique_ptr<vt::Emulator> emu_;
    uint64_t fed_ = 0;
};

}  // namespace tlog::play
