// The recording marker: the recorder claims one file per session of a login,
// rewrites it as the session goes on, and pam_tlog reads them all at
// close_session and removes them.
#include "cmocka_cxx.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <set>

#include "tlog/rec_marker.h"

namespace {

using tlog::marker::Marker;

std::string make_dir() {
    char t[] = "/tmp/test-rec-marker.XXXXXX";
    assert_non_null(mkdtemp(t));
    return t;
}

std::set<std::string> names(const std::string& dir) {
    std::set<std::string> out;
    DIR* d = opendir(dir.c_str());
    assert_non_null(d);
    while (struct dirent* e = readdir(d))
        if (std::string(e->d_name) != "." && std::string(e->d_name) != "..") out.insert(e->d_name);
    closedir(d);
    return out;
}

void write_file(const std::string& path, const std::string& text) {
    std::ofstream f(path);
    f << text;
}

ino_t inode(const std::string& path) {
    struct stat st {};
    assert_int_equal(lstat(path.c_str(), &st), 0);
    return st.st_ino;
}

void cleanup(const std::string& dir) { assert_int_equal(system(("rm -rf '" + dir + "'").c_str()), 0); }

void claim_numbers_the_sessions(void**) {
    const std::string dir = make_dir();
    Marker a = Marker::claim(dir, "0a1b-7");
    Marker b = Marker::claim(dir, "0a1b-7");
    Marker c = Marker::claim(dir, "0a1b-7");
    assert_true(a.claimed() && b.claimed() && c.claimed());
    assert_str_eq(a.rec(), "0a1b-7");
    assert_str_eq(b.rec(), "0a1b-7-2");
    assert_str_eq(c.rec(), "0a1b-7-3");
    assert_true(names(dir) == (std::set<std::string>{"rec.0a1b-7", "rec.0a1b-7-2", "rec.0a1b-7-3"}));
    // another login's ids are its own
    assert_str_eq(Marker::claim(dir, "ffff-8").rec(), "ffff-8");
    cleanup(dir);
}

void read_all_in_order_with_states(void**) {
    const std::string dir = make_dir();
    Marker a = Marker::claim(dir, "r-1");
    Marker b = Marker::claim(dir, "r-1");
    Marker c = Marker::claim(dir, "r-1");
    a.set("ended", "exit");
    b.set("unrecorded", "the rules record only interactive sessions; this is a command session");
    c.set("recording", "");
    auto all = tlog::marker::read_all(dir, "r-1");
    assert_int_equal(all.size(), 3);
    assert_str_eq(all[0].rec, "r-1");
    assert_str_eq(all[0].state, "ended");
    assert_str_eq(all[0].detail, "exit");
    assert_str_eq(all[1].rec, "r-1-2");
    assert_str_eq(all[1].state, "unrecorded");
    assert_str_eq(all[1].detail, "the rules record only interactive sessions; this is a command session");
    assert_str_eq(all[2].rec, "r-1-3");
    assert_str_eq(all[2].state, "recording");
    for (const auto& s : all) assert_int_equal(s.pid, getpid());
    // a claimed marker not yet set says "starting"
    Marker d = Marker::claim(dir, "r-1");
    assert_str_eq(tlog::marker::read_all(dir, "r-1").at(3).state, "starting");
    // nothing for a login the recorder never saw
    assert_true(tlog::marker::read_all(dir, "r-2").empty());
    assert_true(tlog::marker::read_all(dir + "/missing", "r-1").empty());
    cleanup(dir);
}

void set_replaces_by_rename(void**) {
    const std::string dir = make_dir();
    Marker a = Marker::claim(dir, "s-1");
    const ino_t before = inode(dir + "/rec.s-1");
    a.set("recording", "");
    const ino_t middle = inode(dir + "/rec.s-1");
    a.set("ended", "hangup");
    // a new file renamed over the old one each time: a reader never sees a
    // half-written marker, and no temporary file is left behind
    assert_true(before != middle && middle != inode(dir + "/rec.s-1"));
    assert_true(names(dir) == std::set<std::string>{"rec.s-1"});
    auto all = tlog::marker::read_all(dir, "s-1");
    assert_int_equal(all.size(), 1);
    assert_str_eq(all[0].state, "ended");
    assert_str_eq(all[0].detail, "hangup");
    cleanup(dir);
}

void symlink_directory_and_garbage_are_unreadable(void**) {
    const std::string dir = make_dir();
    write_file(dir + "/elsewhere", "{\"rec\":\"u-1\",\"state\":\"ended\",\"detail\":\"exit\",\"pid\":1}\n");
    assert_int_equal(symlink((dir + "/elsewhere").c_str(), (dir + "/rec.u-1").c_str()), 0);
    assert_int_equal(mkdir((dir + "/rec.u-1-2").c_str(), 0700), 0);
    write_file(dir + "/rec.u-1-3", "{\"rec\":\"u-1-3\",");
    write_file(dir + "/rec.u-1-4", "{\"rec\":\"u-1-4\",\"detail\":\"x\"}");
    write_file(dir + "/rec.u-1-5", std::string(5000, ' ') + "{\"state\":\"ended\"}");
    write_file(dir + "/rec.u-1-6", "{\"rec\":\"u-1-6\",\"state\":\"ended\",\"detail\":\"exit\",\"pid\":42}\n");
    auto all = tlog::marker::read_all(dir, "u-1");
    assert_int_equal(all.size(), 6);
    for (int i = 0; i < 5; ++i) {
        assert_str_eq(all[i].state, "unreadable");
        assert_true(all[i].detail.find(dir + "/rec." + all[i].rec) == 0);  // names the file
    }
    // an unreadable marker does not hide the ones after it
    assert_str_eq(all[5].state, "ended");
    assert_int_equal(all[5].pid, 42);
    cleanup(dir);
}

void a_gap_ends_the_list(void**) {
    const std::string dir = make_dir();
    write_file(dir + "/rec.g-1", "{\"rec\":\"g-1\",\"state\":\"ended\",\"detail\":\"exit\",\"pid\":1}");
    write_file(dir + "/rec.g-1-3", "{\"rec\":\"g-1-3\",\"state\":\"ended\",\"detail\":\"exit\",\"pid\":1}");
    auto all = tlog::marker::read_all(dir, "g-1");
    assert_int_equal(all.size(), 1);
    assert_str_eq(all[0].rec, "g-1");
    cleanup(dir);
}

void remove_all_removes_them(void**) {
    const std::string dir = make_dir();
    for (int i = 0; i < 4; ++i) Marker::claim(dir, "d-1").set("ended", "exit");
    Marker::claim(dir, "other-2");
    assert_int_equal(names(dir).size(), 5);
    tlog::marker::remove_all(dir, "d-1");
    assert_true(tlog::marker::read_all(dir, "d-1").empty());
    assert_true(names(dir) == std::set<std::string>{"rec.other-2"});  // another login's marker stays
    // the ids are free again
    assert_str_eq(Marker::claim(dir, "d-1").rec(), "d-1");
    cleanup(dir);
}

// In a child on a fresh pty's slave (0, 1 and 2; its controlling terminal
// when `ctty`): 1 when recording_of_terminal names "rec-A", 0 when it
// names none, 2 otherwise.
int child_sees(const std::string& dir, int slave, bool ctty) {
    const pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        setsid();
        if (ctty) ioctl(slave, TIOCSCTTY, 0);
        for (int fd = 0; fd < 3; ++fd) dup2(slave, fd);
        const auto rec = tlog::marker::recording_of_terminal(dir);
        _exit(!rec ? 0 : *rec == "rec-A" ? 1 : 2);
    }
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    return WEXITSTATUS(st);
}

