// Who may submit what: the identity of an ingest request (its verified
// client certificate, or a per-host token) and the hosts that identity may
// submit for (its own name, and a relay's configured globs). Every message
// and audit event claiming another host is refused on its own line and
// logged; the rest of the request is stored (doc/server.md, "Transport and
// host identity").
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tlog/server/ingest.h"
#include "tlog/server/store.h"

struct ssl_st;  // OpenSSL's SSL, as cpp-httplib's Request carries it

namespace tlog::server {

// The listener's TLS files (tlog-server.conf: tls_cert, tls_key,
// tls_client_ca, tls_crl). Empty cert: no TLS.
struct TlsSettings {
    std::string cert, key, client_ca, crl;
    std::string source;  // the file that named them, for messages
};

struct IngestAuthSettings {
    // "plain_http": "loopback" or --plain-http: a plain HTTP listener on a
    // loopback address, where ingest without an identity is accepted.
    bool plain_http = false;
    // "ingest_relays": {"IDENTITY": ["host glob", ...]}: the hosts a relay
    // (a central rsyslog) may submit for besides itself.
    std::map<std::string, std::vector<std::string>> relays;
};

struct IngestIdentity {
    bool anonymous = false;  // plain HTTP on loopback, nothing presented
    std::string name;        // the host the certificate or token names
    std::string how;         // "certificate", "token" or "none"
};

// The configured TLS files and plain_http checked before listening: TLS
// or an explicit plain_http on loopback, never silently plain; the key file
// readable by its owner only. Throws std::runtime_error saying what to set.
void check_transport(const TlsSettings& tls, const IngestAuthSettings& auth, const std::string& listen_host);
bool is_loopback(const std::string& host);
// tls_key readable by its owner only; throws std::runtime_error saying so.
void check_key_file(const TlsSettings& tls);

// The identity a verified client certificate proves: its first
// subjectAltName dNSName, else its subject's CN; empty without a verified
// certificate.
std::string certificate_identity(const ssl_st* ssl);

// The token an Authorization header carries: "Bearer TOKEN", or "Basic"
// with the token as the password (rsyslog's omelasticsearch and curl send
// that); empty when there is none.
std::string token_of_header(std::string_view authorization);

// Per-host ingest tokens (table ingest_tokens): 256 random bits in hex,
// stored as their SHA-256 only.
struct IssuedToken {
    std::string id, token;
};
struct TokenRow {
    std::string id, host;
    uint64_t created_ms = 0;
    std::optional<uint64_t> revoked_ms;
};
IssuedToken issue_token(Store& store, const std::string& host, uint64_t now_ms);
std::vector<TokenRow> list_tokens(Store& store);
// Revokes the token with this id, or every valid token of this host;
// returns how many.
uint64_t revoke_tokens(Store& store, const std::string& id_or_host, uint64_t now_ms);
// The host a valid token names (by its hash), nullopt if none.
std::optional<std::string> token_host(Store& store, const std::string& sha256);

class IngestGate {
public:
    IngestGate(IngestAuthSettings settings, bool tls);

    // The request's identity; nullopt and `error` set when it has none it
    // may ingest with (answered 401). `lookup` finds a token's host by its
    // hash (under the store's turn).
    std::optional<IngestIdentity> identify(
        const ssl_st* ssl, std::string_view authorization,
        const std::function<std::optional<std::string>(const std::string& sha256)>& lookup, std::string& error) const;

    bool may_submit(const IngestIdentity& who, const std::string& host) const;

    // Refuses, on their own lines, the messages / events whose host the
    // identity may not submit for, and logs them on standard error.
    void restrict(const IngestIdentity& who, CheckedBody& c, const char* route, const std::string& remote) const;
    void restrict(const IngestIdentity& who, CheckedAudit& c, const char* route, const std::string& remote) const;

    // The line logged at start when ingest without identity is accepted.
    std::string start_notice() const;

private:
    IngestAuthSettings s_;
    bool tls_;
};

}  // namespace tlog::server
