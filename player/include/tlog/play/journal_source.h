// -r journal: recordings tlog-rec wrote to the systemd journal (one message
// per entry, in MESSAGE, with TLOG_REC, TLOG_USER, TLOG_SESSION, TLOG_ID
// beside it). The matching messages are copied, in journal order, into a
// private file that the player then indexes and plays like any recording:
// seeking, search and export work the same, and the journal is read once.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

struct sd_journal;  // <systemd/sd-journal.h>

namespace tlog::play {

struct JournalQuery {
    std::vector<std::string> matches;  // "FIELD=VALUE" (tlog's -M)
    std::string rec;                   // adds TLOG_REC=REC when set
    uint64_t since_us = 0;             // realtime, microseconds; 0: from the start
    uint64_t until_us = 0;             // 0: to the end
    std::vector<std::string> files;    // journal files to read instead of the system journal
    // Journal namespace (tlog's -N, journalctl's --namespace): "NS" only
    // that namespace, "+NS" it and the default one, "*" all of them; empty:
    // the default namespace.
    std::string ns;
};

struct sd_journal_deleter {
    void operator()(::sd_journal* j) const;
};

// Reads the matching entries in order and keeps its place, so that new
// entries can be copied as they arrive (--follow). Use from one thread.
class JournalReader {
public:
    // Opens the journal (or q.files), adds the matches, seeks to q.since_us.
    // Throws std::runtime_error / std::invalid_argument.
    explicit JournalReader(const JournalQuery& q);
    // Appends the MESSAGE of each matching entry not copied yet, one a line,
    // to `fd`. Returns how many.
    uint64_t copy_new(int fd);
    // Sleeps until the journal changes or `timeout_us` passes.
    void wait(uint64_t timeout_us);

private:
    std::unique_ptr<::sd_journal, sd_journal_deleter> j_;
    uint64_t since_us_, until_us_;
    bool past_until_ = false;
};

// Writes the MESSAGE of every matching entry, one a line, to `out_path`
// (created mode 0600). Returns the number of messages. Throws
// std::runtime_error naming what failed.
uint64_t journal_to_file(const JournalQuery& q, const std::string& out_path);

// "SECONDS" since the epoch (tlog's -S/-U) in microseconds. Throws
// std::invalid_argument.
uint64_t parse_epoch_seconds(const std::string& s);

}  // namespace tlog::play
