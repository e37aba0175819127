#include "tlog/server/evidence.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "recording_audit.h"
#include "tlog/json.h"
#include "tlog/server/checkpoint.h"

namespace tlog::server {

namespace {

void write_file(const std::string& dir, const std::string& name, const std::string& data, json::Value& files) {
    std::string path = dir + "/" + name;
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) throw std::runtime_error(path + ": " + std::strerror(errno));
    size_t done = 0;
    while (done < data.size()) {
        ssize_t n = ::write(fd, data.data() + done, data.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            int e = errno;
            ::close(fd);
            throw std::runtime_error(path + ": " + std::strerror(e));
        }
        done += static_cast<size_t>(n);
    }
    if (::fsync(fd) != 0 || ::close(fd) != 0) throw std::runtime_error(path + ": " + std::strerror(errno));
    files.set(name, json::Value::make_string(Sha256::hex(Sha256::of(data))));
}

}  // namespace

ExportResult export_evidence(Store& store, const proof::Key& key, const std::string& host, const std::string& rec,
                             const std::string& dir) {
    const std::string name = host + "/" + rec;
    auto entry_row = store.latest_entry(host, rec);
    if (!entry_row) {
        throw std::runtime_error(name + ": no checkpoint covers it yet (checkpoint_key set? wait for the next one)");
    }
    VerifiedCheckpoint v;
    try {
        v = load_checkpoint(store, key, entry_row->seq);
    } catch (const std::exception& e) {
        throw std::runtime_error(name + ": " + e.what() + ": run tlog-server verify");
    }
    if (entry_row->leaf >= v.leaves.size()) {
        throw std::runtime_error(name + ": checkpoint " + std::to_string(v.cp.seq) + " has no leaf " +
                                 std::to_string(entry_row->leaf) + ": run tlog-server verify");
    }
    const proof::Checkpoint& cp = v.cp;
    auto path = proof::merkle_proof(v.leaves, entry_row->leaf);

    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) throw std::runtime_error(dir + ": " + std::strerror(errno));
    ExportResult r;
    r.checkpoint = cp.seq;
    auto files = json::Value::make_object();

    std::string messages;
    for (uint64_t after = 0;;) {
        auto page = store.stored_messages(host, rec, after, 2000);
        for (const auto& [id, m] : page) {
            messages += m;
            messages += '\n';
            ++r.messages;
            if (id <= entry_row->last_id) ++r.covered;
            after = id;
        }
        if (page.size() < 2000) break;
    }
    if (r.messages == 0) throw std::runtime_error(name + ": no stored message");
    write_file(dir, "messages.jsonl", messages, files);

    std::string audit;
    std::optional<AuditKey> after;
    for (;;) {
        auto items = store.recording_audit(rec, after, 10000);
        audit += recording_audit_lines(items);
        r.audit_lines += items.size();
        if (items.size() < 10000) break;
        after = items.back().event.key;
    }
    write_file(dir, "audit.jsonl", audit, files);

    auto c = json::Value::make_object();
    c.set("seq", json::Value::make_uint(cp.seq));
    c.set("time_ms", json::Value::make_uint(cp.time_ms));
    c.set("prev", json::Value::make_string(proof::hex(cp.prev)));
    c.set("root", json::Value::make_string(proof::hex(cp.root)));
    c.set("entries", json::Value::make_uint(cp.entries));
    c.set("key", json::Value::make_string(cp.key_id));
    c.set("signature", json::Value::make_string(proof::to_hex(cp.signature)));
    write_file(dir, "checkpoint.json", json::dump(c, true) + "\n", files);
    // The statement and signature as `openssl pkeyutl -verify -rawin` takes them.
    write_file(dir, "checkpoint.statement", cp.statement(), files);
    write_file(dir, "checkpoint.sig", cp.signature, files);

    auto e = json::Value::make_object();
    e.set("host", json::Value::make_string(entry_row->host));
    e.set("rec", json::Value::make_string(entry_row->rec));
    e.set("covered", json::Value::make_uint(entry_row->covered));
    e.set("last_id", json::Value::make_uint(entry_row->last_id));
    e.set("hash", json::Value::make_string(entry_row->hash));
    e.set("leaf", json::Value::make_uint(entry_row->leaf));
    e.set("tree_size", json::Value::make_uint(cp.entries));
    auto p = json::Value::make_array();
    for (const auto& d : path) p.items().push_back(json::Value::make_string(proof::hex(d)));
    e.set("proof", std::move(p));
    write_file(dir, "entry.json", json::dump(e, true) + "\n", files);
    write_file(dir, "key-fingerprint.txt", key.fingerprint() + "\n", files);

    // The manifest, and the same hashes for sha256sum -c.
    auto m = json::Value::make_object();
    m.set("format", json::Value::make_string("tlog-evidence-1"));
    m.set("host", json::Value::make_string(host));
    m.set("rec", json::Value::make_string(rec));
    m.set("messages", json::Value::make_uint(r.messages));
    m.set("checkpoint", json::Value::make_uint(cp.seq));
    m.set("files", files);
    std::string sums;
    for (const auto& [f, h] : files.members()) sums += h.as_string() + "  " + f + "\n";
    auto unused = json::Value::make_object();
    write_file(dir, "manifest.json", json::dump(m, true) + "\n", unused);
    write_file(dir, "SHA256SUMS", sums, unused);
    return r;
}

}  // namespace tlog::server
