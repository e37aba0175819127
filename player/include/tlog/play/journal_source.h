// -r journal: recordings tlog-rec wrote to the systemd journal (one message
// per entry, in MESSAGE, with TLOG_REC, TLOG_USER, TLOG_SESSION, TLOG_ID
// beside it). The matching messages are copied, in journal order, into a
// private file that the player then indexes and plays like any recording:
// seeking, search and export work the same, and the journal is read once.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tlog::play {

struct JournalQuery {
    std::vector<std::string> matches;  // "FIELD=VALUE" (tlog's -M)
    std::string rec;                   // adds TLOG_REC=REC when set
    uint64_t since_us = 0;             // realtime, microseconds; 0: from the start
    uint64_t until_us = 0;             // 0: to the end
    std::vector<std::string> files;    // journal files to read instead of the system journal
};

// Writes the MESSAGE of every matching entry, one a line, to `out_path`
// (created mode 0600). Returns the number of messages. Throws
// std::runtime_error naming what failed.
uint64_t journal_to_file(const JournalQuery& q, const std::string& out_path);

// "SECONDS" since the epoch (tlog's -S/-U) in microseconds. Throws
// std::invalid_argument.
uint64_t parse_epoch_seconds(const std::string& s);

} // namespace tlog::play
