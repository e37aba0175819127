// --list: every recording in a file, in one pass (one decoder per recording
// id), with who/where/when, size and integrity verdict.
#pragma once

#include <string>
#include <vector>

#include "tlog/decoder.h"
#include "tlog/play/recording_index.h"

namespace tlog::play {

// Summaries in order of first appearance. Recordings are decoded in lax
// mode so one damaged recording does not hide the others: its verdict and
// problems say what is wrong.
std::vector<RecordingSummary> list_recordings(const std::string& path, const integrity::Keyring* keys = nullptr);

}  // namespace tlog::play