void recorded_terminal_found_only_while_locked(void**) {
    const std::string dir = make_dir();
    assert_string_equal(tlog::marker::terminal_lock_path(dir, makedev(136, 5)).c_str(),
                        (dir + "/pty.136.5.lock").c_str());
    const int master = posix_openpt(O_RDWR | O_NOCTTY);
    assert_true(master >= 0 && grantpt(master) == 0 && unlockpt(master) == 0);
    const int slave = open(ptsname(master), O_RDWR | O_NOCTTY);
    assert_true(slave >= 0);
    struct stat st {};
    assert_int_equal(fstat(slave, &st), 0);
    const std::string lock = tlog::marker::terminal_lock_path(dir, st.st_rdev);
    write_file(lock, "rec-A");
    assert_int_equal(child_sees(dir, slave, true), 0);  // a stale file: not a live recording
    const int held = open(lock.c_str(), O_RDONLY);
    assert_int_equal(flock(held, LOCK_EX), 0);
    assert_int_equal(child_sees(dir, slave, true), 1);   // its controlling terminal too
    assert_int_equal(child_sees(dir, slave, false), 1);  // no controlling terminal (su -c)
    close(held);
    assert_int_equal(child_sees(dir, slave, true), 0);  // the recording ended
    close(slave);
    close(master);
    cleanup(dir);
}

void claim_in_missing_directory_throws_with_path(void**) {
    const std::string dir = make_dir();
    const std::string missing = dir + "/no-such-dir";
    std::string what;
    try {
        Marker::claim(missing, "m-1");
    } catch (const std::runtime_error& e) {
        what = e.what();
    }
    if (what.find(missing + "/rec.m-1") == std::string::npos) fail_msg("message: \"%s\"", what.c_str());
    cleanup(dir);
}

}  // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(claim_numbers_the_sessions),
        cmocka_unit_test(read_all_in_order_with_states),
        cmocka_unit_test(set_replaces_by_rename),
        cmocka_unit_test(symlink_directory_and_garbage_are_unreadable),
        cmocka_unit_test(a_gap_ends_the_list),
        cmocka_unit_test(remove_all_removes_them),
        cmocka_unit_test(claim_in_missing_directory_throws_with_path),
        cmocka_unit_test(recorded_terminal_found_only_while_locked),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
