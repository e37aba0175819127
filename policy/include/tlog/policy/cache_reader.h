// Reading the compiled policy cache. Used by nss_tlog, so this unit depends on
// libc only (no yaml-cpp, no librec, no exceptions thrown, no allocation on the
// lookup path), and every read is bounds-checked by check() first.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>

#include "tlog/policy/cache_format.h"

namespace tlog::policy::cache {

// The session kinds of the class table (class = 3 * service index + kind).
// Unknown: the login program cannot tell yet (sshd's PAM_TTY "ssh"); the
// decision is then made for all three kinds.
enum class Kind : uint8_t { Interactive = 0, Command = 1, Transfer = 2, Unknown = 3 };
const char* kind_name(Kind k);  // "interactive", ..., "interactive or command"

// Pass as the service to ask for the NSS view: every service, named or not.
constexpr const char* kAnyService = nullptr;

// The answer for one user, service and session kind: the only place that
// turns the cache's classes, rules and default flag into a decision. Plain
// data pointing into the mapping (valid as long as the View's bytes are).
struct Decision {
    bool recorded = false;
    uint32_t rank = kNone;        // the deciding rule's rank; kNone: the default decided
    const char* rule = "";        // the deciding rule's name; "" when the default decided
    const char* settings = "{}";  // the rule's recorder settings (JSON object text)
    const char* retention = "";
    uint8_t audit = 2;  // 0 none, 1 login, 2 session (the default: session)
    // Kind::Unknown only: the answer for each kind (interactive, command,
    // transfer); recorded is true if any kind is, and the rule and settings
    // are those of the first recorded kind (else of the interactive one).
    bool per_kind = false;
    bool kind_recorded[3] = {false, false, false};

    // The reason, one line for logs: "recorded by rule 'R'", "not recorded by
    // the default: no rule matches", plus " (kinds recorded: ...)" when only
    // some kinds are. Writes at most n bytes including the NUL (truncating)
    // and returns the length the whole text has, like snprintf.
    size_t reason(char* buf, size_t n) const;
};

// A checked view of cache bytes. Build it only with open(); the bytes must
// outlive it (nss_tlog keeps the mapping as long as the view).
class View {
public:
    View() = default;
    // Checks every header field, offset, count, ordering and the checksum.
    // Returns nullptr and fills *out on success, else a static error message.
    static const char* open(const void* data, size_t size, View* out);

    bool valid() const { return h_ != nullptr; }
    const Header& header() const { return *h_; }
    const char* str(uint32_t off) const { return strings_ + off; }
    const char* recorder() const { return str(h_->recorder); }
    uint32_t rule_count() const { return h_->rules.count; }
    const Rule& rule(uint32_t i) const { return rules_[i]; }

    // The recording decision, for nss_tlog and pam_tlog alike. `service` is
    // the PAM service; a service no rule names takes the "any other service"
    // classes, and kAnyService asks for the NSS view (recorded if recorded
    // for at least one service). Name, uid and primary gid are all nss_tlog
    // knows; supplementary groups come from the member lists the compiler
    // stored. Allocates nothing.
    Decision decision(const char* name, uid_t uid, gid_t gid, const char* service, Kind kind) const;

    // The NSS view of decision(): recorded for at least one (service, kind)?
    // If so and `rule` is not null, *rule is the rank of a recording rule
    // (kNone: the default).
    bool recorded(const char* name, uid_t uid, gid_t gid, uint32_t* rule = nullptr) const;

    // The per-class deciding rules that decision() reads: best[c] is the rank
    // of the first rule that applies to class c (kNone if none). `best` has
    // room for kMaxClasses entries.
    void decide(const char* name, uid_t uid, gid_t gid, uint32_t* best) const;

    // The first service index of `service` in the class table (the "" entry
    // for a service no rule names).
    uint32_t service_index(const char* service) const;

    // When no rule depends on the uid or the primary gid, the name alone
    // decides (and when none depends on the name or gid, the uid alone does):
    // nss_tlog then answers NOTFOUND for an unrecorded user without asking
    // the next source for the entry first.
    bool name_decides() const { return !h_->uids.count && !h_->uid_ranges.count && !h_->gids.count; }
    bool uid_decides() const { return !h_->names.count && !h_->gids.count; }

private:
    const Key* find_name(const char* name) const;
    static const Key* find_id(const Key* keys, uint32_t n, uint32_t id);
    void take(const uint32_t* list, uint32_t n, uint32_t* best) const;

    const Header* h_ = nullptr;
    const char* strings_ = nullptr;
    const Rule* rules_ = nullptr;
    const Key* names_ = nullptr;
    const Key* uids_ = nullptr;
    const Key* gids_ = nullptr;
    const Range* ranges_ = nullptr;
    const uint32_t* all_ = nullptr;
    const uint32_t* lists_ = nullptr;
    const uint32_t* services_ = nullptr;
};

// A read-only mapping of a cache file, with the identity of the file it came
// from so a reader can notice a newly compiled cache. Plain data (no
// constructor or destructor) so that nss_tlog can keep one in a global
// without a global constructor; release with unmap().
struct Mapping {
    const void* addr;
    size_t size;
    dev_t dev;
    ino_t ino;
    int64_t mtime_ns;
    View view;
};

// Maps and checks `path`. Returns nullptr on success, else a static message
// (errno-style detail is lost on purpose: the callers only log or fail).
const char* map_file(const char* path, Mapping* out);
void unmap(Mapping* m);
// True if `path` is still the same file (device, inode, mtime) as `m`.
bool same_file(const char* path, const Mapping& m);

}  // namespace tlog::policy::cache
