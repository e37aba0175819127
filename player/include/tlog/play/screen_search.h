// Search over what the screen showed, not over the byte stream: curses
// programs redraw a word in pieces, so only the rendered rows can be matched.
// A hit is reported when a row starts matching (a row that keeps matching
// while other rows change is not reported again).
#pragma once

#include <regex.h>

#include <cstdint>
#include <functional>
#include <string>

#include "tlog/play/playback.h"

namespace tlog::play {

// A compiled POSIX extended regular expression (RAII over regex_t).
class Regex {
public:
    // Throws std::invalid_argument with regerror's text.
    explicit Regex(const std::string& pattern, bool icase = false);
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
    std::string text;   // the row's text
};

// Plays the recording from `from_ms` (exclusive, except 0: rows already
// matching there are not hits) and calls `hit` for each hit until it returns false or
// the recording ends. Returns the number of hits reported.
// `keep_going`, when set, is asked every few hundred events whether to go
// on (an interactive search the auditor cancels).
uint64_t search_screen(Playback& pb, const Regex& re, uint64_t from_ms, const std::function<bool(const SearchHit&)>& hit,
                       const std::function<bool(uint64_t pos_ms)>& keep_going = {});

} // namespace tlog::play
