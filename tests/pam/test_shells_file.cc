// find_in_shells: whether the recorder is listed in /etc/shells, read the
// way su reads it (getusershell), bounded and without following links.
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "../../pam_tlog/shells_file.h"
#include "cmocka_cxx.h"

namespace {

using pam_tlog::find_in_shells;

std::string g_dir;

void put(const std::string& name, const std::string& text) { std::ofstream(g_dir + "/" + name) << text; }

int setup(void**) {
    char t[] = "/tmp/test-shells-file.XXXXXX";
    if (!mkdtemp(t)) return -1;
    g_dir = t;
    put("recorder", "#!/bin/sh\n");
    return symlink((g_dir + "/recorder").c_str(), (g_dir + "/recorder-link").c_str());
}

int teardown(void**) { return system(("rm -rf '" + g_dir + "'").c_str()) == 0 ? 0 : -1; }

void exact_entry_and_line_number(void**) {
    const std::string rec = g_dir + "/recorder";
    put("shells", "# comment " + rec + "\n\n/bin/sh\n\t" + rec + " # trailing\n");
    auto r = find_in_shells(g_dir + "/shells", rec);
    assert_int_equal(r.line, 4);
    assert_true(r.error.empty());
    put("shells", "/bin/sh\n" + rec + "-old\n" + g_dir + "\n");
    assert_int_equal(find_in_shells(g_dir + "/shells", rec).line, 0);
}

void entry_resolving_to_the_recorder(void**) {
    // chsh and other readers resolve nothing, but a link to the recorder in
    // the list is the same mistake: reported
    put("shells", "/bin/sh\n" + g_dir + "/recorder-link\n");
    assert_int_equal(find_in_shells(g_dir + "/shells", g_dir + "/recorder").line, 2);
    put("shells", "/bin/sh\n" + g_dir + "/recorder\n");
    assert_int_equal(find_in_shells(g_dir + "/shells", g_dir + "/recorder-link").line, 2);
}

void missing_file_lists_nothing(void**) {
    auto r = find_in_shells(g_dir + "/no-such-file", g_dir + "/recorder");
    assert_int_equal(r.line, 0);
    assert_true(r.error.empty());
}

void unsafe_files_are_errors(void**) {
    const std::string rec = g_dir + "/recorder";
    put("real", rec + "\n");
    assert_int_equal(symlink((g_dir + "/real").c_str(), (g_dir + "/link").c_str()), 0);
    auto r = find_in_shells(g_dir + "/link", rec);
    assert_int_equal(r.line, 0);
    assert_true(r.error.find(g_dir + "/link") == 0);
    // a FIFO would block a reader: refused without opening for long
    assert_int_equal(mkfifo((g_dir + "/fifo").c_str(), 0600), 0);
    assert_false(find_in_shells(g_dir + "/fifo", rec).error.empty());
    assert_false(find_in_shells(g_dir, rec).error.empty());
    // over 64 KiB: not read at all, even when the entry comes first
    put("big", rec + "\n" + std::string(70000, '#') + "\n");
    r = find_in_shells(g_dir + "/big", rec);
    assert_int_equal(r.line, 0);
    assert_true(r.error.find("larger than 64 KiB") != std::string::npos);
    put("edge", rec + "\n" + std::string(pam_tlog::kMaxShellsFile - rec.size() - 1, '#'));
    assert_int_equal(find_in_shells(g_dir + "/edge", rec).line, 1);
}

}  // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(exact_entry_and_line_number),
        cmocka_unit_test(entry_resolving_to_the_recorder),
        cmocka_unit_test(missing_file_lists_nothing),
        cmocka_unit_test(unsafe_files_are_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
