// The index build's first stage: read the file's lines, keep those of the
// selected recording, decode them (JSON, UTF-8, integrity chain). It runs in
// the calling thread (DecodeStage::run straight into the model stage) or in
// a thread of its own (DecodeThread), handing recorded batches over.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "event_batch.h"
#include "tlog/decoder.h"
#include "tlog/play/line_source.h"
#include "tlog/recording_select.h"

namespace tlog::play {

class DecodeStage {
public:
    // `rec`: the recording to read, empty for the first one in the file.
    // Throws std::system_error naming the file if it cannot be opened.
    DecodeStage(const std::string& path, const std::string& rec, bool lax, const integrity::Keyring* keys);

    // Decodes message lines into `out` until it is full() (true) or the
    // file ends (false). Strict mode throws InputError naming the line.
    bool run(LineEvents& out);
    // After the end: the integrity verdict, and the recording read.
    const IntegrityReport& finish() { return dec_.finish(); }
    const std::string& selected() const { return select_.selected(); }

private:
    LineSource src_;
    Decoder dec_;
    RecordingSelector select_;
};

// A DecodeStage in its own thread. At most kBatches batches exist, so a
// fast decoder waits for a slow model instead of filling memory. The
// destructor stops and joins the thread, whatever the caller is leaving by.
class DecodeThread {
public:
    // Takes over `stage` (constructed in the caller's thread, so opening
    // the file fails there).
    explicit DecodeThread(std::unique_ptr<DecodeStage> stage);
    ~DecodeThread();
    DecodeThread(const DecodeThread&) = delete;
    DecodeThread& operator=(const DecodeThread&) = delete;

    // The next batch in order (the previous one goes back for reuse),
    // nullptr at the end. An error of the decoder (a strict-mode
    // InputError, a read error) is rethrown here after the batches before
    // it, where the sequential build would have met it.
    EventBatch* next();
    // After next() returned nullptr.
    const IntegrityReport& report() const { return report_; }
    const std::string& selected() const { return stage_->selected(); }

private:
    static constexpr size_t kBatches = 4;

    void produce();

    std::unique_ptr<DecodeStage> stage_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<std::unique_ptr<EventBatch>> free_, full_;
    bool finished_ = false, stop_ = false;
    std::exception_ptr error_;
    IntegrityReport report_;
    std::unique_ptr<EventBatch> lent_;  // the one the consumer holds
    std::thread thread_;                // last: started once the rest exists
};

}  // namespace tlog::play
