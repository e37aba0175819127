// The terminal emulator behind TermModel: a DEC/xterm escape sequence
// parser (vt100.net's state machine, UTF-8 decoded inline, C1 controls
// honoured) driving the screen operations. It has no output channel at
// all: queries in a recording (device status, DECRQSS, title reports, OSC
// 52) are parsed and dropped, so nothing can answer back.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "screen.h"

namespace tlog::play::vt {

class Emulator {
public:
    Emulator(int rows, int cols);

    void feed(std::string_view bytes);
    void resize(int rows, int cols);
    void reset(int rows, int cols);

    // Between sequences and characters: a snapshot here continues exactly.
    bool at_ground() const { return state_ == State::Ground && utf8_need_ == 0; }
    ScreenState& state() { return s_; }
    const ScreenState& state() const { return s_; }
    // After replacing state() wholesale (a snapshot restore).
    void state_replaced();

    // Rows changed since cleared; all_dirty stands for every row (set by
    // scrolling, so a line feed does not touch every flag).
    const std::vector<bool>& dirty_rows();
    // Rows whose line's cells were written since cleared, the flags moving
    // with the lines when they scroll: a line only moved is dirty (a view
    // draws it again) but not written (its text is what it was).
    const std::vector<bool>& written_rows();
    bool any_dirty = true;
    void mark_all() { all_dirty_ = all_written_ = any_dirty = true; }
    void clear_dirty();

    // The identity of the line shown on `row`: it moves with the line when
    // the screen or a region scrolls (or lines are inserted or deleted);
    // a line that enters blank gets a new one. Switching screens keeps the
    // identities (they belong to the rows shown); a restore or a reset gives
    // every row a new one. Not part of the state: only the search uses it.
    uint64_t line_id(int row) const { return line_ids_[static_cast<size_t>(row)]; }

private:
    enum class State : uint8_t {
        Ground,
        Escape,
        EscapeInter,
        CsiEntry,
        CsiParam,
        CsiInter,
        CsiIgnore,
        Osc,
        String,
        StringEsc
    };

    size_t csi_at_once(const char* p, size_t n);
    void put(uint32_t cp);
    void print(uint32_t cp);
    void print_ascii(const char* p, size_t n);
    void combine(uint32_t mark);
    void execute(uint32_t c);
    void esc_dispatch(uint32_t final);
    void csi_dispatch(uint32_t final);
    void set_mode(bool priv, bool on);
    void sgr();
    void sgr_color(size_t& i, uint32_t& color);

    // Screen operations (screen_ops.cc).
    Line& cur_line() { return s_.grid().line(s_.cur_row); }
    int line_cols(int row) const {
        // Double-width and double-height lines hold half as many characters.
        return s_.grid().line(row).size == LineSize::Single ? s_.cols : (s_.cols / 2 > 1 ? s_.cols / 2 : 1);
    }
    void mark(int row) {
        dirty_[static_cast<size_t>(row)] = true;
        written_[static_cast<size_t>(row)] = true;
        any_dirty = true;
    }
    // Rows [from, to) whose lines moved (dirty, not written).
    void mark_moved(int from, int to);
    void linefeed();
    void reverse_index();
    void carriage_return();
    void wrap();
    void move_to(int row, int col);  // absolute, clamps, clears the pending wrap
    void cup(int row, int col);      // origin mode aware
    void cursor_up(int n);
    void cursor_down(int n);
    void tab(int n);
    void erase_cells(int row, int from, int to);  // [from, to)
    void erase_display(int how);
    void erase_line(int how);
    void insert_chars(int n);
    void delete_chars(int n);
    void insert_lines(int n);
    void delete_lines(int n);
    void scroll_region(int n);
    // As Grid::scroll moves lines: their identities and written flags.
    void scroll_ids(int top, int bottom, int n);
    void fresh_ids(int from);  // new identities for rows [from, rows)
    void set_region(int top, int bottom);
    void save_cursor();
    void restore_cursor();
    void switch_screen(bool alt);
    void soft_reset();
    void alignment_test();
    void repeat(int n);
    void fix_wide(Line& l, int col);  // before overwriting cell `col`

    uint32_t param(size_t i, uint32_t dflt) const { return i < nparams_ && params_[i] ? params_[i] : dflt; }

    ScreenState s_;
    std::vector<bool> dirty_, written_;
    bool all_dirty_ = true, all_written_ = true;
    std::vector<uint64_t> line_ids_;
    uint64_t next_line_id_ = 0;
    State state_ = State::Ground;
    // The sequence being parsed.
    static constexpr size_t kMaxParams = 32;
    uint32_t params_[kMaxParams] = {};
    bool sub_[kMaxParams] = {};  // introduced by ':' (a sub-parameter)
    size_t nparams_ = 0;
    uint32_t prefix_ = 0;  // CSI private marker: '?', '>', '=', '<'
    uint32_t inter_ = 0;   // intermediates, packed (at most two kept)
    bool overflow_ = false;
    bool osc_ = false;  // the string is an OSC (BEL ends it)
    // UTF-8 in progress.
    uint32_t utf8_cp_ = 0;
    int utf8_need_ = 0;
    uint8_t utf8_lo_ = 0x80, utf8_hi_ = 0xbf;
};

}  // namespace tlog::play::vt
