// The interactive player: plays an indexed recording on the terminal at
// speed, with tlog's keys plus seeking and search.
#pragma once

#include <string>

#include "options.h"
#include "tlog/play/recording_index.h"

namespace tlog::play::cli {

// Returns the exit status.
int play_interactive(const Options& o, const std::string& path, const RecordingIndex& idx);

} // namespace tlog::play::cli
