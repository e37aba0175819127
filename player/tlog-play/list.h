// --list over many recordings: files, directories (recursively) or the
// journal, filtered by user, host and time, sorted by start, as an 80-column
// table, a wide one, or one JSON document.
#pragma once

#include <cstdint>
#include <ctime>
#include <memory>
#include <string>

#include "options.h"
#include "tlog/integrity.h"
#include "tlog/play/journal_source.h"

namespace tlog::play::cli {

// A human date for --since/--until, in ms since the epoch (local time
// unless it ends in Z or " UTC"): YYYY-MM-DD, YYYY-MM-DD HH:MM[:SS] (or a
// T between), today, yesterday, tomorrow (their midnight), now, -N or +N
// with s, m, h, d or w (from now), @SECONDS. Throws std::invalid_argument
// naming `option` and the value.
uint64_t parse_when(const std::string& value, const char* option, time_t now);

// Lists what `o` names: o.list_paths and o.path, or, with `journal` (the
// journal's private copy, at o.path), the journal. Returns the exit status:
// 1 when anything is damaged, unreadable or forged.
int list_many(const Options& o, const integrity::Keyring& keys, const std::shared_ptr<JournalEntries>& journal);

}  // namespace tlog::play::cli
