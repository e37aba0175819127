// Ingest host identity: client certificates, per-host tokens, relays, and
// the refusal of lines claiming a host the sender may not submit for.
#include "tlog/server/ingest_auth.h"

#include <arpa/inet.h>
#include <fnmatch.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <strings.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <stdexcept>

#include "tlog/error.h"
#include "tlog/json.h"
#include "tlog/server/secret.h"

namespace tlog::server {

namespace {

uint64_t wall_ms() {
    return static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count());
}

std::string_view trim(std::string_view v) {
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    return v;
}

// One JSON line on standard error in one write, as the request log.
void log_line(const json::Value& o) {
    std::string line = json::dump(o) + "\n";
    std::fwrite(line.data(), 1, line.size(), stderr);
}

// Refuses the entries of `entries` whose host `who` may not submit for:
// each its own line's failure naming the field host; one log line per
// claimed host and request.
template <class Entries, class Items>
void refuse_foreign(const IngestGate& gate, const IngestIdentity& who, Entries& entries, Items& items, uint64_t& failed,
                    const char* route, const std::string& remote) {
    if (who.anonymous) return;
    std::map<std::string, uint64_t> refused;  // claimed host -> lines
    auto foreign = [&](const auto& e) {
        if (gate.may_submit(who, e.meta.host)) return false;
        auto& item = items.at(e.item);
        item.status = 400;
        item.error = InputError({"", item.line, 0, "host"}, "host " + json::quote(e.meta.host) +
                                                                " is not the sender's identity " +
                                                                json::quote(who.name) + " (" + who.how + ")")
                         .what();
        ++failed;
        ++refused[e.meta.host];
        return true;
    };
    entries.erase(std::remove_if(entries.begin(), entries.end(), foreign), entries.end());
    for (const auto& [host, n] : refused) {
        auto o = json::Value::make_object();
        o.set("time_ms", json::Value::make_uint(wall_ms()));
        o.set("event", json::Value::make_string("ingest_host_refused"));
        o.set("identity", json::Value::make_string(who.name));
        o.set("by", json::Value::make_string(who.how));
        o.set("claimed_host", json::Value::make_string(host));
        o.set("route", json::Value::make_string(route != nullptr ? route : ""));
        o.set("remote", json::Value::make_string(remote));
        o.set("lines", json::Value::make_uint(n));
        log_line(o);
    }
}

}  // namespace

bool is_loopback(const std::string& host) {
    if (host == "localhost") return true;
    in_addr a4{};
    if (inet_pton(AF_INET, host.c_str(), &a4) == 1) {
        return (ntohl(a4.s_addr) >> 24U) == 127U;
    }
    in6_addr a6{};
    if (inet_pton(AF_INET6, host.c_str(), &a6) == 1) {
        if (IN6_IS_ADDR_LOOPBACK(&a6)) return true;
        return IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127;
    }
    return false;
}

void check_transport(const TlsSettings& tls, const IngestAuthSettings& auth, const std::string& listen_host) {
    const std::string where = tls.source.empty() ? std::string("the configuration") : tls.source;
    if (tls.cert.empty()) {
        if (!tls.key.empty() || !tls.client_ca.empty() || !tls.crl.empty()) {
            throw std::runtime_error(where + ": tls_cert is missing (tls_key, tls_client_ca and tls_crl need it)");
        }
        if (!auth.plain_http) {
            throw std::runtime_error(
                "no TLS configured: set tls_cert and tls_key (and tls_client_ca to accept host certificates) in " +
                where +
                ", or \"plain_http\": \"loopback\" (or --plain-http) to serve plain HTTP on a loopback "
                "address");
        }
        if (!is_loopback(listen_host)) {
            throw std::runtime_error("plain HTTP is only served on a loopback address, not on " +
                                     json::quote(listen_host) + ": set tls_cert and tls_key in " + where +
                                     " or listen on 127.0.0.1");
        }
        return;
    }
    if (auth.plain_http) {
        throw std::runtime_error(where + ": plain_http (or --plain-http) and tls_cert exclude each other");
    }
    if (tls.key.empty()) {
        throw std::runtime_error(where + ": tls_key is missing (the private key of tls_cert)");
    }
    check_key_file(tls);
}

