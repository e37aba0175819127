// The storage interface's common part: the sessions
// bookkeeping shared by the backends, zstd packing and the choice of backend
// from the database setting.
#include <zstd.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <memory>
#include <stdexcept>

#include "store_backend.h"
#include "tlog/server/store.h"

namespace tlog::server {

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

// Level 1: on the benchmark's recordings (bench/README.md, "server") it
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
    ended_.clear();
    claimed_.clear();
    begin_transaction();
    in_transaction_ = true;
}

void Store::commit() {
    record_session_info();
    for (const auto& kv : pending_) {
        merge_session(kv.second);
    }
    pending_.clear();
    ended_.clear();
    commit_transaction();
    note_committed();
    in_transaction_ = false;
}

void Store::rollback() {
    pending_.clear();
    ended_.clear();
    claimed_.clear();
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
    if (m.end) {
        ended_.insert({m.host, m.rec});
    }
    return AddResult::Created;
}

AddResult Store::add_audit(const AuditMeta& m, std::string_view json) {
    if (!in_transaction_) {
        begin();
        try {
            auto r = add_audit(m, json);
            commit();
            return r;
        } catch (...) {
            rollback();
            throw;
        }
    }
    if (!insert_audit(m, json.size(), zstd_pack(json))) {
        return AddResult::Duplicate;
    }
    record_audit_info(m);
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
