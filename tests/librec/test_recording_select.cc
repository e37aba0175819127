// Which lines belong to which recording (tlog/recording_select.h): the one
// rule the player's index build, playback, --list and start index share.
#include <string>
#include <vector>

#include "tlog/recording_select.h"

// cmocka last: its fail() macro clashes with the standard headers.
#include "cmocka_cxx.h"

namespace {

const std::vector<std::string> kLines = {
    "",                            // blank: nobody's
    "{\"ver\":\"2.3\",\"id\":1}",  // no id: the recording being read
    "{\"ver\":\"2.3\",\"rec\":\"a\",\"id\":1}",
    " \t\r",  // blank
    "{\"ver\":\"2.3\",\"rec\":\"b\",\"id\":1}",
    "{\"ver\":\"2.3\",\"rec\":\"a\",\"id\":2}",
    "{\"ver\":\"2.3\",\"rec\":\"\",\"id\":1}",  // an empty id is an id
    "{\"ver\":\"2.3\",\"rec\":\"b\",\"id\":2}",
};

std::string taken(tlog::RecordingSelector s) {
    std::string out;
    for (size_t i = 0; i < kLines.size(); ++i)
        if (s.take(kLines[i])) out += std::to_string(i);
    return out + "/" + s.selected();
}

void test_line_recording(void**) {
    std::string rec;
    assert_int_equal(int(tlog::line_recording(kLines[0], rec)), int(tlog::LineRecording::Blank));
    assert_int_equal(int(tlog::line_recording(kLines[3], rec)), int(tlog::LineRecording::Blank));
    assert_int_equal(int(tlog::line_recording(kLines[1], rec)), int(tlog::LineRecording::NoId));
    assert_int_equal(int(tlog::line_recording(kLines[4], rec)), int(tlog::LineRecording::Id));
    assert_string_equal(rec.c_str(), "b");
}

void test_selector(void**) {
    // The first id chosen; lines without an id always taken.
    assert_string_equal(taken(tlog::RecordingSelector()).c_str(), "125/a");
    assert_string_equal(taken(tlog::RecordingSelector("b")).c_str(), "147/b");
    assert_string_equal(taken(tlog::RecordingSelector("nosuch")).c_str(), "1/nosuch");
    // exactly(""): the recording whose id is empty, not "the first one".
    assert_string_equal(taken(tlog::RecordingSelector::exactly("")).c_str(), "16/");
    assert_string_equal(taken(tlog::RecordingSelector::exactly("a")).c_str(), "125/a");
    // An empty id does not choose the recording: the first non-empty one does.
    tlog::RecordingSelector first;
    assert_true(first.take("{\"rec\":\"\",\"id\":1}"));
    assert_true(first.take("{\"rec\":\"b\",\"id\":1}"));
    assert_false(first.take("{\"rec\":\"\",\"id\":2}"));
    assert_string_equal(first.selected().c_str(), "b");
}

}  // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_line_recording),
        cmocka_unit_test(test_selector),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