void check_key_file(const TlsSettings& tls) {
    const std::string where = tls.source.empty() ? std::string("the configuration") : tls.source;
    struct stat st {};
    if (stat(tls.key.c_str(), &st) != 0) {
        throw std::runtime_error(where + ": tls_key " + json::quote(tls.key) + ": cannot read it");
    }
    if ((st.st_mode & 077U) != 0) {
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777U));
        throw std::runtime_error(where + ": tls_key " + json::quote(tls.key) + " has mode " + mode +
                                 ": a private key must be readable by its owner only (chmod 600)");
    }
}

std::string certificate_identity(const ssl_st* ssl) {
    if (ssl == nullptr) return {};
    X509* cert = SSL_get0_peer_certificate(ssl);
    // The handshake already refused a certificate that does not verify;
    // checked again so no path can take an unverified one.
    if (cert == nullptr || SSL_get_verify_result(ssl) != X509_V_OK) return {};
    using Names = std::unique_ptr<GENERAL_NAMES, void (*)(GENERAL_NAMES*)>;
    Names names(static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)),
                [](GENERAL_NAMES* n) { GENERAL_NAMES_free(n); });
    if (names) {
        for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
            const GENERAL_NAME* g = sk_GENERAL_NAME_value(names.get(), i);
            if (g->type == GEN_DNS) {
                const ASN1_IA5STRING* s = g->d.dNSName;
                std::string name(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                 static_cast<size_t>(ASN1_STRING_length(s)));
                // A NUL inside would make a name compare as another.
                return name.find('\0') == std::string::npos ? name : std::string();
            }
        }
    }
    X509_NAME* subject = X509_get_subject_name(cert);
    int at = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
    if (at < 0) return {};
    const ASN1_STRING* cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, at));
    unsigned char* utf8 = nullptr;
    int n = ASN1_STRING_to_UTF8(&utf8, cn);
    if (n < 0) return {};
    std::string name(reinterpret_cast<const char*>(utf8), static_cast<size_t>(n));
    OPENSSL_free(utf8);
    return name.find('\0') == std::string::npos ? name : std::string();
}

std::string token_of_header(std::string_view authorization) {
    // Basic's user name is not looked at: the token names the host.
    auto c = authorization_credentials(authorization);
    return c ? c->secret : std::string();
}

bool Store::add_ingest_token(const std::string& id, const std::string& host, const std::string& sha256,
                             uint64_t now_ms) {
    if (!sql_query("SELECT 1 FROM ingest_tokens WHERE id = ?", {SqlValue::str(id)}).empty()) return false;
    sql_exec("INSERT INTO ingest_tokens (id, host, sha256, created_ms) VALUES (?, ?, ?, ?)",
             {SqlValue::str(id), SqlValue::str(host), SqlValue::str(sha256), SqlValue::integer(now_ms)});
    return true;
}

std::vector<SqlRow> Store::ingest_tokens() {
    return sql_query("SELECT id, host, created_ms, revoked_ms FROM ingest_tokens ORDER BY host, created_ms, id", {});
}

uint64_t Store::revoke_ingest_tokens(const std::string& id_or_host, uint64_t now_ms) {
    return sql_exec("UPDATE ingest_tokens SET revoked_ms = ? WHERE (id = ? OR host = ?) AND revoked_ms IS NULL",
                    {SqlValue::integer(now_ms), SqlValue::str(id_or_host), SqlValue::str(id_or_host)});
}

std::optional<std::string> Store::ingest_token_host(const std::string& sha256) {
    auto rows =
        sql_query("SELECT host FROM ingest_tokens WHERE sha256 = ? AND revoked_ms IS NULL", {SqlValue::str(sha256)});
    if (rows.empty() || !rows.front().at(0)) return std::nullopt;
    return *rows.front().at(0);
}

