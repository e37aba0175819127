// Draws the terminal model's screen on the auditor's terminal: only rows
// that changed are rewritten, every row is regenerated from the model's
// cells (never the recording's bytes), and the last row can carry a notice
// or the search prompt.
#pragma once

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
    // Shown on the last row until `until_ms` (monotonic) or a new notice.
    void notice(const std::string& text, uint64_t until_ms);
    void set_prompt(const std::string& text) { prompt_ = text; }
    void clear_prompt() { prompt_.clear(); }
    // Expires the notice; true if that changed the overlay.
    bool tick(uint64_t now_ms);
    // Bytes that bring the terminal to the model's screen.
    std::string render(const TermModel& m);

private:
    static std::string clean(const std::string& s, size_t max_cols);
    uint16_t rows_ = 24, cols_ = 80;
    std::vector<std::string> shown_;
    bool cleared_ = false;
    std::string notice_, prompt_;
    uint64_t notice_until_ = 0;
};

}  // namespace tlog::play::cli
