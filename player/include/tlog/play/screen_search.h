// Search over what the screen showed, not over the byte stream: curses
// programs redraw a word in pieces, so only the rendered rows can be matched.
// A hit is a row that matches and whose text changed since the previous
// rendering (the previous event), compared with what the same line showed:
// lines are followed through scrolls (TermModel::line_id), so a line that
// only moved is not a hit, and a line that entered blank showed "". The
// same text elsewhere on the screen does not matter: a command run twice
// while its first run is still shown is two hits.
#pragma once

#include <regex.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "tlog/play/playback.h"

namespace tlog::play {

// A compiled POSIX extended regular expression (RAII over regex_t).
class Regex {
public:
    // Throws std::invalid_argument with regerror's text. `icase`: letters
    // match either case; `fixed`: the pattern is plain text (every ERE
    // special character is escaped before compiling).
    explicit Regex(const std::string& pattern, bool icase = false, bool fixed = false);
    ~Regex();
    Regex(const Regex&) = delete;
    Regex& operator=(const Regex&) = delete;
    bool search(const std::string& text) const;

private:
    regex_t re_;
};

struct SearchHit {
    uint64_t pos_ms = 0;
    int row = 0;
    std::string text;  // the row's text
};

// Plays the recording from `from_ms` (exclusive, except 0: rows already
// matching there are not hits) and calls `hit` for each hit until it returns false,
// the recording ends or the next event is after `until_ms`. Returns the
// number of hits reported. A search over (a, b] finds exactly the hits a
// search from the start finds there, so a backward search can scan
// keyframe intervals one by one.
// `keep_going`, when set, is asked every few hundred events whether to go
// on (an interactive search the auditor cancels).
uint64_t search_screen(Playback& pb, const Regex& re, uint64_t from_ms,
                       const std::function<bool(const SearchHit&)>& hit,
                       const std::function<bool(uint64_t pos_ms)>& keep_going = {}, uint64_t until_ms = UINT64_MAX);

// The last hit before `before_ms`: the hit a search from the start would
// report last with a time below `before_ms`. Scans one keyframe interval
// at a time backwards from `before_ms`, so it costs what the distance to
// the hit costs, not what the recording costs. nullopt when there is none
// or `keep_going` said stop.
std::optional<SearchHit> search_screen_backward(Playback& pb, const Regex& re, uint64_t before_ms,
                                                const std::function<bool(uint64_t pos_ms)>& keep_going = {});

}  // namespace tlog::play
