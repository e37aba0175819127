// The storage interface's common part: the sessions
// bookkeeping shared by the backends, zstd packing and the choice of backend
// from the database setting.
#include <zstd.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <vector>

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

// Contexts and the output buffer are kept per thread: a fresh context per
// message cost more than the compression itself.
std::string_view zstd_pack(std::string_view json, int level) {
    thread_local std::unique_ptr<ZSTD_CCtx, CctxFree> cctx(ZSTD_createCCtx());
    thread_local std::string packed;
    if (!cctx) {
        throw std::runtime_error("zstd: cannot allocate a compression context");
    }
    size_t bound = ZSTD_compressBound(json.size());
    if (packed.size() < bound) {
        packed.resize(bound);
    }
    size_t n = ZSTD_compressCCtx(cctx.get(), packed.data(), bound, json.data(), json.size(), level);
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

void append_size(std::string& sizes, uint64_t n) {
    while (n >= 0x80U) {
        sizes += static_cast<char>((n & 0x7fU) | 0x80U);
        n >>= 7U;
    }
    sizes += static_cast<char>(n);
}

std::vector<uint64_t> batch_sizes(std::string_view sizes, uint64_t json_size, const std::string& name) {
    if (sizes.empty()) {
        return {json_size};
    }
    std::vector<uint64_t> out;
    uint64_t total = 0;
    for (size_t i = 0; i < sizes.size();) {
        uint64_t n = 0;
        for (unsigned shift = 0;; shift += 7) {
            if (i >= sizes.size() || shift > 56) {
                throw std::runtime_error(name + ": a stored batch's sizes are damaged");
            }
            auto b = static_cast<unsigned char>(sizes[i++]);
            n |= static_cast<uint64_t>(b & 0x7fU) << shift;
            if ((b & 0x80U) == 0) {
                break;
            }
        }
        out.push_back(n);
        total += n;
    }
    if (total != json_size) {
        throw std::runtime_error(name + ": a stored batch's sizes do not add up to its size: the database is damaged");
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
    for (auto& kv : pending_) {
        Pending& p = kv.second;
        // The last batch, if small (a full one was closed), stays open
        // for the recording's next messages.
        uint64_t open = p.batch.count != 0 && p.batch.json.size() < open_batch_bytes ? p.batch.id : 0;
        close_batch(p);
        if (open != p.open_at_start) {
            set_open_batch(p.key, open);
        }
    }
    record_session_info();
    for (const auto& kv : pending_) {
        if (kv.second.session.messages != 0) {
            merge_session(kv.second.session);
        }
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
    auto [it, fresh] = pending_.try_emplace({m.host, m.rec});
    Pending& p = it->second;
    if (fresh) {
        open_recording(p, m.host, m.rec);
    }
    if (p.batch.id == 0) {
        p.batch.id = new_batch_id();
    }
    if (!claim_message(p.key, m.id, p.batch.id, p.batch.count)) {
        return AddResult::Duplicate;
    }
    append_size(p.batch.sizes, json.size());
    p.batch.json += json;
    ++p.batch.added;
    if (++p.batch.count >= batch_messages || p.batch.json.size() >= batch_bytes) {
        close_batch(p);
    }
    uint64_t at = m.time_ms.value_or(received_ms);
    uint64_t start = recording_start(at, m.pos);
    Session& s = p.session;
    if (s.messages == 0) {
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

// The recording's key, and its open batch read back to be filled further.
void Store::open_recording(Pending& p, const std::string& host, const std::string& rec) {
    auto k = recording_key(host, rec);
    p.key = k.key;
    p.open_at_start = k.open_batch;
    if (k.open_batch == 0) {
        return;
    }
    auto rows = read_batches({k.open_batch});
    auto row = rows.find(k.open_batch);
    if (row == rows.end()) {
        throw std::runtime_error(name() + ": recording " + host + "/" + rec +
                                 ": its open batch is missing: the database is damaged");
    }
    OpenBatch& b = p.batch;
    b.id = k.open_batch;
    for (uint64_t n : batch_sizes(row->second.sizes, row->second.json_size, name())) {
        append_size(b.sizes, n);
        ++b.count;
    }
    b.json = zstd_unpack(row->second.zstd.data(), row->second.zstd.size(), row->second.json_size, name());
}

void Store::close_batch(Pending& p) {
    OpenBatch& b = p.batch;
    if (b.added != 0) {
        insert_batch(b.id, p.key, b.json.size(), b.count == 1 ? std::string_view() : std::string_view(b.sizes),
                     zstd_pack(b.json, batch_level));
    }
    b.id = 0;
    b.count = b.added = 0;
    b.sizes.clear();
    b.json.clear();
}

std::vector<std::string> Store::read_refs(const std::vector<MessageRef>& refs) {
    std::vector<uint64_t> ids;
    ids.reserve(refs.size());
    for (const auto& r : refs) {
        ids.push_back(r.batch);
    }
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    auto rows = read_batches(ids);
    // Each batch decompressed once, then cut at its messages' sizes.
    struct Unpacked {
        std::string json;
        std::vector<size_t> starts;  // one more than messages: the end
    };
    std::map<uint64_t, Unpacked> unpacked;
    std::vector<std::string> out;
    out.reserve(refs.size());
    for (const auto& r : refs) {
        auto u = unpacked.find(r.batch);
        if (u == unpacked.end()) {
            auto row = rows.find(r.batch);
            if (row == rows.end()) {
                throw std::runtime_error(name() + ": a stored message's batch is missing: the database is damaged");
            }
            Unpacked x;
            auto sizes = batch_sizes(row->second.sizes, row->second.json_size, name());
            x.json = zstd_unpack(row->second.zstd.data(), row->second.zstd.size(), row->second.json_size, name());
            x.starts.push_back(0);
            for (uint64_t n : sizes) {
                x.starts.push_back(x.starts.back() + n);
            }
            u = unpacked.emplace(r.batch, std::move(x)).first;
        }
        const Unpacked& x = u->second;
        if (r.ord + 1 >= x.starts.size()) {
            throw std::runtime_error(name() + ": a stored message's place in its batch is damaged");
        }
        out.emplace_back(x.json, x.starts[r.ord], x.starts[r.ord + 1] - x.starts[r.ord]);
    }
    return out;
}

// The first `offset + limit` messages after `after_id` of each of the
// recording's keys merged in (id, host) order; one key (one host, nearly
// always) is read with its offset in the database.
std::vector<std::string> Store::read_messages(const std::string& rec, const std::string& host, uint64_t after_id,
                                              uint64_t offset, size_t limit) {
    auto keys = recording_keys(rec, host);
    if (keys.empty() || limit == 0) {
        return {};
    }
    if (keys.size() == 1) {
        return read_refs(message_refs(keys[0].first, after_id, offset, limit));
    }
    size_t each = offset > SIZE_MAX - limit ? SIZE_MAX : static_cast<size_t>(offset) + limit;
    std::vector<std::pair<std::pair<uint64_t, size_t>, MessageRef>> all;  // ((id, host's place), ref)
    for (size_t k = 0; k < keys.size(); ++k) {
        for (const auto& r : message_refs(keys[k].first, after_id, 0, each)) {
            all.push_back({{r.id, k}, r});
        }
    }
    std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<MessageRef> refs;
    for (size_t i = offset; i < all.size() && refs.size() < limit; ++i) {
        refs.push_back(all[i].second);
    }
    return read_refs(refs);
}

std::vector<std::string> Store::messages(const std::string& rec, const std::string& host, uint64_t after_id,
                                         size_t limit) {
    return read_messages(rec, host, after_id, 0, limit);
}

std::vector<std::string> Store::messages_page(const std::string& rec, uint64_t from, size_t size) {
    return read_messages(rec, "", 0, from, size);
}

std::vector<std::pair<uint64_t, std::string>> Store::stored_messages(const std::string& host, const std::string& rec,
                                                                     uint64_t after_id, size_t limit) {
    std::vector<std::pair<uint64_t, std::string>> out;
    for (const auto& k : recording_keys(rec, host)) {
        if (k.second != host) continue;
        auto refs = message_refs(k.first, after_id, 0, limit);
        auto json = read_refs(refs);
        for (size_t i = 0; i < refs.size() && i < json.size(); ++i) out.emplace_back(refs[i].id, std::move(json[i]));
    }
    return out;
}

uint64_t Store::stored_count(const std::string& host, const std::string& rec) {
    uint64_t n = 0;
    for (const auto& k : recording_keys(rec, host)) {
        if (k.second == host) n += count_messages(k.first);
    }
    return n;
}

uint64_t Store::message_count(const std::string& rec) {
    uint64_t n = 0;
    for (const auto& k : recording_keys(rec, "")) {
        n += count_messages(k.first);
    }
    return n;
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
    if (!insert_audit(m, json.size(), zstd_pack(json, 1))) {
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
