#include "tlog/proof/proof.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "tlog/hex.h"
#include "tlog/json.h"

namespace tlog::proof {

namespace {

void put_u64(std::string& out, uint64_t v) {
    for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xffU));
}
void put_lv(std::string& out, std::string_view s) {
    put_u64(out, s.size());
    out.append(s);
}

Digest node_hash(const Digest& l, const Digest& r) {
    Sha256 h;
    const uint8_t one = 1;
    h.update(&one, 1);
    h.update(l.data(), l.size());
    h.update(r.data(), r.size());
    return h.finish();
}

// The largest power of two below n (n > 1).
size_t split(size_t n) {
    size_t k = 1;
    while (k * 2 < n) k *= 2;
    return k;
}

Digest root_of(const Digest* leaves, size_t n) {
    if (n == 1) return leaves[0];
    size_t k = split(n);
    return node_hash(root_of(leaves, k), root_of(leaves + k, n - k));
}

void path_of(const Digest* leaves, size_t n, size_t m, std::vector<Digest>& out) {
    if (n <= 1) return;
    size_t k = split(n);
    if (m < k) {
        path_of(leaves, k, m, out);
        out.push_back(root_of(leaves + k, n - k));
    } else {
        path_of(leaves + k, n - k, m - k, out);
        out.push_back(root_of(leaves, k));
    }
}

std::string openssl_error(const std::string& what) { return what + " (OpenSSL)"; }

}  // namespace

void RecordingHash::add(uint64_t id, std::string_view json) {
    Sha256 s;
    s.update(h_.data(), h_.size());
    std::string head;
    put_u64(head, id);
    put_u64(head, json.size());
    s.update(head);
    s.update(json);
    h_ = s.finish();
    ++count_;
    last_id_ = id;
}

std::string Entry::canonical() const {
    std::string out("tlog-checkpoint-entry-1", 23);
    out.push_back('\0');
    put_lv(out, host);
    put_lv(out, rec);
    put_u64(out, covered);
    put_u64(out, last_id);
    out.append(reinterpret_cast<const char*>(hash.data()), hash.size());
    return out;
}

Digest leaf_hash(std::string_view data) {
    Sha256 h;
    const uint8_t zero = 0;
    h.update(&zero, 1);
    h.update(data);
    return h.finish();
}

Digest merkle_root(const std::vector<Digest>& leaves) {
    if (leaves.empty()) return Sha256::of("");
    return root_of(leaves.data(), leaves.size());
}

std::vector<Digest> merkle_proof(const std::vector<Digest>& leaves, size_t index) {
    std::vector<Digest> out;
    if (index < leaves.size()) path_of(leaves.data(), leaves.size(), index, out);
    return out;
}

// RFC 9162 2.1.3.2's verification of an inclusion proof.
Digest root_from_proof(const Digest& leaf, size_t index, size_t size, const std::vector<Digest>& proof) {
    if (index >= size) throw std::runtime_error("leaf index " + std::to_string(index) + " not below the tree size");
    size_t fn = index, sn = size - 1;
    Digest r = leaf;
    for (const auto& p : proof) {
        if (sn == 0) throw std::runtime_error("the proof is longer than the tree is deep");
        if ((fn & 1U) != 0 || fn == sn) {
            r = node_hash(p, r);
            if ((fn & 1U) == 0) {
                while ((fn & 1U) == 0 && fn != 0) {
                    fn >>= 1U;
                    sn >>= 1U;
                }
            }
        } else {
            r = node_hash(r, p);
        }
        fn >>= 1U;
        sn >>= 1U;
    }
    if (sn != 0) throw std::runtime_error("the proof is shorter than the tree is deep");
    return r;
}

std::string Checkpoint::statement() const {
    return "tlog-server checkpoint 1\nseq " + std::to_string(seq) + "\ntime_ms " + std::to_string(time_ms) + "\nprev " +
           hex(prev) + "\nroot " + hex(root) + "\nentries " + std::to_string(entries) + "\nkey " + key_id + "\n";
}

std::string TombstoneStatement::statement() const {
    auto q = [](const std::string& v) { return json::quote(v); };
    auto n = [](uint64_t v) { return std::to_string(v); };
    return "tlog-server tombstone 1\nhost " + q(host) + "\nrec " + q(rec) + "\nuser " + q(user) + "\nfirst_ms " +
           n(first_ms) + "\nlast_ms " + n(last_ms) + "\nmessages " + n(messages) + "\nbytes " + n(bytes) + "\nsha256 " +
           q(sha256) + "\nhash " + hex(hash) + "\ncount " + n(count) + "\nrun_ms " + n(run_ms) + "\npurged_ms " +
           n(purged_ms) + "\nwho " + q(who) + "\naccount " + q(account) + "\nclass " + q(class_name) + "\nreason " +
           q(reason) + "\naction " + q(action) + "\narchive_file " + q(archive_file) + "\narchive_sha256 " +
           q(archive_sha256) + "\nkey " + key_id + "\n";
}

Digest Checkpoint::hash() const { return Sha256::of(statement()); }

std::string hex(const Digest& d) { return Sha256::hex(d); }

std::string to_hex(std::string_view bytes) { return tlog::hex::encode(bytes.data(), bytes.size()); }

std::string from_hex(std::string_view text, const std::string& what) {
    if (text.size() % 2 != 0) throw std::runtime_error(what + ": an odd number of hex digits");
    std::string out;
    out.reserve(text.size() / 2);
    for (size_t i = 0; i < text.size(); i += 2) {
        int a = tlog::hex::digit_value(text[i]), b = tlog::hex::digit_value(text[i + 1]);
        if (a < 0 || b < 0) throw std::runtime_error(what + ": not hexadecimal");
        out.push_back(static_cast<char>(a * 16 + b));
    }
    return out;
}

