// The non-interactive modes: --verify, --search, --export, --import (--list: list.h).
#pragma once

#include <string>
#include <vector>

#include "options.h"
#include "tlog/play/recording_index.h"

namespace tlog::play::cli {

int verify_command(const Options& o, const integrity::Keyring& keys);
// `prefix` starts each hit's line (the recording's name when a file holds several).
int search_command(const Options& o, const RecordingIndex& idx, const std::string& prefix = "");
int export_command(const Options& o, const RecordingIndex& idx);
int import_command(const Options& o);

// The recording ids a file's lines show, in order of first appearance
// (lines without an id belong to the recording being read: not counted).
std::vector<std::string> recording_ids(const std::string& path);
// Throws: the file holds several recordings, `what` takes one; names them
// and says how to pick one.
[[noreturn]] void refuse_several(const Options& o, const std::vector<std::string>& ids, const char* what);

}  // namespace tlog::play::cli
