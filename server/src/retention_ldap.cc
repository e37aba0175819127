// Retention classes from the directory, merged with the file's
// (retention_ldap.h).
#include "tlog/server/retention_ldap.h"

#include "tlog/policy/ldap_retention.h"

namespace tlog::server {

RetentionInForce merge_directory_retention(const RetentionSettings& file, const policy::LdapRetention& directory) {
    RetentionInForce out;
    out.settings = file;
    out.server = directory.server;
    out.notes = directory.skipped;
    for (const auto& d : directory.classes) {
        const std::string source = "ldap:///" + d.dn;
        if (out.settings.classes.count(d.name) != 0) {
            out.notes.push_back(source + ": class " + d.name +
                                (file.classes.count(d.name) != 0
                                     ? " is also in the configuration file's \"retention\": the file's is used"
                                     : " is defined twice in the directory: the first by DN is used"));
            continue;
        }
        RetentionClass c;
        c.name = d.name;
        c.days = d.days;
        c.hold = d.hold;
        c.source = source;
        out.settings.classes.emplace(d.name, std::move(c));
    }
    for (const auto& r : directory.rules) {
        const std::string source = "ldap:///" + r.dn;
        if (file.rules.count(r.rule) != 0) {
            out.notes.push_back(source + ": rule " + r.rule +
                                " is also in the configuration file's \"retention_rules\": the file's class is used");
            continue;
        }
        if (auto [it, added] = out.settings.rules.emplace(r.rule, r.class_name); !added) {
            // Two directory rules with one cn (in different subtrees): the
            // start event names the rule by cn alone.
            if (it->second != r.class_name)
                out.notes.push_back(source + ": rule " + r.rule + " is named twice in the directory; class " +
                                    it->second + " (the first by DN) is used");
            continue;
        }
        if (out.settings.classes.count(r.class_name) == 0) {
            out.notes.push_back(source + ": rule " + r.rule + " names class " + r.class_name +
                                ", configured nowhere: its recordings are kept");
        }
    }
    return out;
}

RetentionInForce retention_in_force(const RetentionSettings& file) {
    if (file.ldap.empty()) {
        RetentionInForce out;
        out.settings = file;
        return out;
    }
    const auto config = policy::load_ldap_config(file.ldap);
    return merge_directory_retention(file, policy::fetch_ldap_retention(config));
}

}  // namespace tlog::server
