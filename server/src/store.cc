// The storage interface's common part: message validation, the sessions'
// bookkeeping shared by the backends, zstd packing and the choice of backend
// from the database setting.
#include <zstd.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <memory>
#include <stdexcept>

#include "store_backend.h"
#include "tlog/decoder.h"
#include "tlog/error.h"
#include "tlog/json.h"
#include "tlog/server/store.h"

namespace tlog::server {

namespace {

class Sink final : public EventSink {
public:
    MessageMeta meta;
    bool seen = false;
    void event(const Event&) override {}
    void message(const MessageHeader& h) override {
        seen = true;
        meta.host = h.host;
        meta.rec = h.rec;
        meta.user = h.user;
        meta.term = h.term;
        meta.session = h.session;
        meta.id = h.id;
        meta.pos = h.pos;
        if (h.has_time) {
            meta.time_ms = h.time_ms;
        }
    }
};

}  // namespace

MessageMeta validate_message(std::string_view line, const std::string& source, uint64_t line_no) {
    std::string rec;
    // The decoder checks ids against the one it expects; a message is
    // checked alone here, so it is told to expect this message's id.
    DecodeOptions opts;
    opts.source = source;
    opts.first_id = 1;
    {
        // Find the id cheaply first: a full decode with the wrong expected
        // id would report a gap rather than the message's own problems.
        json::Value v;
        try {
            v = json::parse(line, source);
        } catch (const InputError& e) {
            // Parsed alone, the line is line 1: report its place in the input.
            throw InputError({source, line_no, e.where().column, e.where().field}, e.message());
        }
        if (!v.is_object()) {
            throw InputError({source, line_no, 1, ""}, "a message must be a JSON object");
        }
        const auto* id = v.find("id");
        if (id == nullptr || !id->as_uint() || *id->as_uint() == 0) {
            throw InputError({source, line_no, 0, "id"}, "missing or not a positive integer");
        }
        opts.first_id = *id->as_uint();
        // Both backends' integers are signed 64-bit: a larger id would be
        // stored clamped and collide with another forged one.
        if (opts.first_id > static_cast<uint64_t>(INT64_MAX)) {
            throw InputError({source, line_no, 0, "id"}, "larger than 9223372036854775807");
        }
    }
    Decoder dec(opts);
    Sink sink;
    dec.feed(line, line_no, sink);
    if (!sink.seen) {
        throw InputError({source, line_no, 0, ""}, "not a tlog message");
    }
    // PostgreSQL's text cannot hold NUL; refused on both backends alike
    // rather than failing the whole request on one.
    for (const auto& [field, value] : {std::pair<const char*, const std::string*>{"host", &sink.meta.host},
                                       {"rec", &sink.meta.rec},
                                       {"user", &sink.meta.user},
                                       {"term", &sink.meta.term}}) {
        if (value->find('\0') != std::string::npos) {
            throw InputError({source, line_no, 0, field}, "contains a NUL character");
        }
    }
    return sink.meta;
}

void check_schema_version(int found, const std::string& name) {
    if (found > schema_versions) {
        throw std::runtime_error(name + ": schema version " + std::to_string(found) +
                                 " is newer than this tlog-server knows (" + std::to_string(schema_versions) + ")");
    }
}

namespace {

struct CctxFree {
    void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};
struct DctxFree {
    void operator()(ZSTD_DCtx* c) const { ZSTD_freeDCtx(c); }
};

}  // namespace

// Level 1: on the benchmark's recordings (bench/README.md, "server storage") it
// compressed 8.5 KB messages to 0.162 of their size at 238 MB/s, level 3
// to 0.167 at 210 MB/s. Contexts and the output buffer are kept per thread:
// a fresh context per message cost more than the compression itself.
std::string_view zstd_pack(std::string_view json) {
    thread_local std::unique_ptr<ZSTD_CCtx, CctxFree> cctx(ZSTD_createCCtx());
    thread_local std::string packed;
    if (!cctx) {
        throw std::runtime_error("zstd: cannot allocate a compression context");
    }
    size_t bound = ZSTD_compressBound(json.size());
    if (packed.size() < bound) {
        packed.resize(bound);
    }
    size_t n = ZSTD_compressCCtx(cctx.get(), packed.data(), bound, json.data(), json.size(), 1);
    if (ZSTD_isError(n) != 0U) {
        throw std::runtime_error(std::string("zstd: ") + ZSTD_getErrorName(n));
    }
    return {packed.data(), n};
}

std::string zstd_unpack(const void* data, size_t size, uint64_t json_size, const std::string& name) {
    thread_local std::unique_ptr<ZSTD_DCtx, DctxFree> dctx(ZSTD_createDCtx());
    if (!dctx) {
        throw std::runtime_error("zstd: cannot allocate a decompression context");
    }
    std::string out(json_size, '\0');
    size_t n = ZSTD_decompressDCtx(dctx.get(), out.data(), out.size(), data, size);
    if (ZSTD_isError(n) != 0U || n != out.size()) {
        throw std::runtime_error(name + ": a stored message does not decompress: the database is damaged");
    }
    return out;
}

Store::~Store() = default;

int Store::current_schema_version() { return schema_versions; }

void Store::begin() {
    pending_.clear();
    begin_transaction();
    in_transaction_ = true;
}

void Store::commit() {
    for (const auto& kv : pending_) {
        merge_session(kv.second);
    }
    pending_.clear();
    commit_transaction();
    in_transaction_ = false;
}

void Store::rollback() {
    pending_.clear();
    in_transaction_ = false;
    rollback_transaction();
}

AddResult Store::add(const MessageMeta& m, std::string_view json, uint64_t received_ms) {
    if (!in_transaction_) {
        begin();
        try {
            auto r = add(m, json, received_ms);
            commit();
            return r;
        } catch (...) {
            rollback();
            throw;
        }
    }
    if (!insert_message(m, json.size(), zstd_pack(json))) {
        return AddResult::Duplicate;
    }
    uint64_t at = m.time_ms.value_or(received_ms);
    uint64_t start = recording_start(at, m.pos);
    auto [it, fresh] = pending_.try_emplace({m.host, m.rec});
    Session& s = it->second;
    if (fresh) {
        s.host = m.host;
        s.rec = m.rec;
        s.user = m.user;
        s.term = m.term;
        s.session = m.session;
        s.first_id = s.last_id = m.id;
        s.start_ms = start;
        s.end_ms = at;
    } else {
        s.first_id = std::min(s.first_id, m.id);
        s.last_id = std::max(s.last_id, m.id);
        s.start_ms = std::min(s.start_ms, start);
        s.end_ms = std::max(s.end_ms, at);
    }
    ++s.messages;
    s.bytes += json.size();
    return AddResult::Created;
}

namespace {

bool starts_with(const std::string& s, std::string_view prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

}  // namespace

std::unique_ptr<Store> open_store(const std::string& spec) {
    if (starts_with(spec, "postgresql://") || starts_with(spec, "postgres://")) {
        return open_postgres(spec);  // libpq reads the URI itself
    }
    if (starts_with(spec, "postgres:")) {
        return open_postgres(spec.substr(9));
    }
    return open_sqlite(spec);
}

}  // namespace tlog::server
