// tlog-play's command line: tlog's option names, plus our additions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tlog::play::cli {

struct Options {
    std::string reader = "file";
    std::string path;   // -i
    std::string match;  // -m: recording id
    bool follow = false;
    double speed = 1.0;
    std::string go;  // -g: start|end|[[HH:]MM:]SS[.sss]
    bool paused = false;
    bool persist = false;
    bool lax = false;
    uint64_t idle_limit_ms = 0;  // 0: no limit
    bool status = false;         // --status: the status line from the start
    bool show_input = false;     // --show-input: recorded keystrokes shown (can hold passwords)
    bool exit_at_end = false;    // --exit-at-end: tlog's behaviour, no end-of-recording state
    // Other modes.
    bool list = false;
    bool verify = false;
    std::string search;         // --search REGEX
    bool ignore_case = false;   // -I: the search (and / and ?) ignores case
    bool fixed_string = false;  // -F: the pattern is plain text
    std::string export_format;  // asciicast, asciicast2, asciicast3, text, raw
    std::string output = "-";   // -o
    bool export_input = false;
    bool force = false;              // --force: -o may replace an existing file
    std::string import;              // --import FILE
    std::string import_format;       // asciicast | script (default: by content)
    std::string timing;              // --timing FILE (script)
    std::string rec_id, user, host;  // for imports
    std::vector<std::string> keys;   // --key FILE (integrity)
    std::string cache_dir;           // "" = default
    bool no_cache = false;
    std::optional<uint64_t> cache_max;  // --cache-max; unset: $TLOG_PLAY_CACHE_MAX or 1 GiB
    uint64_t keyframe_bytes = 1 << 20;
    uint64_t keyframe_ms = 30000;
    // Journal reader.
    std::vector<std::string> journal_match;  // -M FIELD=VALUE
    std::string since, until;                // -S/-U seconds since the epoch
    std::vector<std::string> journal_files;  // --journal-file: read these files, not the system journal
    std::string journal_namespace;           // -N
    bool help = false, version = false;
    // Set by the player, not an option: strict playback of a recording with
    // a gap plays what precedes it and stops there with this error.
    std::optional<uint64_t> stop_ms;
    std::string stop_error;
};

// Throws std::invalid_argument with a message for the user.
Options parse_options(int argc, char** argv);
void print_usage();

// "start", "end" (nullopt: the end) or [[HH:]MM:]SS[.sss] in ms. Throws
// std::invalid_argument.
std::optional<uint64_t> parse_time(const std::string& s);

}  // namespace tlog::play::cli
