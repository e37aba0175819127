// The non-interactive modes: --list, --verify, --search, --export, --import.
#pragma once

#include "options.h"
#include "tlog/play/recording_index.h"

namespace tlog::play::cli {

int list_command(const Options& o, const integrity::Keyring& keys);
int verify_command(const Options& o, const integrity::Keyring& keys);
int search_command(const Options& o, const RecordingIndex& idx);
int export_command(const Options& o, const RecordingIndex& idx);
int import_command(const Options& o);

}  // namespace tlog::play::cli
