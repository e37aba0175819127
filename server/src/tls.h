// The listener: cpp-httplib's SSLServer with the configured certificate,
// key, client CA and CRL (TLS 1.2 at least), or its plain Server when
// plain_http allows it. Private to server/src.
#pragma once

#include <httplib.h>

#include <memory>

#include "tlog/server/ingest_auth.h"

namespace tlog::server {

// Throws std::runtime_error naming the file and what OpenSSL said.
std::unique_ptr<httplib::Server> make_listener(const TlsSettings& tls);

}  // namespace tlog::server
