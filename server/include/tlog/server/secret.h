// The server's secrets (viewers' API tokens and signed-in sessions' ids,
// hosts' ingest tokens): made, hashed for storage and compared. The one
// place for them.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace tlog::server {

// 256 random bits from the kernel (getrandom), as 64 hex digits.
std::string new_secret();
// What is stored of a secret: its SHA-256, in hex.
std::string secret_hash(std::string_view secret);
// Equal hashes, in a time that does not depend on where they differ.
bool same_hash(std::string_view a, std::string_view b);

// What an Authorization header carries: `Bearer SECRET` (user empty) or
// `Basic` base64(USER:SECRET) (basic set), schemes without regard to case (RFC 9110);
// nullopt for another scheme or a malformed header (base64 strictly, RFC
// 4648).
struct Credentials {
    std::string user, secret;
    bool basic = false;
};
std::optional<Credentials> authorization_credentials(std::string_view header);

}  // namespace tlog::server