Digest digest_from_hex(std::string_view text, const std::string& what) {
    if (text.size() != 64) throw std::runtime_error(what + ": not 64 hex digits");
    auto bytes = from_hex(text, what);
    Digest d{};
    std::memcpy(d.data(), bytes.data(), d.size());
    return d;
}

struct Key::Pkey {
    EVP_PKEY* p = nullptr;
    ~Pkey() { EVP_PKEY_free(p); }
    Pkey() = default;
    Pkey(const Pkey&) = delete;
    Pkey& operator=(const Pkey&) = delete;
    Pkey(Pkey&&) = delete;
    Pkey& operator=(Pkey&&) = delete;
};

Key::Key(std::unique_ptr<Pkey> p, bool priv) : key_(std::move(p)), private_(priv) {}
Key::~Key() = default;
Key::Key(Key&&) noexcept = default;
Key& Key::operator=(Key&&) noexcept = default;

namespace {

struct FileCloser {
    void operator()(FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<FILE, FileCloser>;

File create_file(const std::string& path, mode_t mode) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) throw std::runtime_error(path + ": " + std::strerror(errno));
    FILE* f = fdopen(fd, "w");
    if (f == nullptr) {
        ::close(fd);
        throw std::runtime_error(path + ": " + std::strerror(errno));
    }
    return File(f);
}

File open_file(const std::string& path) {
    FILE* f = std::fopen(path.c_str(), "re");
    if (f == nullptr) throw std::runtime_error(path + ": " + std::strerror(errno));
    return File(f);
}

void check_ed25519(EVP_PKEY* p, const std::string& path) {
    if (EVP_PKEY_get_id(p) != EVP_PKEY_ED25519) throw std::runtime_error(path + ": not an Ed25519 key");
}

}  // namespace

void Key::generate(const std::string& path) {
    auto k = std::make_unique<Pkey>();
    std::unique_ptr<EVP_PKEY_CTX, void (*)(EVP_PKEY_CTX*)> ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr),
                                                               EVP_PKEY_CTX_free);
    if (!ctx || EVP_PKEY_keygen_init(ctx.get()) <= 0 || EVP_PKEY_keygen(ctx.get(), &k->p) <= 0) {
        throw std::runtime_error(openssl_error("cannot generate an Ed25519 key"));
    }
    std::string pub = path + ".pub";
    if (access(pub.c_str(), F_OK) == 0) throw std::runtime_error(pub + ": exists; not overwritten");
    {
        File f = create_file(path, 0600);
        if (PEM_write_PrivateKey(f.get(), k->p, nullptr, nullptr, 0, nullptr, nullptr) != 1 ||
            std::fflush(f.get()) != 0) {
            throw std::runtime_error(openssl_error(path + ": cannot write the key"));
        }
    }
    File f = create_file(pub, 0644);
    if (PEM_write_PUBKEY(f.get(), k->p) != 1 || std::fflush(f.get()) != 0) {
        throw std::runtime_error(openssl_error(pub + ": cannot write the public key"));
    }
}

Key Key::load_private(const std::string& path) {
    File f = open_file(path);
    struct stat st {};
    if (fstat(fileno(f.get()), &st) != 0) throw std::runtime_error(path + ": " + std::strerror(errno));
    if ((st.st_mode & 077U) != 0) {
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777U));
        throw std::runtime_error(path + ": mode " + mode +
                                 " lets others read the private key; refused (chmod 600 it, owned by tlog-server)");
    }
    auto k = std::make_unique<Pkey>();
    k->p = PEM_read_PrivateKey(f.get(), nullptr, nullptr, nullptr);
    if (k->p == nullptr) throw std::runtime_error(path + ": not a PEM private key");
    check_ed25519(k->p, path);
    return Key(std::move(k), true);
}

Key Key::load_public(const std::string& path) {
    File f = open_file(path);
    auto k = std::make_unique<Pkey>();
    k->p = PEM_read_PUBKEY(f.get(), nullptr, nullptr, nullptr);
    if (k->p == nullptr) throw std::runtime_error(path + ": not a PEM public key");
    check_ed25519(k->p, path);
    return Key(std::move(k), false);
}

std::string Key::sign(std::string_view message) const {
    std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    std::string sig(64, '\0');
    size_t len = sig.size();
    if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key_->p) <= 0 ||
        EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                       reinterpret_cast<const unsigned char*>(message.data()), message.size()) <= 0 ||
        len != 64) {
        throw std::runtime_error(openssl_error("cannot sign a checkpoint"));
    }
    return sig;
}

bool Key::verify(std::string_view message, std::string_view signature) const {
    std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key_->p) <= 0) {
        throw std::runtime_error(openssl_error("cannot verify a signature"));
    }
    return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                            reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
}

std::string Key::fingerprint() const {
    std::string raw(32, '\0');
    size_t len = raw.size();
    if (EVP_PKEY_get_raw_public_key(key_->p, reinterpret_cast<unsigned char*>(raw.data()), &len) != 1 || len != 32) {
        throw std::runtime_error(openssl_error("cannot read the public key"));
    }
    return Sha256::hex(Sha256::of(raw));
}

std::string Key::public_pem() const {
    std::unique_ptr<BIO, void (*)(BIO*)> bio(BIO_new(BIO_s_mem()), BIO_free_all);
    if (!bio || PEM_write_bio_PUBKEY(bio.get(), key_->p) != 1) {
        throw std::runtime_error(openssl_error("cannot write the public key"));
    }
    char* data = nullptr;
    long n = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<size_t>(n));
}

}  // namespace tlog::proof
