// The identity switch of the recorder. Small on purpose; every call is
// checked and every failure is fatal, because the two ways this can go
// wrong are both security failures:
//   - a shell running with the tlog identity could rewrite or delete
//     recordings and keys;
//   - a recorder still holding any of the user's ids (real, effective or
//     saved uid or gid) can be killed, stopped or traced by the user, which
//     ends the recording without a trace.
//
// Linux permission rules this relies on:
//   kill(2):   allowed if the sender's real or effective uid equals the
//              target's real or saved uid (or CAP_KILL).
//   ptrace(2): PTRACE_MODE_ATTACH needs the caller's fsuid/fsgid to match the
//              target's real, effective and saved uid AND gid, and the target
//              to be dumpable (or CAP_SYS_PTRACE).
// So the recorder sets all three uids and all three gids to tlog and marks
// itself not dumpable.
//
// setgroups(2) needs CAP_SETGID: a recorder installed setuid tlog (not root)
// cannot change its supplementary groups and keeps the user's. That gives it
// the user's group file access, which the user cannot turn against it (group
// membership plays no part in the kill and ptrace checks above). A recorder
// started by root (root's own login, or a setuid-root install) drops them:
// setgroups({tlog gid}).
#include "tlog/privsep.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace tlog::rec {

namespace {

// Async-signal-safe message to stderr (used in the forked child).
void say(const char* a, const char* b = "") {
    (void)!::write(2, a, strlen(a));
    (void)!::write(2, b, strlen(b));
    (void)!::write(2, "\n", 1);
}

bool ids_are(uid_t u, gid_t g) {
    uid_t ru, eu, su;
    gid_t rg, eg, sg;
    if (getresuid(&ru, &eu, &su) != 0 || getresgid(&rg, &eg, &sg) != 0) return false;
    return ru == u && eu == u && su == u && rg == g && eg == g && sg == g;
}

} // namespace

Identities capture_identities(const std::string& tlog_user) {
    Identities ids;
    uid_t ru, eu, su;
    gid_t rg, eg, sg;
    getresuid(&ru, &eu, &su);
    getresgid(&rg, &eg, &sg);
    ids.user_uid = ru;
    ids.user_gid = rg;
    ids.recorder_uid = eu;
    ids.recorder_gid = eg;
    if (eu == 0) {
        // Started by root: record as the tlog account, the user stays root.
        ids.root_start = true;
        struct passwd pw, *res = nullptr;
        char buf[4096];
        if (getpwnam_r(tlog_user.c_str(), &pw, buf, sizeof buf, &res) == 0 && res) {
            ids.recorder_uid = pw.pw_uid;
            ids.recorder_gid = pw.pw_gid;
        } else {
            // Root can kill any process, so separating a root session from
            // its recorder protects nothing; refusing would lock root out.
            // The recorder reports this (missing_account) to the audit log.
            ids.missing_account = true;
            ids.recorder_uid = ru;
            ids.recorder_gid = rg;
        }
    }
    ids.separate = ids.user_uid != ids.recorder_uid || ids.user_gid != ids.recorder_gid;
    return ids;
}

// devpts gives a new pty slave the opener's fsuid and fsgid (unless mounted
// with gid=): opening it as the user makes the terminal the user's, not tlog's.
void act_as_user(const Identities& ids) {
    if (!ids.separate || ids.root_start) return;  // root start: the user is root already
    if (setresgid(static_cast<gid_t>(-1), ids.user_gid, static_cast<gid_t>(-1)) != 0)
        throw std::runtime_error(std::string("cannot take the user's effective gid: ") + strerror(errno));
    if (setresuid(static_cast<uid_t>(-1), ids.user_uid, static_cast<uid_t>(-1)) != 0)
        throw std::runtime_error(std::string("cannot take the user's effective uid: ") + strerror(errno));
}

void back_to_recorder(const Identities& ids) {
    if (!ids.separate || ids.root_start) return;
    // The saved ids are the recorder's: these cannot fail unless the process
    // was tampered with. Do not go on as the user.
    if (setresuid(static_cast<uid_t>(-1), ids.recorder_uid, static_cast<uid_t>(-1)) != 0 ||
        setresgid(static_cast<gid_t>(-1), ids.recorder_gid, static_cast<gid_t>(-1)) != 0) {
        say("tlog-rec-session: cannot return to the recorder identity: ", strerror(errno));
        abort();
    }
}

void become_user_or_die(const Identities& ids) {
    if (!ids.separate) return;
    // Group first: after setresuid the right to change gids is gone.
    // Supplementary groups: inherited from the login (they are the user's);
    // when started by root they are root's own, also the user's.
    if (setresgid(ids.user_gid, ids.user_gid, ids.user_gid) != 0) {
        say("tlog-rec-session: cannot set the user's gid: ", strerror(errno));
        _exit(126);
    }
    if (setresuid(ids.user_uid, ids.user_uid, ids.user_uid) != 0) {
        say("tlog-rec-session: cannot set the user's uid: ", strerror(errno));
        _exit(126);
    }
    if (!ids_are(ids.user_uid, ids.user_gid)) {
        say("tlog-rec-session: identity check failed in the shell process");
        _exit(126);
    }
    // The kernel marks a process non-dumpable after an identity change;
    // the shell is the user's own process again.
    prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
}

void become_recorder_or_die(const Identities& ids) {
    if (!ids.separate) return;
    if (ids.root_start) {
        if (setgroups(1, &ids.recorder_gid) != 0) {
            say("tlog-rec-session: setgroups: ", strerror(errno));
            abort();
        }
    } else if (setgroups(1, &ids.recorder_gid) != 0 && errno != EPERM) {
        // EPERM is the expected answer for a setuid-tlog install (see top).
        say("tlog-rec-session: setgroups: ", strerror(errno));
        abort();
    }
    if (setresgid(ids.recorder_gid, ids.recorder_gid, ids.recorder_gid) != 0) {
        say("tlog-rec-session: cannot set the recorder gid: ", strerror(errno));
        abort();
    }
    if (setresuid(ids.recorder_uid, ids.recorder_uid, ids.recorder_uid) != 0) {
        say("tlog-rec-session: cannot set the recorder uid: ", strerror(errno));
        abort();
    }
    if (!ids_are(ids.recorder_uid, ids.recorder_gid)) {
        say("tlog-rec-session: identity check failed in the recorder");
        abort();
    }
    // No core dumps, no ptrace even by other tlog-owned processes' peers.
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

void drop_to_user_or_die(const Identities& ids) {
    if (!ids.separate) return;
    if (setresgid(ids.user_gid, ids.user_gid, ids.user_gid) != 0 ||
        setresuid(ids.user_uid, ids.user_uid, ids.user_uid) != 0 || !ids_are(ids.user_uid, ids.user_gid)) {
        say("tlog-rec-session: cannot drop to the user's identity: ", strerror(errno));
        _exit(126);
    }
}

} // namespace tlog::rec
