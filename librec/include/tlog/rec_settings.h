// The recorders' settings: one table of every key tlog-rec and
// tlog-rec-session accept, its type, and whether it can weaken the recording.
// The recorders check each configuration layer with it; tlog-policy checks a
// rule's settings with it, so a rule cannot carry what the recorder refuses.
// In librec because the rules (libtlogpolicy) and the recorder both depend
// on it and neither may depend on the other.
#pragma once

#include <string>
#include <vector>

#include "tlog/api.h"
#include "tlog/json.h"

namespace tlog::settings {

enum class Program { Rec, RecSession };
TLOG_API const char* program_name(Program p);  // "tlog-rec" / "tlog-rec-session"

// Checks one layer (a JSON object) against the table and merges it into
// `into`: objects key by key, other values replace. `trusted` false: only the
// keys that cannot weaken the recording (shell, notice, ...) are taken, the
// others are appended to `ignored` with why. Throws InputError naming
// `source`, the line and column of the value, the key and what was expected.
TLOG_API void merge_layer(json::Value& into, const json::Value& layer, const std::string& source, Program p,
                          bool trusted = true, std::vector<std::string>* ignored = nullptr);

// Checks a layer without merging it anywhere.
TLOG_API void check_layer(const json::Value& layer, const std::string& source, Program p);

}  // namespace tlog::settings
