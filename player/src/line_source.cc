#include "tlog/play/line_source.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <system_error>

namespace tlog::play {

namespace {
constexpr size_t kBlock = 1 << 20;
// A message line is bounded by the writer's payload (kilobytes); a line
// longer than this is not a message, and holding it would let one hostile
// file take all memory.
constexpr size_t kMaxLine = 64u << 20;
}  // namespace

LineSource::LineSource(const std::string& path) : path_(path), buf_(kBlock) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "cannot open " + path);
}

LineSource::~LineSource() {
    if (fd_ >= 0) ::close(fd_);
}

void LineSource::seek(uint64_t offset, uint64_t line_no) {
    file_off_ = offset;
    start_ = end_ = 0;
    line_no_ = line_no;
    eof_ = false;
}

bool LineSource::fill() {
    // Keep the unread tail, then read after it.
    if (start_ > 0) {
        std::memmove(buf_.data(), buf_.data() + start_, end_ - start_);
        file_off_ += start_;
        end_ -= start_;
        start_ = 0;
    }
    if (end_ == buf_.size()) {  // one line longer than the buffer
        if (buf_.size() >= kMaxLine)
            throw std::runtime_error(path_ + ": line " + std::to_string(line_no_ + 1) + " is longer than " +
                                     std::to_string(kMaxLine >> 20) + " MiB: not a recording");
        buf_.resize(buf_.size() * 2);
    }
    for (;;) {
        ssize_t n = ::pread(fd_, buf_.data() + end_, buf_.size() - end_, static_cast<off_t>(file_off_ + end_));
        if (n < 0) {
            if (errno == EINTR) continue;
            throw std::system_error(errno, std::generic_category(), "read " + path_);
        }
        if (n == 0) return false;
        end_ += static_cast<size_t>(n);
        return true;
    }
}

bool LineSource::next(std::string_view& line, uint64_t& offset, uint64_t& line_no, bool follow) {
    for (;;) {
        const char* b = buf_.data() + start_;
        auto nl = static_cast<const char*>(std::memchr(b, '\n', end_ - start_));
        if (nl) {
            size_t len = static_cast<size_t>(nl - b);
            line = std::string_view(b, len);
            offset = file_off_ + start_;
            line_no = ++line_no_;
            start_ += len + 1;
            return true;
        }
        if (!fill()) {
            if (follow || start_ == end_) return false;
            // The last line has no newline: take it as it is.
            line = std::string_view(buf_.data() + start_, end_ - start_);
            offset = file_off_ + start_;
            line_no = ++line_no_;
            start_ = end_;
            return true;
        }
    }
}

}  // namespace tlog::play
