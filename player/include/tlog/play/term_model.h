// The terminal model: one emulated terminal (libvterm, doc/terminal-model.md)
// that replays a recording's output and gives back its screen as text, as
// sequences to draw it on a real terminal, and as snapshots to seek with.
// Nothing the recording contains ever leaves the model: answers the
// emulated terminal would send (device reports, DECRQSS, ...) are dropped,
// and what is drawn is regenerated from the cells.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tlog/play/snapshot.h"
#include "tlog/play/vt_tracker.h"

struct VTerm;

namespace tlog::play {

class TermModel {
public:
    TermModel(uint16_t rows = 24, uint16_t cols = 80);
    ~TermModel();
    TermModel(const TermModel&) = delete;
    TermModel& operator=(const TermModel&) = delete;

    void feed(std::string_view bytes);
    void resize(uint16_t rows, uint16_t cols);
    // Back to a blank screen of the given size.
    void reset(uint16_t rows, uint16_t cols);

    uint16_t rows() const { return rows_; }
    uint16_t cols() const { return cols_; }
    int cursor_row() const;
    int cursor_col() const;
    bool cursor_visible() const { return cursor_visible_; }
    bool alt_screen() const { return alt_; }
    // Between escape sequences: a snapshot taken here restores exactly.
    bool at_ground() const { return tracker_.at_ground(); }

    Snapshot snapshot() const;
    void restore(const Snapshot& s);

    // One row as UTF-8 text, trailing blanks removed.
    std::string row_text(int row) const;
    // The whole screen, rows joined with '\n', trailing empty rows kept.
    std::string text() const;
    // SGR and characters that draw `row` from column 0 on a real terminal,
    // clipped to `max_cols`; control characters are never emitted. Ends
    // with the attributes reset.
    std::string draw_row(int row, int max_cols) const;

    // Rows changed since the last clear_dirty() (tracked only when enabled,
    // since it costs a callback per change).
    void track_dirty(bool on);
    const std::vector<bool>& dirty() const { return dirty_; }
    bool any_dirty() const { return any_dirty_; }
    void clear_dirty();

    // Bytes fed since construction (statistics for the index).
    uint64_t fed() const { return fed_; }

private:
    struct VTermFree {
        void operator()(VTerm* vt) const;
    };
    void setup();
    void feed_vterm(std::string_view bytes);
    std::string_view sanitize(std::string_view bytes);
    void repeat_last(uint32_t count);
    std::string draw_cells(bool restore, int max_cols, int row) const;
    std::string all_cells() const;
    void mark_dirty(int start_row, int end_row);
    friend struct ModelCallbacks;

    std::unique_ptr<VTerm, VTermFree> vt_;
    uint16_t rows_, cols_;
    VtTracker tracker_;
    bool cursor_visible_ = true;
    bool alt_ = false;
    std::string primary_;       // the primary screen saved when the alternate one was entered
    uint16_t primary_row_ = 0, primary_col_ = 0;
    bool tracking_ = false;
    bool any_dirty_ = false;
    std::vector<bool> dirty_;
    uint64_t fed_ = 0;
    bool c1_carry_ = false;     // a C2 byte ended the last write
    std::string clean_;         // sanitize()'s output when it had to change something
};

} // namespace tlog::play
