// The decoder's callbacks for a run of message lines, recorded so that
// another thread can replay them: the index build decodes in one thread and
// runs the terminal model in another, and this is what passes between them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "tlog/decoder.h"

namespace tlog::play {

// Where one message line of the file is, and the id the decoder expected
// before reading it (what a keyframe in front of the line records).
struct LineMark {
    uint64_t offset = 0;   // file offset of the line
    uint64_t line_no = 0;  // its line number
    uint64_t next_id = 0;  // Decoder::next_id() before the line
    uint64_t size = 0;     // bytes, without the newline
};

// The decoder's callbacks, framed by the line they come from.
class LineEvents : public EventSink {
public:
    virtual void line_start(const LineMark&) = 0;
    virtual void line_end(const LineMark&) = 0;
    // Asked after each line: true ends the caller's run of lines here.
    virtual bool full() const { return false; }
};

class EventBatch final : public LineEvents {
public:
    void line_start(const LineMark& m) override;
    void line_end(const LineMark& m) override;
    void event(const Event& ev) override;
    void message(const MessageHeader& h) override;
    void gap(uint64_t first, uint64_t last) override;
    void problem(const Problem& p) override;
    // About a quarter MiB of data: big enough that handing a batch over
    // costs nothing, small enough that a few in flight bound the memory.
    bool full() const override { return bytes_.size() >= kFullBytes || recs_.size() >= kFullRecords; }

    // The calls, in the order they were made.
    void replay(LineEvents& to) const;
    void clear();
    bool empty() const { return recs_.empty(); }

private:
    static constexpr size_t kFullBytes = 256 << 10;
    static constexpr size_t kFullRecords = 8192;

    enum class Kind : uint8_t { LineStart, LineEnd, Event, Message, Gap, Problem };
    struct Span {
        size_t off = 0, len = 0;  // in bytes_ (which may move while recording)
    };
    struct Rec {
        Kind kind;
        Event::Type type = Event::Type::Output;
        uint16_t width = 0, height = 0;
        uint64_t a = 0, b = 0, c = 0, d = 0;  // LineMark; Event pos_ms; Gap first, last; side table index
        Span data;                            // Event
    };
    struct Header {
        uint64_t line, session, id, pos, time_ms;
        bool has_time;
        Span ver, host, rec, user, term, end;
        size_t extra_begin, extra_end;  // in extra_
    };

    Span keep(std::string_view s);
    std::string_view view(Span s) const { return std::string_view(bytes_).substr(s.off, s.len); }

    std::string bytes_;
    std::vector<Rec> recs_;
    std::vector<Header> headers_;
    std::vector<std::pair<Span, Span>> extra_;
    std::vector<Problem> problems_;
};

}  // namespace tlog::play
