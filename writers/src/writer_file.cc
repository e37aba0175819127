#include <errno.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <climits>
#include <cstring>

#include "tlog/writers/writer.h"

namespace tlog::writers {

namespace {

int64_t mono_now_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

class FileWriter final : public MessageSink, public BufferedWriter {
public:
    FileWriter(const std::string& path, bool follow_link) : path_(path) {
        fd_ = ::open(path.c_str(),
                     O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY | (follow_link ? 0 : O_NOFOLLOW), 0600);
        if (fd_ < 0) throw WriterError("cannot open log file " + path + ": " + strerror(errno));
        buf_.reserve(kBuffer + 16384);
    }
    ~FileWriter() override {
        if (fd_ >= 0) {
            try {
                flush_buffer();
            } catch (...) {}
            ::close(fd_);
        }
    }
    void write(const EncodedMessage& m) override {
        if (buf_.empty()) since_ = mono_now_ns();
        buf_.append(m.line);
        count_++;
        // The last message is written at once: nothing may wait after it.
        if (buf_.size() >= kBuffer || m.last) flush_buffer();
    }
    int64_t buffered_since() const override { return buf_.empty() ? INT64_MAX : since_; }
    uint64_t buffered_messages() const override { return count_; }
    void flush_buffer() override {
        const char* p = buf_.data();
        size_t n = buf_.size();
        while (n) {
            ssize_t w = ::write(fd_, p, n);
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) {
                int e = w < 0 ? errno : EIO;
                buf_.erase(0, buf_.size() - n);
                throw WriterError("cannot write log file " + path_ + ": " + strerror(e));
            }
            p += w;
            n -= static_cast<size_t>(w);
        }
        buf_.clear();
        count_ = 0;
    }

private:
    static constexpr size_t kBuffer = 65536;
    std::string path_;
    int fd_ = -1;
    std::string buf_;
    int64_t since_ = 0;
    uint64_t count_ = 0;
};

}  // namespace

std::unique_ptr<MessageSink> make_file_writer(const std::string& path, bool follow_link) {
    if (path.empty()) throw WriterError("file writer: no file.path set (use -o FILE)");
    return std::make_unique<FileWriter>(path, follow_link);
}

}  // namespace tlog::writers
