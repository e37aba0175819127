// Reads message lines from a recording file starting at any byte offset and
// tells where each line starts, so the index can point into the file. In
// follow mode a last line without its newline is held back until the writer
// finishes it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tlog::play {

class LineSource {
public:
    // Opens `path` ("-" is refused: seeking needs a file). Throws
    // std::system_error naming the file.
    explicit LineSource(const std::string& path);
    ~LineSource();
    LineSource(const LineSource&) = delete;
    LineSource& operator=(const LineSource&) = delete;

    void seek(uint64_t offset, uint64_t line_no);
    // Next line without its newline. False at the end of the data; with
    // `follow` an unfinished last line is not returned (call again later).
    bool next(std::string_view& line, uint64_t& offset, uint64_t& line_no, bool follow = false);
    uint64_t offset() const { return file_off_ + start_; }
    const std::string& path() const { return path_; }
    int fd() const { return fd_; }

private:
    bool fill();
    std::string path_;
    int fd_ = -1;
    std::vector<char> buf_;
    size_t start_ = 0, end_ = 0;  // unread bytes in buf_
    uint64_t file_off_ = 0;       // file offset of buf_[0]
    uint64_t line_no_ = 0;        // number of the last line returned
    bool eof_ = false;
};

}  // namespace tlog::play
