// Message writers: where JSON lines go, the recorder's messages and
// tlog-audit's events. Each is a tlog::MessageSink whose write() throws
// WriterError when the line could not be delivered, so a failure is never
// silent (the caller decides what happens next: the recorder's `lax`).
#pragma once

#include <memory>
#include <stdexcept>
#include <string>

#include "tlog/encoder.h"

namespace tlog::writers {

class WriterError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// A writer that gathers messages and writes them in larger pieces. The
// recorder flushes it within `latency` of the oldest gathered message and at
// the end; flush_buffer() throws WriterError like write().
class BufferedWriter {
public:
    virtual ~BufferedWriter() = default;
    virtual int64_t buffered_since() const = 0;  // CLOCK_MONOTONIC ns, INT64_MAX when empty
    virtual void flush_buffer() = 0;
    virtual uint64_t buffered_messages() const = 0;
};

// Appends to a file created with mode 0600 (an existing file keeps its mode).
// Opened once at start, so the file may be one the recording identity can
// write and the recorded user cannot. Messages are written in pieces of up
// to 64 KiB, one write() each (O_APPEND keeps other recorders' lines whole);
// the returned sink is also a BufferedWriter. `follow_link` false: a symbolic
// link as the last component is refused (the setuid recorder never writes
// through a link someone planted where its file belongs).
std::unique_ptr<MessageSink> make_file_writer(const std::string& path, bool follow_link = false);

// RFC 3164 datagrams to a syslog socket (default /dev/log), our own client:
// unlike syslog(3) it reports a failed send.
int syslog_facility_code(const std::string& name);  // -1 if unknown
int syslog_priority_code(const std::string& name);  // -1 if unknown
std::unique_ptr<MessageSink> make_syslog_writer(const std::string& ident, int facility, int priority,
                                                const std::string& socket_path = "/dev/log");

// sd_journal_send with MESSAGE plus, when `augment`, TLOG_REC, TLOG_USER,
// TLOG_SESSION and TLOG_ID, as tlog and cockpit-session-recording expect.
// Checks that journald's socket is served (sd_journal_send drops messages
// silently when it is not).
std::unique_ptr<MessageSink> make_journal_writer(const std::string& ident, int priority, bool augment,
                                                 const RecordingInfo& info);

}  // namespace tlog::writers
