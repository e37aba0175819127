#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstring>

#include "tlog/writer.h"

namespace tlog::rec {

namespace {

class FileWriter : public MessageSink {
public:
    explicit FileWriter(const std::string& path) : path_(path) {
        fd_ = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
        if (fd_ < 0) throw WriterError("cannot open log file " + path + ": " + strerror(errno));
    }
    ~FileWriter() override {
        if (fd_ >= 0) ::close(fd_);
    }
    void write(const EncodedMessage& m) override {
        // One write() per message: O_APPEND keeps concurrent recordings'
        // lines whole.
        const char* p = m.line.data();
        size_t n = m.line.size();
        while (n) {
            ssize_t w = ::write(fd_, p, n);
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) throw WriterError("cannot write log file " + path_ + ": " + strerror(w < 0 ? errno : EIO));
            p += w;
            n -= static_cast<size_t>(w);
        }
    }

private:
    std::string path_;
    int fd_ = -1;
};

} // namespace

std::unique_ptr<MessageSink> make_file_writer(const std::string& path) {
    if (path.empty()) throw WriterError("file writer: no file.path set (use -o FILE)");
    return std::make_unique<FileWriter>(path);
}

} // namespace tlog::rec
