// Retention (doc/server.md, "Retention"): each recording's class decided
// from the rule its audit start event names, runs that purge or archive
// the recordings past their class's limits, legal holds that keep
// recordings from any run, and the tombstones every purge leaves.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tlog/proof/proof.h"
#include "tlog/server/store.h"

namespace tlog::server {

struct RetentionClass {
    std::string name;
    uint64_t days = 0;  // kept this long after its last message
    // The class's recordings together keep at most this many bytes of
    // stored JSON: beyond it the oldest (by last message) go first.
    std::optional<uint64_t> max_bytes;
    enum class Action { Purge, Archive };
    Action action = Action::Purge;
    std::string archive_dir;  // Archive: where each run's directory is made
    // A legal hold on the whole class (the directory's tlogRetentionHold):
    // its recordings are reported held, never purged.
    bool hold = false;
    std::string source;  // where it is defined: "" the configuration file, else "ldap:///DN"
};

struct RetentionSettings {
    std::map<std::string, RetentionClass> classes;
    // The class of a recording whose rule maps to no class, or that has no
    // start event; "": such recordings are kept.
    std::string default_class;
    // Rule name (the audit start event's `rule`) -> class. A class
    // configured nowhere (a directory rule's, retention_ldap.h) is still
    // the recording's: it is kept and reported "class not configured".
    std::map<std::string, std::string> rules;
    // retention_ldap: an ldap.yaml (tlog-policy's format) whose directory
    // adds classes and rules' classes at each run (retention_ldap.h); "": none.
    std::string ldap;
};

// A legal hold: every given field must match (empty: any). It holds the
// matching recordings stored now and later, until cleared.
struct RetentionHold {
    uint64_t id = 0;
    std::string host, rec, user, reason, set_by;
    uint64_t set_ms = 0;
    std::string cleared_by, clear_reason;
    uint64_t cleared_ms = 0;  // 0: in force
};

// A purged recording, kept for ever.
struct Tombstone {
    uint64_t id = 0, run_ms = 0;  // run_ms: the run's clock (--now)
    uint64_t purged_ms = 0;       // the real clock when it was purged
    std::string who, account;     // who: the CLI's user or "timer"; account: the process's user
    std::string host, rec, user;
    uint64_t first_ms = 0, last_ms = 0, messages = 0, bytes = 0;
    std::string sha256;  // over its messages as stored, each followed by "\n"
    std::string action;  // "purge" or "archive"
    std::string archive_file, archive_sha256;
    std::string class_name, reason;  // reason: "age" or "size"
    // Signed (a checkpoint key configured): the recording's
    // proof::RecordingHash and count at purge time, the key's fingerprint
    // and its signature (hex) over tombstone_statement(). Empty: unsigned.
    std::string rec_hash;
    uint64_t rec_count = 0;
    std::string key_id, signature;
};

// The statement a tombstone's signature is over (proof::TombstoneStatement).
// Throws std::runtime_error when its rec_hash is not 64 hex digits.
proof::TombstoneStatement tombstone_statement(const Tombstone& t);

struct RetentionRunOptions {
    uint64_t now_ms = 0;
    bool dry_run = false;
    std::string who, account;
    // The checkpoint key (checkpoint_key): each tombstone is signed with it.
    const proof::Key* key = nullptr;
};

// What a run did (or would do, dry) with one recording past its limit or held.
struct RetentionItem {
    std::string host, rec, user, class_name, reason;
    uint64_t last_ms = 0, messages = 0, bytes = 0;
    // "purged", "archived", "held", "would purge", "would archive",
    // "changed" (a message came during the run: left for the next run),
    // "busy" (a server's indexer was at it: left for the next run),
    // "class not configured" (kept).
    std::string outcome;
    Tombstone tombstone;  // when purged or archived
};

struct RetentionReport {
    uint64_t sessions = 0, classes_decided = 0;
    std::string archive_dir, manifest;  // this run's, when it archived
    std::vector<RetentionItem> items;
};

// Runs retention over `store` (the server's configuration's settings):
// decides the class of the recordings that have none (or had no start
// event then), then purges or archives and purges each recording past
// its class's limit that no hold matches. Messages are read through the
// Store interface; recordings are purged a group a transaction (each checked
// unchanged since it was read).
RetentionReport run_retention(Store& store, const RetentionSettings& settings, const RetentionRunOptions& opt);

// Holds; `clear_holds` clears those whose host, rec and user are exactly
// these and returns how many.
uint64_t set_hold(Store& store, const RetentionHold& h);
uint64_t clear_holds(Store& store, const RetentionHold& h);
std::vector<RetentionHold> list_holds(Store& store, bool with_cleared);
std::vector<Tombstone> list_tombstones(Store& store);
// The class recorded for a recording; nullopt: not decided yet.
std::optional<std::string> recorded_class(Store& store, const std::string& host, const std::string& rec);

// Seconds since the epoch or YYYY-MM-DDTHH:MM:SSZ, in milliseconds; throws
// std::invalid_argument naming `what`.
uint64_t retention_time(const std::string& text, const std::string& what);

std::string tombstone_json(const Tombstone& t);

}  // namespace tlog::server
