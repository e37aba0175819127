// One connection to one LDAP server: TLS with verified certificates, the
// configured bind, and every operation bounded by the configured timeout.
// Private to libtlogpolicy-ldap.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tlog/policy/ldap_source.h"

struct ldap;

namespace tlog::policy::ldapc {

struct Entry {
    std::string dn;
    std::map<std::string, std::vector<std::string>> attrs;  // attribute names in lower case

    const std::vector<std::string>* get(const std::string& lower_name) const;
    std::string first(const std::string& lower_name) const;  // "" if absent
};

enum class Scope { Base, One, Sub };

struct Mod {
    enum Op { Add, Delete, Replace } op;
    std::string attr;
    std::vector<std::string> values;  // Delete with no values removes the attribute
};

class Connection {
public:
    // Connects to `uri`, starts TLS when configured, binds. Throws LdapError
    // naming the server and what failed.
    Connection(const LdapConfig& config, const std::string& uri);
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    // A paged search; a base that does not exist gives no entries.
    std::vector<Entry> search(const std::string& base, Scope scope, const std::string& filter,
                              const std::vector<std::string>& attrs);
    void add(const std::string& dn, const std::vector<Mod>& attrs);
    void modify(const std::string& dn, const std::vector<Mod>& mods);
    void remove(const std::string& dn);
    const std::string& uri() const { return uri_; }

private:
    void bind(const LdapConfig& config);
    // Waits for the whole result of `msgid` (at most the timeout; abandons it
    // then) and throws LdapError unless it succeeded (or, with `no_such_ok`,
    // the base did not exist).
    void finish(int msgid, const std::string& what);
    [[noreturn]] void throw_error(const std::string& what, int rc) const;

    std::string uri_;
    std::string tls_hint_;  // appended to connection errors when TLS is in use
    double timeout_;
    int page_size_;
    struct ldap* ld_ = nullptr;
};

// Runs `read` on a connection to each configured server in turn until one
// lets it finish (failover); throws LdapError naming every server's failure.
template <class Read>
auto read_first_answering(const LdapConfig& config, Read&& read) {
    std::string errors;
    for (const auto& uri : config.uris) {
        try {
            Connection conn(config, uri);
            return read(conn);
        } catch (const LdapError& e) {
            errors += std::string(errors.empty() ? "" : "; ") + e.what();
        }
    }
    throw LdapError("no LDAP server could be read: " + errors);
}

// Throws LdapError unless this bind sees `base`: "no entries" and "cannot
// see the entries" must not look alike (a bind the directory's access
// rules hide a container from would otherwise read as an empty one).
void require_visible(Connection& conn, const std::string& base, const std::string& what);

// Lower-cased DN with spaces after commas removed: enough to compare the DNs a
// directory hands back with configured bases (both come from the same server).
std::string normalize_dn(const std::string& dn);
// True if `dn` is `base` or below it.
bool dn_under(const std::string& dn, const std::string& base);
// The value of the first RDN ("alice" for "uid=alice,cn=users,..."), its attribute in lower case.
std::string rdn_value(const std::string& dn, std::string* attr = nullptr);
// Escapes a value for a search filter (RFC 4515).
std::string filter_escape(const std::string& value);

}  // namespace tlog::policy::ldapc