IssuedToken issue_token(Store& store, const std::string& host, uint64_t now_ms) {
    if (host.empty() || host.find_first_of(std::string_view("\0 \t\n/", 5)) != std::string::npos) {
        throw InputError({"", 0, 0, "HOST"}, "not a host name: " + json::quote(host));
    }
    for (int attempt = 0;; ++attempt) {
        IssuedToken t;
        // A random 256-bit token needs no salt: no dictionary reaches it,
        // and its plain hash lets a request's token be found by one
        // indexed lookup.
        t.token = new_secret();
        auto h = secret_hash(t.token);
        t.id = h.substr(0, 12);
        if (store.add_ingest_token(t.id, host, h, now_ms)) return t;
        if (attempt >= 8) throw std::runtime_error("cannot find a free token id");
    }
}

std::vector<TokenRow> list_tokens(Store& store) {
    std::vector<TokenRow> out;
    for (const auto& r : store.ingest_tokens()) {
        TokenRow t;
        t.id = r.at(0).value_or("");
        t.host = r.at(1).value_or("");
        t.created_ms = std::stoull(r.at(2).value_or("0"));
        if (r.at(3)) t.revoked_ms = std::stoull(*r.at(3));
        out.push_back(std::move(t));
    }
    return out;
}

uint64_t revoke_tokens(Store& store, const std::string& id_or_host, uint64_t now_ms) {
    return store.revoke_ingest_tokens(id_or_host, now_ms);
}

std::optional<std::string> token_host(Store& store, const std::string& sha256) {
    return store.ingest_token_host(sha256);
}

IngestGate::IngestGate(IngestAuthSettings settings, bool tls) : s_(std::move(settings)), tls_(tls) {}

std::optional<IngestIdentity> IngestGate::identify(
    const ssl_st* ssl, std::string_view authorization,
    const std::function<std::optional<std::string>(const std::string& sha256)>& lookup, std::string& error) const {
    if (auto name = certificate_identity(ssl); !name.empty()) {
        return IngestIdentity{false, name, "certificate"};
    }
    if (!trim(authorization).empty()) {
        auto token = token_of_header(authorization);
        if (token.empty()) {
            error = "Authorization: expected \"Bearer TOKEN\" or Basic with the token as the password";
            return std::nullopt;
        }
        auto host = lookup(secret_hash(token));
        if (!host) {
            error = "unknown or revoked ingest token";
            return std::nullopt;
        }
        return IngestIdentity{false, *host, "token"};
    }
    if (!tls_ && s_.plain_http) {
        return IngestIdentity{true, "", "none"};
    }
    error = "ingest needs a host identity: a client certificate or an ingest token (tlog-server token issue HOST)";
    return std::nullopt;
}

bool IngestGate::may_submit(const IngestIdentity& who, const std::string& host) const {
    if (who.anonymous) return true;
    // Host names compare as DNS names do: without regard to case.
    if (strcasecmp(who.name.c_str(), host.c_str()) == 0) return true;
    auto it = s_.relays.find(who.name);
    if (it == s_.relays.end()) return false;
    return std::any_of(it->second.begin(), it->second.end(),
                       [&](const std::string& glob) { return fnmatch(glob.c_str(), host.c_str(), FNM_CASEFOLD) == 0; });
}

void IngestGate::restrict(const IngestIdentity& who, CheckedBody& c, const char* route,
                          const std::string& remote) const {
    refuse_foreign(*this, who, c.messages, c.items, c.failed, route, remote);
}

void IngestGate::restrict(const IngestIdentity& who, CheckedAudit& c, const char* route,
                          const std::string& remote) const {
    refuse_foreign(*this, who, c.events, c.items, c.failed, route, remote);
}

std::string IngestGate::start_notice() const {
    if (tls_ || !s_.plain_http) return {};
    auto o = json::Value::make_object();
    o.set("time_ms", json::Value::make_uint(wall_ms()));
    o.set("event", json::Value::make_string("plain_http"));
    o.set("warning", json::Value::make_string("plain HTTP on loopback (plain_http): ingest without a host identity "
                                              "is accepted; a token, if sent, is still enforced"));
    return json::dump(o) + "\n";
}

}  // namespace tlog::server
