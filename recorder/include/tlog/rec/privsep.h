// The recorder's identity switch: the ONE place where tlog-rec-session
// changes who it is. Read privsep.cc top to bottom before touching it.
//
//   installed:   tlog-rec-session  owner tlog, group tlog, mode 6755 (setuid+setgid)
//   exec by the user's login:   real = user,  effective = saved = tlog
//   before fork: the pty is opened with effective uid = user (the pty is the user's)
//   after fork:  child  -> user completely (real = effective = saved = user), execs the shell
//                parent -> tlog completely (real = effective = saved = tlog), records
//
// Afterwards the user holds no identity the recorder has, so the kernel
// refuses the user's kill(), ptrace() and /proc/PID/mem on the recorder.
#pragma once

#include <sys/types.h>

#include <string>

namespace tlog::rec {

struct Identities {
    uid_t user_uid = 0;  // who is being recorded (the real uid at start)
    gid_t user_gid = 0;
    uid_t recorder_uid = 0;  // who records (the effective uid at start, or the tlog user when started by root)
    gid_t recorder_gid = 0;
    bool separate = false;         // user and recorder identities differ: the switch happens
    bool root_start = false;       // started with effective uid 0: full switch with setgroups
    bool missing_account = false;  // root start and no tlog account: no switch (reported)
};

// Reads the identities of this process at start. When started by root
// (effective uid 0) the recorder identity is the `tlog_user` account, if it
// exists (see missing_account).
Identities capture_identities(const std::string& tlog_user = "tlog");

// Temporarily acts as the user (effective uid only), e.g. to open the pty;
// back_to_recorder() undoes it. No-ops without separation.
void act_as_user(const Identities& ids);
void back_to_recorder(const Identities& ids);

// act_as_user() for a scope: the recorder identity comes back however the
// scope ends (back_to_recorder aborts if it cannot).
class AsUser {
public:
    explicit AsUser(const Identities& ids) : ids_(ids) {
        try {
            act_as_user(ids_);
        } catch (...) {
            back_to_recorder(ids_);  // the gid may have changed before the uid failed
            throw;
        }
    }
    ~AsUser() { back_to_recorder(ids_); }
    AsUser(const AsUser&) = delete;
    AsUser& operator=(const AsUser&) = delete;

private:
    const Identities& ids_;
};

// In the forked child, before exec: becomes the user completely. On any
// failure writes a message to fd 2 and _exit(126): a shell must never start
// with the recorder's identity.
void become_user_or_die(const Identities& ids);

// In the recording parent after fork: becomes the recorder identity
// completely and not dumpable. Aborts the process on failure for the same
// reason: a recorder the user can kill is a bypass.
void become_recorder_or_die(const Identities& ids);

// Closes every descriptor above 2 that the login program left open (su
// passes the caller's on: `su - USER -c CMD 3>&1` would hand the recorded
// command the caller's terminal). The recorded program's only ways out are
// its standard descriptors, which the recorder relays and records.
void close_inherited_descriptors();

// Drops everything and becomes the user for good (used when the session is
// already recorded by an outer recorder and the shell is exec'd directly).
void drop_to_user_or_die(const Identities& ids);

}  // namespace tlog::rec
