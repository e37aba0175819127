// tlog-play's command line: tlog's option names, plus our additions.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "tlog/json.h"

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
    std::vector<std::string> journal_match;   // -M FIELD=VALUE
    std::string since, until;                 // -S/-U seconds since the epoch
    std::vector<std::string> journal_files;   // --journal-file: read these files, not the system journal
    std::string journal_namespace;            // -N
    std::vector<std::string> recorder_users;  // --recorder-user: whose journal entries are the recorder's
    // Remote readers (-r es, -r server).
    std::string es_baseurl, es_query;                 // --es-baseurl, --es-query
    std::string server_url, server_rec, server_host;  // --server-url, --server-rec, --server-host
    std::string ca_file;                              // --ca-file: https CAs
    // --list over many recordings.
    std::vector<std::string> list_paths;  // files and directories after the options (and -i)
    std::string list_since, list_until;   // --since/--until: human dates (see parse_when)
    bool wide = false;                    // --wide: whole values, more columns
    bool json = false;                    // --json: one JSON document
    bool help = false, version = false;
    bool configuration = false;  // --configuration: print the effective configuration and exit
    // Set by the player, not an option: strict playback of a recording with
    // a gap plays what precedes it and stops there with this error.
    std::optional<uint64_t> stop_ms;
    std::string stop_error;
};

// A configuration file or text is wrong; the message names it, the line,
// the column and the setting.
struct ConfigError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Where the configuration comes from, as tlog's tlog-play reads it: the
// system file SYSCONFDIR/tlog-play.conf, then the file TLOG_PLAY_CONF_FILE
// names, then the text of TLOG_PLAY_CONF_TEXT, then the command line. All
// injectable for tests.
struct ConfigSources {
    std::string sysconfdir;                          // "" = TLOG_SYSCONFDIR
    std::function<const char*(const char*)> getenv;  // default ::getenv
};

// The configuration layers before the command line, merged and checked with
// the programs' settings table (tlog/settings.h). Throws ConfigError.
json::Value load_configuration(const ConfigSources& sources = {});

// Throws std::invalid_argument with a message for the user, ConfigError for
// a bad configuration layer.
Options parse_options(int argc, char** argv, const ConfigSources& sources = {});

// The effective configuration in tlog-play.conf's keys (--configuration).
json::Value configuration_json(const Options& o);
void print_usage();

// "start", "end" (nullopt: the end) or [[HH:]MM:]SS[.sss] in ms. Throws
// std::invalid_argument.
std::optional<uint64_t> parse_time(const std::string& s);

}  // namespace tlog::play::cli
