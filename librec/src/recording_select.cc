#include "tlog/recording_select.h"

#include <utility>

#include "tlog/decoder.h"

namespace tlog {

LineRecording line_recording(std::string_view line, std::string& rec) {
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) return LineRecording::Blank;
    return peek_rec(line, rec) ? LineRecording::Id : LineRecording::NoId;
}

RecordingSelector::RecordingSelector(std::string rec) : selected_(std::move(rec)), chosen_(!selected_.empty()) {}

RecordingSelector RecordingSelector::exactly(std::string rec) {
    RecordingSelector s(std::move(rec));
    s.chosen_ = true;
    return s;
}

bool RecordingSelector::take(std::string_view line) {
    switch (line_recording(line, peek_)) {
        case LineRecording::Blank: return false;
        case LineRecording::NoId: return true;
        case LineRecording::Id: break;
    }
    if (!chosen_) {
        // An empty id does not choose: the first non-empty one does (the
        // player's index has always read such files this way).
        selected_ = peek_;
        chosen_ = !selected_.empty();
        return true;
    }
    return peek_ == selected_;
}

}  // namespace tlog
