// Export of a recording to asciicast v2/v3, rendered text and raw output
// bytes; import of asciicast v2/v3 and `script -T` typescripts into tlog
// format through librec's Encoder. All streaming: memory stays bounded
// whatever the recording's size.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>

#include "tlog/encoder.h"
#include "tlog/play/playback.h"
#include "tlog/play/recording_index.h"

namespace tlog::play {

struct ExportOptions {
    std::string rec;                // recording id in the file (as indexed)
    bool input = false;             // asciicast: include the recorded input ("i" events)
    uint64_t text_pause_ms = 1000;  // text: print the screen after output pauses this long
};

// asciicast v2 (absolute times) or v3 (intervals). Invalid UTF-8 in the
// output becomes U+FFFD, as asciicast strings are text.
void export_asciicast(const std::string& path, const RecordingIndex& idx, int version, const ExportOptions& opts,
                      std::ostream& out);
// The output bytes exactly as recorded.
void export_raw(const std::string& path, const RecordingIndex& idx, std::ostream& out);
// The rendered screen, with its time, each time the output pauses and at the end.
void export_text(const std::string& path, const RecordingIndex& idx, const ExportOptions& opts, std::ostream& out);
// What the session showed, as text, each line once, in order: a line is
// written when it leaves the screen (scrolls off the top, or the screen
// shrinks), when it is erased (its last text), and at the end (the final
// screen down to its last non-blank row). A full-screen program (the
// alternate screen) is written as one snapshot of its last screen, framed,
// when it leaves it. doc/player-design.md has the rules.
void export_transcript(const std::string& path, const RecordingIndex& idx, std::ostream& out);

struct ImportOptions {
    RecordingInfo info;  // host, rec, user, term, session of the new recording
    EncoderOptions encoder;
    uint16_t cols = 0, rows = 0;  // script: terminal size when the timing file does not say (default 80x24)
};

// The asciicast file's version (2 or 3) is read from its header. Throws
// InputError naming the line. Returns the number of events imported.
uint64_t import_asciicast(const std::string& path, const ImportOptions& opts, MessageSink& out);
// `script -T TIMING TYPESCRIPT` (classic "DELAY BYTES" or advanced
// "O DELAY BYTES" timing).
uint64_t import_script(const std::string& typescript, const std::string& timing, const ImportOptions& opts,
                       MessageSink& out);

// "HH:MM:SS.mmm" for a position in ms.
std::string format_ms(uint64_t ms);

}  // namespace tlog::play
