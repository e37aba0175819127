// The TLS context of tlog-server's listener. Client certificates are asked
// for and, when sent, verified against tls_client_ca (and tls_crl) during
// the handshake, which fails for a certificate of another CA, an expired or
// a revoked one; a client without one may still connect (an ingest token,
// the read routes), and ingest then needs a token. SIGHUP reloads the
// files: the next handshake builds a new context from them and every
// handshake after it uses that one (a file that does not load keeps the
// former context, and says so).
#include "tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>

#include "hangup.h"
#include "tlog/json.h"

namespace tlog::server {

namespace {

std::string openssl_error() {
    std::string out;
    while (unsigned long e = ERR_get_error()) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        out += out.empty() ? "" : "; ";
        out += buf;
    }
    return out.empty() ? "unknown OpenSSL error" : out;
}

// Never prompt on the terminal for an encrypted key's passphrase.
extern "C" int no_passphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*u*/) { return 0; }

// Fills the context; returns the error, empty on success.
std::string setup(SSL_CTX& ctx, const TlsSettings& tls);

using CtxPtr = std::shared_ptr<SSL_CTX>;

// The files' current context once reloaded (null: the first one, which
// cpp-httplib owns), and the request for a reload.
struct Reloader {
    TlsSettings tls;
    std::mutex mu;
    CtxPtr current;
    unsigned hangups_seen = 0;  // hangups() when last reloaded
};
std::atomic<Reloader*> reloader{nullptr};

void log_reload(const std::string& error) {
    auto now =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch());
    std::string line = "{\"time_ms\":" + std::to_string(now.count()) + ",\"event\":\"tls_reload\"," +
                       (error.empty() ? std::string("\"result\":\"loaded\"")
                                      : "\"result\":\"kept the former files\",\"error\":" + json::quote(error)) +
                       "}\n";
    std::fwrite(line.data(), 1, line.size(), stderr);
}

// Early in every handshake: a requested reload happens here, and the
// connection takes the newest context (certificate, key, client CAs, CRL).
extern "C" int on_client_hello(SSL* ssl, int* /*alert*/, void* /*arg*/) {
    Reloader* r = reloader.load();
    if (r == nullptr) return SSL_CLIENT_HELLO_SUCCESS;
    std::lock_guard<std::mutex> g(r->mu);
    if (const unsigned n = hangups(); n != r->hangups_seen) {
        r->hangups_seen = n;
        std::string error;
        try {
            check_key_file(r->tls);
            CtxPtr fresh(SSL_CTX_new(TLS_server_method()), SSL_CTX_free);
            error = fresh ? setup(*fresh, r->tls) : "cannot create a TLS context";
            if (error.empty()) r->current = std::move(fresh);
        } catch (const std::exception& e) {
            error = e.what();
        }
        log_reload(error);
    }
    if (r->current) SSL_set_SSL_CTX(ssl, r->current.get());
    return SSL_CLIENT_HELLO_SUCCESS;
}

std::string setup(SSL_CTX& ctx, const TlsSettings& tls) {
    const std::string where = tls.source.empty() ? std::string() : tls.source + ": ";
    auto fail = [&](const char* key, const std::string& file) {
        return where + key + " " + json::quote(file) + ": " + openssl_error();
    };
    ERR_clear_error();
    if (SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION) != 1) return where + "cannot require TLS 1.2";
    SSL_CTX_set_options(&ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_default_passwd_cb(&ctx, no_passphrase);
    if (SSL_CTX_use_certificate_chain_file(&ctx, tls.cert.c_str()) != 1) return fail("tls_cert", tls.cert);
    if (SSL_CTX_use_PrivateKey_file(&ctx, tls.key.c_str(), SSL_FILETYPE_PEM) != 1) {
        return fail("tls_key", tls.key) + " (an encrypted key is not supported)";
    }
    if (SSL_CTX_check_private_key(&ctx) != 1) return fail("tls_key", tls.key) + " (not tls_cert's key)";
    // Resumed sessions skip the certificate check: a session id context
    // ties them to this server, as OpenSSL requires once peers are verified.
    static const unsigned char sid_ctx[] = "tlog-server";
    SSL_CTX_set_session_id_context(&ctx, sid_ctx, sizeof sid_ctx - 1);
    if (!tls.client_ca.empty()) {
        if (SSL_CTX_load_verify_locations(&ctx, tls.client_ca.c_str(), nullptr) != 1) {
            return fail("tls_client_ca", tls.client_ca);
        }
        STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(tls.client_ca.c_str());
        if (names == nullptr) return fail("tls_client_ca", tls.client_ca);
        SSL_CTX_set_client_CA_list(&ctx, names);  // owns them
        // Asked for, verified when sent; optional (a token may stand in).
        SSL_CTX_set_verify(&ctx, SSL_VERIFY_PEER, nullptr);
        SSL_CTX_set_verify_depth(&ctx, 8);
    } else if (!tls.crl.empty()) {
        return where + "tls_crl needs tls_client_ca";
    }
    if (!tls.crl.empty()) {
        X509_STORE* store = SSL_CTX_get_cert_store(&ctx);
        X509_LOOKUP* lookup = X509_STORE_add_lookup(store, X509_LOOKUP_file());
        if (lookup == nullptr || X509_load_crl_file(lookup, tls.crl.c_str(), X509_FILETYPE_PEM) <= 0) {
            return fail("tls_crl", tls.crl);
        }
        // The leaf's CA must publish a CRL in the file: a missing one fails
        // the handshake rather than passing unchecked.
        X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
    }
    SSL_CTX_set_client_hello_cb(&ctx, on_client_hello, nullptr);
    return {};
}

}  // namespace

std::unique_ptr<httplib::Server> make_listener(const TlsSettings& tls) {
    if (tls.cert.empty()) return std::make_unique<httplib::Server>();
    std::string error;
    auto srv = std::make_unique<httplib::SSLServer>([&](SSL_CTX& ctx) {
        error = setup(ctx, tls);
        return error.empty();
    });
    if (!srv->is_valid()) {
        throw std::runtime_error(error.empty() ? "cannot create the TLS context: " + openssl_error() : error);
    }
    // One listener per process: the reloader lives as long as it.
    static Reloader r;
    r.tls = tls;
    r.hangups_seen = hangups();
    reloader = &r;
    catch_hangups();
    return srv;
}

}  // namespace tlog::server
