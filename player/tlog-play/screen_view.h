// Draws the terminal model's screen on the auditor's terminal: only rows
// that changed are rewritten and every row is regenerated from the model's
// cells (never the recording's bytes). The player's own lines (recorded
// input, a notice or the search prompt, the status line) go at the bottom:
// on rows the terminal has spare below the recording, or over the
// recording's last rows while they are shown; a row no longer covered is
// redrawn from the model, so hiding them restores the screen exactly. The
// help covers the whole screen the same way. A recording larger than the
// terminal is shown from an origin the auditor pans.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "tlog/play/term_model.h"

namespace tlog::play::cli {

class ScreenView {
public:
    void set_size(uint16_t rows, uint16_t cols);
    uint16_t rows() const { return rows_; }
    uint16_t cols() const { return cols_; }
    // Forget what is on the terminal: the next draw rewrites everything.
    void invalidate();
    // Shown at the bottom until `until_ms` (monotonic) or a new notice.
    void notice(const std::string& text, uint64_t until_ms);
    void clear_notice() { notice_.clear(); }
    // The search prompt: `text` is typed, `hint` follows it (the cursor
    // stays after `text`).
    void set_prompt(const std::string& text, const std::string& hint = "") {
        prompt_ = text;
        prompt_hint_ = hint;
    }
    void clear_prompt() { prompt_.clear(); }
    // The status line and the recorded input line; "" hides them.
    void set_status(const std::string& text) { status_ = text; }
    void set_input(const std::string& text) { input_ = text; }
    // Lines over the whole screen (the help); empty: none.
    void set_help(std::vector<std::string> lines) { help_ = std::move(lines); }
    bool help_shown() const { return !help_.empty(); }
    // How many bottom rows the player's own lines take now.
    int bottom_lines() const;
    // Those of them that stay (status, input), not notices or the prompt.
    int lasting_lines() const { return std::min<int>((!input_.empty()) + (!status_.empty()), rows_); }
    // The recording's cell shown at the terminal's top left.
    void set_origin(int row, int col) {
        origin_row_ = row;
        origin_col_ = col;
    }
    // Expires the notice; true if that changed the overlay.
    bool tick(uint64_t now_ms);
    // Bytes that bring the terminal to the model's screen.
    std::string render(const TermModel& m);

private:
    static std::string clean(const std::string& s, size_t max_cols);
    uint16_t rows_ = 24, cols_ = 80;
    std::vector<std::string> shown_;
    bool cleared_ = false;
    std::string notice_, prompt_, prompt_hint_, status_, input_;
    std::vector<std::string> help_;
    int origin_row_ = 0, origin_col_ = 0;
    uint64_t notice_until_ = 0;
};

}  // namespace tlog::play::cli
