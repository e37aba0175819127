// The programs' settings: one table of every key tlog-rec, tlog-rec-session
// and tlog-play accept in their configuration (tlog's names), its type, which
// programs take it and whether it can weaken the recording. The recorders
// check each configuration layer with it, tlog-play its own, and
// tlog-policy a rule's settings, so a rule cannot carry what the recorder
// refuses. In librec because the rules (libtlogpolicy), the recorder and the
// player depend on it and none of them may depend on another.
#pragma once

#include <string>
#include <vector>

#include "tlog/api.h"
#include "tlog/json.h"

namespace tlog::settings {

enum class Program { Rec, RecSession, Play };
TLOG_API const char* program_name(Program p);  // "tlog-rec", "tlog-rec-session", "tlog-play"

// Checks one layer (a JSON object) against the table and merges it into
// `into`: objects key by key, other values replace. `trusted` false: only the
// keys that cannot weaken the recording (shell, notice, ...) are taken, the
// others are appended to `ignored` with why. Throws InputError naming
// `source`, the line and column of the value, the key and what was expected.
TLOG_API void merge_layer(json::Value& into, const json::Value& layer, const std::string& source, Program p,
                          bool trusted = true, std::vector<std::string>* ignored = nullptr);

// Checks a layer without merging it anywhere.
TLOG_API void check_layer(const json::Value& layer, const std::string& source, Program p);

// Reads a configuration file (at most 1 MiB) and parses it in tlog's syntax
// (json::ParseOptions::tlog_configuration()) as a JSON object. Throws
// InputError naming the file, and the line and column of a syntax error.
TLOG_API json::Value read_layer_file(const std::string& path);

// Parses a configuration text (a *_CONF_TEXT variable) the same way.
TLOG_API json::Value parse_layer(const std::string& text, const std::string& source);

}  // namespace tlog::settings
