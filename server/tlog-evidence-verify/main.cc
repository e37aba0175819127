// tlog-evidence-verify DIR --key PUBKEY: checks an evidence export of
// tlog-server (doc/server.md, "Integrity"; tlog-evidence-verify(1)) on a
// machine without the server or its database: the manifest's hashes, the
// checkpoint's signature, the entry's Merkle inclusion proof, the messages
// against the entry, and the recording's own integrity chain. librec and
// libtlog-proof (libcrypto) only.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "tlog/decoder.h"
#include "tlog/integrity.h"
#include "tlog/json.h"
#include "tlog/proof/proof.h"
#include "tlog_build_config.h"

namespace {

using namespace tlog;

struct Failed : std::runtime_error {
    using std::runtime_error::runtime_error;
};

std::string read_all(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw Failed(path + ": " + std::strerror(errno));
    std::string out;
    char buf[65536];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int e = errno;
            ::close(fd);
            throw Failed(path + ": " + std::strerror(e));
        }
        if (n == 0) break;
        out.append(buf, static_cast<size_t>(n));
    }
    ::close(fd);
    return out;
}

const json::Value& field(const json::Value& o, const char* name, const std::string& file) {
    const json::Value* v = o.is_object() ? o.find(name) : nullptr;
    if (v == nullptr) throw Failed(file + ": field '" + name + "' missing");
    return *v;
}
uint64_t uint_field(const json::Value& o, const char* name, const std::string& file) {
    auto n = field(o, name, file).as_uint();
    if (!n) throw Failed(file + ": field '" + std::string(name) + "': expected an unsigned integer");
    return *n;
}
std::string str_field(const json::Value& o, const char* name, const std::string& file) {
    const auto& v = field(o, name, file);
    if (!v.is_string()) throw Failed(file + ": field '" + std::string(name) + "': expected a string");
    return v.as_string();
}
proof::Digest digest_field(const json::Value& o, const char* name, const std::string& file) {
    try {
        return proof::digest_from_hex(str_field(o, name, file), file + ": field '" + name + "'");
    } catch (const Failed&) {
        throw;
    } catch (const std::exception& e) {
        throw Failed(e.what());
    }
}

json::Value parse_file(const std::string& dir, const std::string& name) {
    try {
        return json::parse(read_all(dir + "/" + name), name);
    } catch (const Failed&) {
        throw;
    } catch (const std::exception& e) {
        throw Failed(e.what());
    }
}

struct NullSink final : EventSink {
    std::vector<std::string> problems;
    void event(const Event& /*ev*/) override {}
    void problem(const Problem& p) override {
        if (problems.size() < 10) problems.push_back(p.str());
    }
};

void usage(std::ostream& o) {
    o << "Usage: tlog-evidence-verify DIR --key PUBKEY [--integrity-key FILE]...\n"
         "Checks an export of tlog-server export: the manifest, the checkpoint's signature\n"
         "with PUBKEY (the server's checkpoint key, obtained separately), the Merkle proof,\n"
         "the messages against the checkpoint's entry, and the recording's chain.\n"
         "Exit status: 0 all verified, 1 something failed (named), 2 bad usage.\n";
}

}  // namespace

