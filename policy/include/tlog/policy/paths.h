// Default locations, and the environment overrides tests use.
#pragma once

namespace tlog::policy {

// The compiled cache nss_tlog reads. TLOG_POLICY_CACHE overrides it, read with
// secure_getenv(3): ignored in setuid/setgid (AT_SECURE) processes, so a user
// cannot point su or passwd at a cache of their own.
inline constexpr const char* kDefaultCachePath = "/var/lib/tlog/policy.cache";
inline constexpr const char* kCacheEnv = "TLOG_POLICY_CACHE";

// Where nss_tlog reads the passwd line to find the sources after it.
// TLOG_NSS_NSSWITCH overrides it, also through secure_getenv(3).
inline constexpr const char* kDefaultNsswitchPath = "/etc/nsswitch.conf";
inline constexpr const char* kNsswitchEnv = "TLOG_NSS_NSSWITCH";

}  // namespace tlog::policy
