// What a screen shows, for tools that keep it outside the player: the rows
// whose text changed at each rendering (the rule of tlog-play's screen
// search, screen_search.h), and the sequences that repaint a whole screen
// on a terminal that knows nothing of our snapshots.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tlog/play/term_model.h"

namespace tlog::play {

// Follows the screen's lines from one rendering to the next. A row is
// reported when its text is not empty and differs from what the same line
// (TermModel::line_id: it moves with the line when the screen scrolls)
// showed at the previous rendering; a line that entered blank showed "".
// For a pattern that does not match "" this reports a superset of the
// rows search_screen() reports, and a reported row matches exactly when
// search_screen() reports it: a stored row that contains a text is a hit
// of tlog-play's search for that text.
class RowChanges {
public:
    // The screen as the model shows it now is the baseline, not a change.
    void reset(TermModel& m);
    // One rendering (after the events of one recording position): calls
    // `changed(row, text)` for each changed row, then clears the model's
    // dirty rows.
    void render(TermModel& m, const std::function<void(int row, const std::string& text)>& changed);

    // What the next rendering compares with, for each row of the screen
    // as it is now (what the same line showed at the previous rendering,
    // and whether the row changed since), encoded: a keyframe taken
    // between two renderings (the messages of one instant) goes on with
    // it after a snapshot restore, which gives every line a new identity.
    std::string save(const TermModel& m) const;
    // After m.restore(): the baseline save() kept. False (and reset()) when
    // `saved` does not fit the screen.
    bool restore(TermModel& m, std::string_view saved);

private:
    struct Row {
        uint64_t id = 0;
        std::string text;
        // Changed before a restore (save()'s dirty rows): rendered at the
        // next rendering, wherever a scroll moves the line meanwhile.
        bool forced = false;
    };
    std::vector<Row> cur_, next_;
    bool any_forced_ = false;
    // Kept between renderings so that they allocate once.
    std::string buf_;
    std::vector<std::pair<uint64_t, size_t>> where_;
};

// Sequences that draw the model's screen on a terminal of at least its
// size: reset attributes, clear, every row, then the cursor's place and
// visibility. Only what the cells hold is emitted (TermModel::draw_row:
// never a control character from the recording).
std::string repaint(const TermModel& m);

}  // namespace tlog::play