int main(int argc, char** argv) {
    std::string dir, key_file;
    std::vector<std::string> integrity_keys;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--help" || a == "-h") {
            usage(std::cout);
            return 0;
        }
        if (a == "--version") {
            std::cout << "tlog-evidence-verify " TLOG_VERSION "\n";
            return 0;
        }
        if ((a == "--key" || a == "--integrity-key") && i + 1 < argc) {
            (a == "--key" ? key_file : integrity_keys.emplace_back()) = argv[++i];
        } else if (!a.empty() && a[0] != '-' && dir.empty()) {
            dir = a;
        } else {
            std::cerr << "tlog-evidence-verify: unexpected argument " << a << '\n';
            usage(std::cerr);
            return 2;
        }
    }
    if (dir.empty() || key_file.empty()) {
        usage(std::cerr);
        return 2;
    }
    int failures = 0;
    auto check = [&](const std::string& what, auto&& fn) {
        try {
            std::string detail = fn();
            std::cout << "OK      " << what << (detail.empty() ? "" : ": " + detail) << '\n';
            return true;
        } catch (const std::exception& e) {
            std::cout << "FAILED  " << what << ": " << e.what() << '\n';
            ++failures;
            return false;
        }
    };
    std::optional<proof::Key> key;
    try {
        key = proof::Key::load_public(key_file);
    } catch (const std::exception& e) {
        std::cerr << "tlog-evidence-verify: " << e.what() << '\n';
        return 2;
    }

    // 1. Every file as the manifest lists it, and no file it needs missing from it.
    json::Value manifest;
    check("manifest.json hashes", [&] {
        manifest = parse_file(dir, "manifest.json");
        if (str_field(manifest, "format", "manifest.json") != "tlog-evidence-1") {
            throw Failed("manifest.json: field 'format': not tlog-evidence-1");
        }
        const auto& files = field(manifest, "files", "manifest.json");
        for (const char* need : {"messages.jsonl", "audit.jsonl", "checkpoint.json", "checkpoint.statement",
                                 "checkpoint.sig", "entry.json", "key-fingerprint.txt"}) {
            if (files.find(need) == nullptr) throw Failed(std::string("manifest.json: lists no ") + need);
        }
        std::string bad;
        for (const auto& [name, h] : files.members()) {
            if (name.find('/') != std::string::npos || name.empty() || name[0] == '.') {
                throw Failed("manifest.json: file name " + json::quote(name) + " outside the directory");
            }
            if (!h.is_string() || Sha256::hex(Sha256::of(read_all(dir + "/" + name))) != h.as_string()) {
                bad += (bad.empty() ? "" : ", ") + name;
            }
        }
        if (!bad.empty()) throw Failed("SHA-256 differs from the manifest: " + bad);
        return std::to_string(files.members().size()) + " files";
    });

    // 2. The signed checkpoint.
    proof::Checkpoint cp;
    bool cp_ok = check("checkpoint.json signature", [&] {
        auto c = parse_file(dir, "checkpoint.json");
        const std::string f = "checkpoint.json";
        cp.seq = uint_field(c, "seq", f);
        cp.time_ms = uint_field(c, "time_ms", f);
        cp.entries = uint_field(c, "entries", f);
        cp.prev = digest_field(c, "prev", f);
        cp.root = digest_field(c, "root", f);
        cp.key_id = str_field(c, "key", f);
        try {
            cp.signature = proof::from_hex(str_field(c, "signature", f), f + ": field 'signature'");
        } catch (const Failed&) {
            throw;
        } catch (const std::exception& e) {
            throw Failed(e.what());
        }
        if (cp.key_id != key->fingerprint()) {
            throw Failed("signed by key " + cp.key_id + ", the key given is " + key->fingerprint());
        }
        std::string fp = read_all(dir + "/key-fingerprint.txt");
        if (fp != cp.key_id + "\n") throw Failed("key-fingerprint.txt names another key than checkpoint.json");
        if (!key->verify(cp.statement(), cp.signature)) {
            throw Failed("the signature does not verify: a field of checkpoint.json was changed");
        }
        if (read_all(dir + "/checkpoint.statement") != cp.statement()) {
            throw Failed("checkpoint.statement is not what checkpoint.json says");
        }
        return "checkpoint " + std::to_string(cp.seq) + ", key " + cp.key_id;
    });

    // 3. The entry is in the checkpoint's tree.
    proof::Entry entry;
    bool entry_ok = check("entry.json inclusion proof", [&] {
        auto e = parse_file(dir, "entry.json");
        const std::string f = "entry.json";
        entry.host = str_field(e, "host", f);
        entry.rec = str_field(e, "rec", f);
        entry.covered = uint_field(e, "covered", f);
        entry.last_id = uint_field(e, "last_id", f);
        entry.hash = digest_field(e, "hash", f);
        uint64_t leaf = uint_field(e, "leaf", f), size = uint_field(e, "tree_size", f);
        std::vector<proof::Digest> path;
        const auto& p = field(e, "proof", f);
        if (!p.is_array()) throw Failed(f + ": field 'proof': expected an array");
        for (const auto& x : p.items()) {
            if (!x.is_string()) throw Failed(f + ": field 'proof': expected hex strings");
            try {
                path.push_back(proof::digest_from_hex(x.as_string(), f + ": field 'proof'"));
            } catch (const std::exception& ex) {
                throw Failed(ex.what());
            }
        }
        if (cp_ok && size != cp.entries) throw Failed(f + ": field 'tree_size' is not the checkpoint's entries");
        proof::Digest root;
        try {
            root = proof::root_from_proof(proof::leaf_hash(entry.canonical()), leaf, size, path);
        } catch (const std::exception& ex) {
            throw Failed(f + ": field 'proof': " + ex.what());
        }
        if (!cp_ok || root != cp.root) {
            throw Failed("the entry and its proof do not lead to checkpoint " + std::to_string(cp.seq) +
                         "'s signed root: entry.json was changed");
        }
        return entry.host + "/" + entry.rec + ", " + std::to_string(entry.covered) + " messages up to id " +
               std::to_string(entry.last_id);
    });

    // 4. The messages against the entry; 5. their own chain.
    check("messages.jsonl against the entry", [&] {
        std::string text = read_all(dir + "/messages.jsonl");
        proof::RecordingHash h;
        uint64_t line_no = 0, after = 0, prev_id = 0;
        size_t start = 0;
        while (start < text.size()) {
            size_t end = text.find('\n', start);
            if (end == std::string::npos) throw Failed("messages.jsonl: the last line has no line break");
            std::string_view line(text.data() + start, end - start);
            start = end + 1;
            ++line_no;
            json::Value m;
            try {
                m = json::parse(line, "messages.jsonl");
            } catch (const std::exception& e) {
                throw Failed("messages.jsonl line " + std::to_string(line_no) + ": " + e.what());
            }
            const std::string f = "messages.jsonl line " + std::to_string(line_no);
            uint64_t id = uint_field(m, "id", f);
            if (str_field(m, "host", f) != entry.host || str_field(m, "rec", f) != entry.rec) {
                throw Failed(f + ": another recording than entry.json's");
            }
            if (id <= prev_id) throw Failed(f + ": message " + std::to_string(id) + " out of order");
            prev_id = id;
            if (id <= entry.last_id) {
                h.add(id, line);
            } else {
                ++after;
            }
        }
        if (!entry_ok) throw Failed("no verified entry to check them against");
        if (h.count() != entry.covered) {
            throw Failed(std::to_string(h.count()) + " messages with ids up to " + std::to_string(entry.last_id) +
                         ", the checkpoint covered " + std::to_string(entry.covered) + ": messages added or removed");
        }
        if (h.digest() != entry.hash) throw Failed("their hash is not the checkpoint's: a message was altered");
        if (after > 0) {
            throw Failed(std::to_string(after) + " messages after id " + std::to_string(entry.last_id) +
                         " are not covered by the checkpoint");
        }
        return std::to_string(h.count()) + " messages, as the checkpoint covered them";
    });
    check("messages.jsonl integrity chain", [&] {
        integrity::Keyring ring;
        for (const auto& f : integrity_keys) ring.add(integrity::load_key_file(f));
        DecodeOptions o;
        o.lax = true;
        o.keys = &ring;
        o.source = "messages.jsonl";
        Decoder dec(o);
        NullSink sink;
        std::string text = read_all(dir + "/messages.jsonl");
        uint64_t line_no = 0;
        size_t start = 0;
        while (start < text.size()) {
            size_t end = text.find('\n', start);
            if (end == std::string::npos) end = text.size();
            dec.feed(std::string_view(text.data() + start, end - start), ++line_no, sink);
            start = end + 1;
        }
        const auto& r = dec.finish();
        if (r.verdict == IntegrityReport::Verdict::Broken || r.verdict == IntegrityReport::Verdict::Unverifiable) {
            throw Failed(r.str() + (sink.problems.empty() ? "" : ": " + sink.problems.front()));
        }
        return r.label();
    });
    std::cout << (failures == 0 ? "evidence verified\n"
                                : "evidence NOT verified: " + std::to_string(failures) + " checks failed\n");
    return failures == 0 ? 0 : 1;
}
