// The proof that a recording configuration in the environment came from PAM
// (pam_tlog) and not from the recorded user. pam_tlog computes it with a key
// only root and the tlog group can read; tlog-rec-session (setgid tlog)
// checks it. Without a valid proof the environment's settings that could
// weaken the recording are ignored and the ignoring is logged.
//
//   TLOG_REC_SESSION_CONF_PROOF = "v1:" EXPIRES ":" HEX(HMAC-SHA256(key, M))
//   M = "tlog-conf-proof-v1\n" USER "\n" SESSION "\n" EXPIRES "\n" CONF_TEXT
//
// USER is the recorded user's name, SESSION the audit session id in decimal
// (4294967295 when unset), EXPIRES a Unix time in seconds (PAM uses now+60:
// the recorder starts right after open_session). The key file has the
// integrity key format (integrity.h load_key_file); its default path is
// TLOG_SYSCONFDIR/conf-proof.key, mode 0640 root:tlog.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "tlog/api.h"
#include "tlog/integrity.h"

namespace tlog::rec {

constexpr uint32_t kUnsetSession = 4294967295u;
// The audit session id of this process (/proc/self/sessionid), kUnsetSession
// when unknown. pam_tlog and the recorder must read it the same way: it is
// bound into the proof.
TLOG_API uint32_t audit_session_id();

TLOG_API std::string conf_proof_key_path();  // TLOG_SYSCONFDIR "/conf-proof.key"

TLOG_API std::string make_conf_proof(const integrity::Key& key, std::string_view user, uint32_t session,
                                     int64_t expires, std::string_view conf_text);

// True when `proof` is valid for these values at time `now` (Unix seconds);
// else false with the reason in `why`.
TLOG_API bool verify_conf_proof(const integrity::Key& key, std::string_view proof, std::string_view user,
                                uint32_t session, int64_t now, std::string_view conf_text, std::string& why);

}  // namespace tlog::rec
