// The interactive player: plays an indexed recording on the terminal at
// speed, with tlog's keys plus seeking and search.
#pragma once

#include <string>

#include "options.h"
#include "tlog/play/index_cache.h"
#include "tlog/play/recording_index.h"

namespace tlog::play::cli {

// Returns the exit status. With `background`, `idx` is a start-only index
// and the full one is built (and cached) by a thread while playing; until
// it is ready, seeks backwards and to percentages wait for it.
int play_interactive(const Options& o, const std::string& path, const RecordingIndex& idx,
                     const CacheOptions* background);

}  // namespace tlog::play::cli
