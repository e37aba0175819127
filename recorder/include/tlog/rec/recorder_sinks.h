// The sinks between the encoder and the writer, and the recorder's own
// reporting:
//   Encoder -> GuardSink -> writer (file | syslog | journal)
// (the "dropped" and "transfer" fields are the encoder's annotations, inside
// the integrity chain: doc/recorder-fields.md); GuardSink makes a writer
// failure visible and applies `lax` (end the session, or go on and keep a
// record of the loss).
#pragma once

#include <cstdint>
#include <string>

#include "tlog/encoder.h"
#include "tlog/rec/rate_limit.h"

namespace tlog::rec {

// Names the program in messages ("tlog-rec", "tlog-rec-session").
void set_program_name(const std::string& name);
// Security-relevant events to authpriv syslog (never only to the terminal).
void audit_log(int prio, const std::string& msg);
// A message to the user's stderr, prefixed with the program name.
void user_error(const std::string& msg);

// Where a writer failure leaves a local record of what was lost (the
// install step makes /var/log/tlog, owned by tlog).
constexpr const char* kLossLog = "/var/log/tlog/lost.log";

// Makes writer failures visible and applies `lax`: on the first failure the
// user is told, authpriv gets the error, and without lax the relay is asked
// to end the session (relay_request_stop). Every message after a failure is
// counted and hashed as lost.
class GuardSink : public MessageSink {
public:
    // `inner` null: lax and the writer could not start (start_error says why).
    GuardSink(MessageSink* inner, bool lax, std::string writer, const std::string& start_error = "");
    void write(const EncodedMessage& m) override;
    // Writes what a buffering writer holds (latency timer, end). A failure
    // is handled like a failed write().
    void flush_buffer();
    int64_t buffered_since() const;  // INT64_MAX when nothing is buffered
    // A summary of what was lost, at the end: to authpriv, to the user's
    // stderr, and as a JSON line in the local loss record (kLossLog) when the
    // recorder may write it, which survives a dead syslog/journald.
    void report(const RecordingInfo& info);
    bool failed() const { return failed_; }
    const std::string& error() const { return error_; }

private:
    void fail(const std::string& what, const std::string& lost);
    MessageSink* inner_;
    bool lax_;
    std::string writer_;
    bool failed_ = false;
    std::string error_;
    uint64_t lost_ = 0, lost_bytes_ = 0, first_lost_ = 0, last_lost_ = 0;
    Sha256 sha_;
};

}  // namespace tlog::rec
