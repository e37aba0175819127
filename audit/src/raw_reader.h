// auditd's RAW log text (and what its plugin interface writes on stdin)
// split into events, records and fields without libauparse's event
// assembly: the same event boundaries, records and fields as libauparse
// 3.0.9 gives through auparse_feed (auparse.c and ellist.c), so that the
// converter's output does not depend on which of the two read the text.
// ENRICHED records (interpretations after the 0x1D separator) are read
// too: the text after the separator is kept for the interpretation step.
#pragma once

#include <cstddef>
#include <cstdint>
#include <ctime>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace tlog::audit::raw {

struct Field {
    const char* name;
    const char* val;  // null for a malformed virtual key (libauparse keeps it so)
    uint32_t name_len, val_len;
};

// One line of the log, split in place: names and values point into `text`
// or `extra` and stay valid while the record lives (moves included).
struct Record {
    std::vector<char> text;                      // reused: records are recycled
    std::vector<std::unique_ptr<char[]>> extra;  // names and values libauparse builds itself
    const char* interp = nullptr;                // ENRICHED: the text after 0x1D
    std::string unknown_type;                    // the text after "type=" when the type is unknown
    int type = 0;
    // What libauparse reads off fixed positions of the record, and its
    // interpretations depend on.
    int machine = -1;
    int syscall = -1;
    unsigned long long a0 = 0, a1 = 0;
    std::vector<Field> fields;
};

struct LastStamp;

struct Event {
    time_t sec = 0;
    unsigned milli = 0;
    unsigned long serial = 0;
    bool has_host = false;
    std::string host;
    std::vector<Record> records;
};

// Assembles events as libauparse's feed interface does: records grouped by
// (node, time, serial), interleaved events kept apart, an event complete at
// its EOE record, at once for the types that are single records, or when a
// record end_of_event_timeout seconds younger arrives; complete events are
// given oldest first, and an older incomplete one holds back younger ones.
class Reader {
public:
    using Callback = std::function<void(const Event&)>;
    // eoe_timeout: auditd.conf's end_of_event_timeout (see eoe_timeout()).
    Reader(time_t eoe_timeout, Callback cb);
    ~Reader();
    Reader(const Reader&) = delete;
    Reader& operator=(const Reader&) = delete;
    Reader(Reader&&) noexcept;
    Reader& operator=(Reader&&) noexcept;
    void feed(std::string_view text);
    // Completes events older than end_of_event_timeout against `now`.
    void age(time_t now);
    // End of input: every incomplete event is given (a last line without
    // its newline is not, as with libauparse).
    void finish();

    // end_of_event_timeout from /etc/audit/auditd.conf, as libauparse reads
    // it (2 when absent or unreadable).
    static time_t eoe_timeout();

private:
    enum class Status { empty, building, complete };
    struct Slot {
        Status status = Status::empty;
        Event ev;
    };
    bool next_event();
    bool ready_event();
    void check_events(time_t sec);
    void terminate_all();
    bool next_line(std::string_view& line);
    bool parse_record(std::string_view line, Record& r);
    int msg_type(const char* name);
    Record take();
    void deliver(Slot& s);

    time_t eoe_timeout_;
    Callback cb_;
    std::string buf_;       // a line cut between two calls of feed(): no '\n' but during feed()
    bool held_ = false;     // buf_ holds a whole line, not read yet: the first
    std::string_view src_;  // during feed(): the text given (after buf_'s line); empty otherwise
    size_t pos_ = 0;        // in src_: where the next line starts
    std::vector<Slot> slots_;
    int maxi_ = -1;
    int ready_ = 0;
    Slot* current_ = nullptr;    // the event being given: emptied on the next call
    std::vector<Record> spare_;  // records of given events, their buffers kept
    std::unique_ptr<LastStamp> last_stamp_;
    // audit_name_to_msg_type's answers: a log has a few dozen record types,
    // and libaudit compares the name with every type it knows.
    std::vector<std::pair<std::string, int>> types_;
};

}  // namespace tlog::audit::raw
