// The evidence export (doc/server.md, "Integrity"; tlog-server export): a
// recording's messages as stored, its audit trail, the checkpoint entry
// covering it with its Merkle inclusion proof, the signed checkpoint, the
// key's fingerprint and a manifest of SHA-256 hashes, in a directory that
// tlog-evidence-verify checks without the server.
#pragma once

#include <cstdint>
#include <string>

#include "tlog/proof/proof.h"
#include "tlog/server/store.h"

namespace tlog::server {

struct ExportResult {
    uint64_t messages = 0, audit_lines = 0;
    uint64_t checkpoint = 0, covered = 0;  // the checkpoint and how many of the messages it covers
};

// Writes the files into `dir` (created; must not exist or be empty).
// `key`: the checkpoints' public key, to refuse a checkpoint that does
// not verify. Throws naming the recording, the checkpoint or the file.
ExportResult export_evidence(Store& store, const proof::Key& key, const std::string& host, const std::string& rec,
                             const std::string& dir);

}  // namespace tlog::server
