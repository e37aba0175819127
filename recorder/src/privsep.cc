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
// setgroups(2) needs CAP_SETGID. The install step gives tlog-rec-session
// the file capability cap_setgid (+ep) besides setuid/setgid tlog, so the
// recorder can replace the user's supplementary groups with {tlog}; it then
// drops every capability (capset to empty), and the shell's exec drops them
// anyway (a program without file capabilities run by a non-root uid keeps
// none). Without the capability (e.g. a file system without xattrs) the
// recorder keeps the user's supplementary groups: that gives it the user's
// group file access, which the user cannot turn against it (group
// membership plays no part in the kill and ptrace checks above). A recorder
// started by root (root's own login) drops them the same way.
#include "tlog/rec/privsep.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
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

// Empties the effective, permitted and inheritable capability sets (the
// cap_setgid file capability, or root's). Reducing never fails unless the
// kernel refuses the interface itself.
bool drop_capabilities() {
    __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
    return syscall(SYS_capset, &hdr, data) == 0;
}

bool ids_are(uid_t u, gid_t g) {
    uid_t ru, eu, su;
    gid_t rg, eg, sg;
    if (getresuid(&ru, &eu, &su) != 0 || getresgid(&rg, &eg, &sg) != 0) return false;
    return ru == u && eu == u && su == u && rg == g && eg == g && sg == g;
}

}  // namespace

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
    // (root's own shell keeps root's capabilities)
    if (!ids_are(ids.user_uid, ids.user_gid) || (ids.user_uid != 0 && !drop_capabilities())) {
        say("tlog-rec-session: identity check failed in the shell process");
        _exit(126);
    }
    // Deliberately NOT made dumpable here: until exec this process still
    // holds a copy of the recorder's memory (keys, configuration), and the
    // kernel's non-dumpable mark after the identity change keeps the user
    // from attaching to it. exec of the shell makes it the user's again.
}

void become_recorder_or_die(const Identities& ids) {
    if (!ids.separate) return;
    if (ids.root_start) {
        if (setgroups(1, &ids.recorder_gid) != 0) {
            say("tlog-rec-session: setgroups: ", strerror(errno));
            abort();
        }
    } else if (setgroups(1, &ids.recorder_gid) != 0 && errno != EPERM) {
        // EPERM: installed without cap_setgid (see top): groups are kept.
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
    if (!ids_are(ids.recorder_uid, ids.recorder_gid) || !drop_capabilities()) {
        say("tlog-rec-session: identity check failed in the recorder");
        abort();
    }
    // No core dumps, no ptrace even by other tlog-owned processes' peers.
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

void close_inherited_descriptors() {
    if (syscall(SYS_close_range, 3u, ~0u, 0u) == 0) return;
    // Kernels before 5.9: every possible descriptor (bounded).
    long max = sysconf(_SC_OPEN_MAX);
    if (max < 0 || max > 1 << 20) max = 1 << 20;
    for (int fd = 3; fd < max; ++fd) ::close(fd);
}

void drop_to_user_or_die(const Identities& ids) {
    if (!ids.separate) return;
    if (setresgid(ids.user_gid, ids.user_gid, ids.user_gid) != 0 ||
        setresuid(ids.user_uid, ids.user_uid, ids.user_uid) != 0 || !ids_are(ids.user_uid, ids.user_gid) ||
        (ids.user_uid != 0 && !drop_capabilities())) {
        say("tlog-rec-session: cannot drop to the user's identity: ", strerror(errno));
        _exit(126);
    }
}

}  // namespace tlog::rec
