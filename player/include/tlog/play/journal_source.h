// -r journal: recordings tlog-rec wrote to the systemd journal (one message
// per entry, in MESSAGE, with TLOG_REC, TLOG_USER, TLOG_SESSION, TLOG_ID
// beside it). The matching messages are copied, in journal order, into a
// private file that the player then indexes and plays like any recording:
// seeking, search and export work the same, and the journal is read once.
// Only entries that carry a recording are copied, and only those the
// recorder wrote: any local user can send an entry with any TLOG_* field
// (`logger --journald`), so an entry whose trusted _UID is not the
// recorder's is reported as forged and left out. The copy's line numbers
// never reach the auditor: JournalEntries names each line by its entry.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
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
    // The uids whose entries are the recorder's (tlog-play --recorder-user);
    // empty: recorder_uids_default().
    std::vector<uid_t> recorder_uids;
    // Resume after this entry (a cursor next() gave); empty: q.since_us.
    std::string after_cursor;
};

// Root and the `tlog` account (tlog-rec-session runs as tlog, or as root
// when there is no such account); root also because it can rewrite the
// journal's files anyway.
std::vector<uid_t> recorder_uids_default();
// "NAME" or "UID" of a recorder account. Throws std::invalid_argument.
uid_t parse_recorder_user(const std::string& s);

// An entry with a recording's fields that the recorder did not write.
struct ForgedEntry {
    std::string name;  // "journal entry CURSOR (TIME)"
    std::string uid;   // its trusted _UID ("" when it has none)
    std::string rec;   // the recording it claims (TLOG_REC or the message's "rec")
};

// What each line of the private copy was in the journal (or on the server,
// for -r es and -r server: remote_source.h), and the entries left out as
// forged. Shared by the thread that copies (-f) and the one that reports;
// every member is safe to call from both.
class JournalEntries {
public:
    // `source`: what the copy stands for, as the auditor is told it.
    explicit JournalEntries(std::string copy_path, std::string source = "the journal")
        : copy_path_(std::move(copy_path)), source_(std::move(source)) {}
    const std::string& copy_path() const { return copy_path_; }
    const std::string& source() const { return source_; }
    // The next line of the copy holds this entry's message.
    void add_line(const std::string& name);
    void add_forged(ForgedEntry f);
    std::vector<ForgedEntry> forged() const;
    // The forged entries reported so far, forgotten here (a long-running
    // reader's memory must not grow with what others write to the journal).
    std::vector<ForgedEntry> take_forged();
    // "journal entry CURSOR (TIME)" for line `line` (1-based) of the copy.
    std::string name(uint64_t line) const;
    // `text` with every "COPY_PATH:LINE[:COL]" replaced by the entry's name
    // and the copy's path alone by the source ("the journal").
    std::string rewrite(std::string_view text) const;

private:
    std::string copy_path_;
    std::string source_;
    mutable std::mutex mu_;
    std::vector<std::string> names_;
    std::vector<ForgedEntry> forged_;
};

// "journal entry CURSOR (YYYY-MM-DDTHH:MM:SS.uuuuuuZ)" of the entry `j` is at.
std::string journal_entry_name(::sd_journal* j);

struct sd_journal_deleter {
    void operator()(::sd_journal* j) const;
};

// Reads the matching entries in order and keeps its place, so that new
// entries can be copied as they arrive (--follow). Use from one thread.
class JournalReader {
public:
    // Opens the journal (or q.files), adds the matches, seeks to q.since_us.
    // Throws std::runtime_error / std::invalid_argument.
    // `entries` (may be null) learns each line copied and each forged entry.
    explicit JournalReader(const JournalQuery& q, std::shared_ptr<JournalEntries> entries = nullptr);
    // Appends the MESSAGE of each matching recorder entry not copied yet,
    // one a line, to `fd`. Returns how many.
    uint64_t copy_new(int fd);
    // The next matching recorder entry: its MESSAGE (a newline inside
    // becomes \x01, as in copy_new) and its cursor. False when there is
    // none yet.
    bool next(std::string& message, std::string& cursor);
    // Sleeps until the journal changes or `timeout_us` passes.
    void wait(uint64_t timeout_us);
    // When q.after_cursor's entry is no longer in the journal (vacuumed),
    // what was lost: "entries from T1 to T2", T2 the oldest entry still
    // there; empty when the cursor was found (or none was given).
    const std::string& lost_after_cursor() const { return lost_; }

private:
    // Moves to the next entry that carries a recording and was written by
    // the recorder; `msg` is its MESSAGE.
    bool next_entry(std::string_view& msg);
    void seek_after(const std::string& cursor);
    std::unique_ptr<::sd_journal, sd_journal_deleter> j_;
    std::string lost_;
    uint64_t since_us_, until_us_;
    bool past_until_ = false;
    std::vector<uid_t> uids_;
    std::shared_ptr<JournalEntries> entries_;
};

// Writes the MESSAGE of every matching entry, one a line, to `out_path`
// (created mode 0600). Returns the number of messages. Throws
// std::runtime_error naming what failed.
uint64_t journal_to_file(const JournalQuery& q, const std::string& out_path,
                         std::shared_ptr<JournalEntries> entries = nullptr);

// "SECONDS" since the epoch (tlog's -S/-U) in microseconds. Throws
// std::invalid_argument.
uint64_t parse_epoch_seconds(const std::string& s);

}  // namespace tlog::play
