// Retention classes from the directory (retention_ldap: tlogRetentionPolicy
// entries and the recording rules' tlogRetentionClass, ldap-schema/),
// together with the configuration file's, read at the start of each
// retention run (doc/server.md, "Retention classes from LDAP").
#pragma once

#include <string>
#include <vector>

#include "tlog/server/retention.h"

namespace tlog::policy {
struct LdapRetention;
}  // namespace tlog::policy

namespace tlog::server {

struct RetentionInForce {
    RetentionSettings settings;      // the file's and the directory's together
    std::string server;              // the directory that answered; "" without retention_ldap
    std::vector<std::string> notes;  // entries skipped, names the file's definitions hide
};

// The file's settings with the directory's classes and rules' classes
// added: a class or rule the file defines too keeps the file's meaning
// (named in `notes`).
RetentionInForce merge_directory_retention(const RetentionSettings& file, const policy::LdapRetention& directory);

// `file` alone without retention_ldap; else the directory read now and
// merged. Throws tlog::InputError for a bad ldap.yaml, policy::LdapError
// when no directory server can be read: the caller then runs nothing, as a
// class the directory holds must not be purged for want of reading it.
RetentionInForce retention_in_force(const RetentionSettings& file);

}  // namespace tlog::server
