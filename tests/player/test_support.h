// Helpers shared by the player's unit tests: recordings written with
// librec's Encoder into temporary files.
#pragma once

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <stdexcept>
#include <string>

#include "tlog/encoder.h"

namespace testsupport {

class FileSink : public tlog::MessageSink {
public:
    explicit FileSink(const std::string& path) {
        fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd_ < 0) throw std::runtime_error("cannot create " + path);
    }
    ~FileSink() override { ::close(fd_); }
    void write(const tlog::EncodedMessage& m) override {
        if (::write(fd_, m.line.data(), m.line.size()) != static_cast<ssize_t>(m.line.size()))
            throw std::runtime_error("short write");
    }

private:
    int fd_;
};

// A private temporary directory, removed with its files at the end.
class TempDir {
public:
    TempDir() {
        char tmpl[] = "/tmp/tlog-play-test.XXXXXX";
        if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp");
        path_ = tmpl;
    }
    ~TempDir() {
        std::string cmd = "rm -rf '" + path_ + "'";
        if (std::system(cmd.c_str()) != 0) {}
    }
    const std::string& path() const { return path_; }
    std::string file(const std::string& name) const { return path_ + "/" + name; }

private:
    std::string path_;
};

inline tlog::RecordingInfo info(const std::string& rec = "rec-1") {
    return tlog::RecordingInfo{"host-a", rec, "alice", "xterm", 7};
}

constexpr int64_t kMs = 1000000;  // ns

}  // namespace testsupport
