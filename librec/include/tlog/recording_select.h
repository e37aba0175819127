// Which message lines belong to which recording, when one file or log
// stream holds several interleaved recordings (doc/format.md, `rec`). The
// rule, in one place for every reader:
//   - a blank line (only spaces, tabs, CRs) belongs to no recording;
//   - a line whose "rec" string can be read without parsing the whole line
//     (peek_rec) belongs to the recording of that id;
//   - any other line belongs to the recording being read: it is decoded, and
//     the decoder judges it.
// Depends on the decoder's peek_rec only (pure format knowledge).
#pragma once

#include <string>
#include <string_view>

#include "tlog/api.h"

namespace tlog {

enum class LineRecording {
    Blank,  // belongs to no recording
    Id,     // belongs to the recording whose id was stored
    NoId,   // no plain "rec" string: belongs to the recording being read
};

// Classifies `line`; for Id, `rec` holds the id (else its content is unspecified).
TLOG_API LineRecording line_recording(std::string_view line, std::string& rec);

// Picks the lines of one recording out of a file, line by line.
class TLOG_API RecordingSelector {
public:
    // `rec`: the recording to read; empty: the first one whose non-empty id
    // a line shows (lines before it without an id, or with an empty one,
    // are taken too).
    explicit RecordingSelector(std::string rec = {});
    // The recording `rec` even when empty: only lines without a plain id
    // and lines of id `rec` are taken (playing a recording already indexed).
    static RecordingSelector exactly(std::string rec);

    // True if `line` belongs to the selected recording (choosing it on the
    // first id when none was given).
    bool take(std::string_view line);
    // The recording chosen so far ("" while none is).
    const std::string& selected() const { return selected_; }

private:
    std::string selected_, peek_;
    bool chosen_;
};

}  // namespace tlog
