#include "ldap_client.h"

#include <ldap.h>
#include <sasl/sasl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>

namespace tlog::policy::ldapc {
namespace {

timeval to_tv(double seconds) {
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(seconds);
    tv.tv_usec = static_cast<suseconds_t>(std::lround((seconds - static_cast<double>(tv.tv_sec)) * 1e6));
    return tv;
}

// Frees what libldap allocates, at every exit.
struct MsgFree {
    void operator()(LDAPMessage* m) const { ldap_msgfree(m); }
};
using Msg = std::unique_ptr<LDAPMessage, MsgFree>;
struct ControlsFree {
    void operator()(LDAPControl** c) const { ldap_controls_free(c); }
};
using Controls = std::unique_ptr<LDAPControl*, ControlsFree>;
struct ControlFree {
    void operator()(LDAPControl* c) const { ldap_control_free(c); }
};
using Control = std::unique_ptr<LDAPControl, ControlFree>;

struct SaslDefaults {
    const char* authzid;
};

// SASL EXTERNAL and GSSAPI need no secret here: the certificate, the peer
// credentials or the Kerberos ticket prove who we are. The only thing SASL
// may ask is the authorization id.
int sasl_interact(LDAP* /*ld*/, unsigned /*flags*/, void* defaults, void* in) {
    const auto* d = static_cast<const SaslDefaults*>(defaults);
    for (auto* i = static_cast<sasl_interact_t*>(in); i->id != SASL_CB_LIST_END; ++i) {
        const char* v = (i->id == SASL_CB_USER && d->authzid) ? d->authzid : "";
        i->result = v;
        i->len = static_cast<unsigned>(std::strlen(v));
    }
    return LDAP_SUCCESS;
}

std::string read_password(const std::string& path) {
    struct stat st {};
    if (stat(path.c_str(), &st) != 0) throw LdapError(path + ": " + std::strerror(errno));
    // A bind password readable by every user would let any of them read the rules as this host.
    if (st.st_mode & S_IROTH)
        throw LdapError(path + ": readable by others (mode " + std::to_string(st.st_mode & 0777) +
                        "); refusing to use it, make it mode 0600 or 0640");
    std::ifstream f(path);
    std::string line;
    if (!f || !std::getline(f, line)) throw LdapError(path + ": cannot read the bind password");
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return line;
}

// Waits for the whole result of `msgid`, at most `timeout` seconds (the
// operation is abandoned then). LDAP_SUCCESS, or the error to report.
int await_result(LDAP* ld, int msgid, double timeout, Msg& res) {
    timeval tv = to_tv(timeout);
    LDAPMessage* raw = nullptr;
    const int t = ldap_result(ld, msgid, LDAP_MSG_ALL, &tv, &raw);
    res.reset(raw);
    if (t == 0) {
        ldap_abandon_ext(ld, msgid, nullptr, nullptr);
        return LDAP_TIMEOUT;
    }
    if (t < 0) {
        int err = LDAP_OTHER;
        ldap_get_option(ld, LDAP_OPT_RESULT_CODE, &err);
        return err;
    }
    return LDAP_SUCCESS;
}

// The server's result code of a finished operation, its diagnostic text, and
// (when `ctrls` is given) its response controls.
int result_code(LDAP* ld, LDAPMessage* res, std::string& detail, LDAPControl*** ctrls) {
    int err = LDAP_OTHER;
    char* text = nullptr;
    if (ldap_parse_result(ld, res, &err, nullptr, &text, nullptr, ctrls, 0) != LDAP_SUCCESS) err = LDAP_OTHER;
    detail = text ? text : "";
    if (text) ldap_memfree(text);
    return err;
}

std::string describe(const std::string& uri, const std::string& what, int err, const std::string& detail) {
    return uri + ": " + what + ": " + ldap_err2string(err) + (detail.empty() ? "" : " (" + detail + ")");
}

}  // namespace

const std::vector<std::string>* Entry::get(const std::string& lower_name) const {
    auto it = attrs.find(lower_name);
    return it == attrs.end() ? nullptr : &it->second;
}

std::string Entry::first(const std::string& lower_name) const {
    const auto* v = get(lower_name);
    return v && !v->empty() ? v->front() : std::string();
}

std::string normalize_dn(const std::string& dn) {
    std::string out;
    out.reserve(dn.size());
    for (size_t i = 0; i < dn.size(); ++i) {
        const char c = dn[i];
        if (c == ' ' && (out.empty() || out.back() == ',' || out.back() == '=')) continue;
        if (c == ',' || c == '=')
            while (!out.empty() && out.back() == ' ') out.pop_back();
        out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    }
    return out;
}

bool dn_under(const std::string& dn, const std::string& base) {
    const std::string d = normalize_dn(dn), b = normalize_dn(base);
    if (b.empty()) return true;
    if (d.size() == b.size()) return d == b;
    return d.size() > b.size() && d.compare(d.size() - b.size(), b.size(), b) == 0 && d[d.size() - b.size() - 1] == ',';
}

std::string rdn_value(const std::string& dn, std::string* attr) {
    const size_t eq = dn.find('=');
    if (eq == std::string::npos) return "";
    size_t end = eq + 1;
    std::string value;
    for (; end < dn.size() && dn[end] != ',' && dn[end] != '+'; ++end) {
        if (dn[end] == '\\' && end + 1 < dn.size()) ++end;  // an escaped character belongs to the value
        value.push_back(dn[end]);
    }
    if (attr) {
        *attr = dn.substr(0, eq);
        std::transform(attr->begin(), attr->end(), attr->begin(), [](unsigned char c) { return std::tolower(c); });
        while (!attr->empty() && attr->back() == ' ') attr->pop_back();
    }
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    return value;
}

std::string filter_escape(const std::string& value) {
    static const char hex[] = "0123456789abcdef";
    std::string out;
    for (unsigned char c : value) {
        if (c == '*' || c == '(' || c == ')' || c == '\\' || c == 0) {
            out += '\\';
            out += hex[c >> 4];
            out += hex[c & 15];
        } else {
            out += static_cast<char>(c);
        }
    }
    return out;
}

Connection::Connection(const LdapConfig& c, const std::string& uri)
    : uri_(uri), timeout_(c.timeout), page_size_(c.page_size) {
    int rc = ldap_initialize(&ld_, uri.c_str());
    if (rc != LDAP_SUCCESS) {
        ld_ = nullptr;
        throw LdapError(uri + ": " + ldap_err2string(rc));
    }
    const int version = LDAP_VERSION3;
    ldap_set_option(ld_, LDAP_OPT_PROTOCOL_VERSION, &version);
    ldap_set_option(ld_, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
    // The GSSAPI service principal is built from the URI's host name as
    // written, never from a reverse DNS lookup an attacker could answer.
    ldap_set_option(ld_, LDAP_OPT_X_SASL_NOCANON, LDAP_OPT_ON);
    // Connect (and the TLS handshake) and every synchronous call are bounded;
    // asynchronous results are waited for with the same bound (finish()).
    const timeval tv = to_tv(timeout_);
    ldap_set_option(ld_, LDAP_OPT_NETWORK_TIMEOUT, &tv);
    ldap_set_option(ld_, LDAP_OPT_TIMEOUT, &tv);
    const int keepalive_idle = 1;
    ldap_set_option(ld_, LDAP_OPT_X_KEEPALIVE_IDLE, &keepalive_idle);

    const bool ldaps = uri.rfind("ldaps://", 0) == 0, ldapi = uri.rfind("ldapi://", 0) == 0;
    if (ldaps || c.starttls || !c.cert_file.empty()) {
        // Certificates are always verified: a rule source an attacker can
        // impersonate decides who is not recorded.
        const int demand = LDAP_OPT_X_TLS_DEMAND;
        ldap_set_option(ld_, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand);
        if (!c.ca_file.empty()) ldap_set_option(ld_, LDAP_OPT_X_TLS_CACERTFILE, c.ca_file.c_str());
        if (!c.cert_file.empty()) ldap_set_option(ld_, LDAP_OPT_X_TLS_CERTFILE, c.cert_file.c_str());
        if (!c.key_file.empty()) ldap_set_option(ld_, LDAP_OPT_X_TLS_KEYFILE, c.key_file.c_str());
        const int min_tls = LDAP_OPT_X_TLS_PROTOCOL_TLS1_2;
        ldap_set_option(ld_, LDAP_OPT_X_TLS_PROTOCOL_MIN, &min_tls);
        const int is_server = 0;
        ldap_set_option(ld_, LDAP_OPT_X_TLS_NEWCTX, &is_server);
        // libldap reports a refused certificate as a bare connect error.
        tls_hint_ = "; TLS: the handshake failed or the server's certificate did not verify against " +
                    (c.ca_file.empty() ? std::string("the system CA certificates") : c.ca_file) + " for this host name";
    }
    if (c.starttls && !ldaps && !ldapi) {
        rc = ldap_start_tls_s(ld_, nullptr, nullptr);
        if (rc != LDAP_SUCCESS) throw_error("StartTLS", rc);
    }
    bind(c);
}

Connection::~Connection() {
    if (ld_) ldap_unbind_ext_s(ld_, nullptr, nullptr);
}

void Connection::throw_error(const std::string& what, int rc) const {
    std::string msg = uri_ + ": " + what + ": " + ldap_err2string(rc);
    char* diag = nullptr;
    if (ld_ && ldap_get_option(ld_, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag) == LDAP_OPT_SUCCESS && diag) {
        if (*diag) msg += " (" + std::string(diag) + ")";
        ldap_memfree(diag);
    }
    if (rc == LDAP_CONNECT_ERROR || rc == LDAP_SERVER_DOWN) msg += tls_hint_;
    throw LdapError(msg);
}

void Connection::bind(const LdapConfig& c) {
    int rc = LDAP_SUCCESS;
    switch (c.bind) {
        case BindMethod::None: return;  // anonymous: the directory's ACIs decide
        case BindMethod::Simple: {
            std::string pw = read_password(c.password_file);
            berval cred{static_cast<ber_len_t>(pw.size()), pw.data()};
            int msgid = 0;
            rc = ldap_sasl_bind(ld_, c.bind_dn.c_str(), LDAP_SASL_SIMPLE, &cred, nullptr, nullptr, &msgid);
            std::fill(pw.begin(), pw.end(), '\0');
            if (rc != LDAP_SUCCESS) throw_error("bind as " + c.bind_dn, rc);
            finish(msgid, "bind as " + c.bind_dn);
            return;
        }
        case BindMethod::External:
        case BindMethod::Gssapi: {
            const char* mech = c.bind == BindMethod::External ? "EXTERNAL" : "GSSAPI";
            if (c.bind == BindMethod::Gssapi && c.use_keytab) {
                // As FreeIPA clients do: the host's keytab is the client
                // credential, the ticket lives only in this process.
                setenv("KRB5_CLIENT_KTNAME", c.keytab.c_str(), 1);
                setenv("KRB5CCNAME", "MEMORY:tlog-policy", 1);
            }
            SaslDefaults d{c.sasl_authzid.empty() ? nullptr : c.sasl_authzid.c_str()};
            rc = ldap_sasl_interactive_bind_s(ld_, nullptr, mech, nullptr, nullptr, LDAP_SASL_QUIET, sasl_interact, &d);
            if (rc != LDAP_SUCCESS) throw_error(std::string("SASL ") + mech + " bind", rc);
            return;
        }
    }
}

void Connection::finish(int msgid, const std::string& what) {
    Msg res;
    if (const int rc = await_result(ld_, msgid, timeout_, res); rc != LDAP_SUCCESS) throw_error(what, rc);
    std::string detail;
    if (const int err = result_code(ld_, res.get(), detail, nullptr); err != LDAP_SUCCESS)
        throw LdapError(describe(uri_, what, err, detail));
}

std::vector<Entry> Connection::search(const std::string& base, Scope scope, const std::string& filter,
                                      const std::vector<std::string>& attrs) {
    std::vector<char*> attr_ptrs;
    for (const auto& a : attrs) attr_ptrs.push_back(const_cast<char*>(a.c_str()));
    attr_ptrs.push_back(nullptr);
    const int sc = scope == Scope::Base  ? LDAP_SCOPE_BASE
                   : scope == Scope::One ? LDAP_SCOPE_ONELEVEL
                                         : LDAP_SCOPE_SUBTREE;
    std::vector<Entry> out;
    berval cookie{0, nullptr};
    const std::string what = "search " + base + " " + filter;
    for (;;) {
        LDAPControl* page_raw = nullptr;
        int rc = ldap_create_page_control(ld_, page_size_, cookie.bv_val ? &cookie : nullptr, 0, &page_raw);
        if (cookie.bv_val) ber_memfree(cookie.bv_val);
        cookie = berval{0, nullptr};
        if (rc != LDAP_SUCCESS) throw_error(what, rc);
        Control page(page_raw);
        LDAPControl* server_ctrls[] = {page.get(), nullptr};
        timeval tv = to_tv(timeout_);
        int msgid = 0;
        rc = ldap_search_ext(ld_, base.c_str(), sc, filter.c_str(), attr_ptrs.data(), 0, server_ctrls, nullptr, &tv,
                             LDAP_NO_LIMIT, &msgid);
        if (rc != LDAP_SUCCESS) throw_error(what, rc);
        Msg res;
        if (rc = await_result(ld_, msgid, timeout_, res); rc != LDAP_SUCCESS) throw_error(what, rc);
        for (LDAPMessage* e = ldap_first_entry(ld_, res.get()); e; e = ldap_next_entry(ld_, e)) {
            Entry entry;
            if (char* dn = ldap_get_dn(ld_, e)) {
                entry.dn = dn;
                ldap_memfree(dn);
            }
            BerElement* ber = nullptr;
            for (char* a = ldap_first_attribute(ld_, e, &ber); a; a = ldap_next_attribute(ld_, e, ber)) {
                std::string name = a;
                std::transform(name.begin(), name.end(), name.begin(),
                               [](unsigned char ch) { return std::tolower(ch); });
                auto& vals = entry.attrs[name];
                if (berval** bv = ldap_get_values_len(ld_, e, a)) {
                    for (berval** v = bv; *v; ++v) vals.emplace_back((*v)->bv_val, (*v)->bv_len);
                    ldap_value_free_len(bv);
                }
                ldap_memfree(a);
            }
            if (ber) ber_free(ber, 0);
            out.push_back(std::move(entry));
        }
        LDAPControl** ctrls_raw = nullptr;
        std::string detail;
        const int err = result_code(ld_, res.get(), detail, &ctrls_raw);
        Controls ctrls(ctrls_raw);
        if (err == LDAP_NO_SUCH_OBJECT) return out;
        if (err != LDAP_SUCCESS) throw LdapError(describe(uri_, what, err, detail));
        LDAPControl* resp = ctrls ? ldap_control_find(LDAP_CONTROL_PAGEDRESULTS, ctrls.get(), nullptr) : nullptr;
        if (!resp) return out;  // the server does not page: it sent everything
        ber_int_t estimate = 0;
        if (ldap_parse_pageresponse_control(ld_, resp, &estimate, &cookie) != LDAP_SUCCESS)
            throw_error(what, LDAP_OTHER);
        if (!cookie.bv_val || cookie.bv_len == 0) {
            if (cookie.bv_val) ber_memfree(cookie.bv_val);
            return out;
        }
    }
}

namespace {
// LDAPMod arrays for add and modify, owning nothing: they point into `mods`.
struct ModArray {
    std::vector<LDAPMod> mods;
    std::vector<std::vector<berval>> vals;
    std::vector<std::vector<berval*>> ptrs;
    std::vector<LDAPMod*> list;
    explicit ModArray(const std::vector<Mod>& in) {
        mods.resize(in.size());
        vals.resize(in.size());
        ptrs.resize(in.size());
        for (size_t i = 0; i < in.size(); ++i) {
            for (const auto& v : in[i].values)
                vals[i].push_back(berval{static_cast<ber_len_t>(v.size()), const_cast<char*>(v.data())});
            for (auto& b : vals[i]) ptrs[i].push_back(&b);
            ptrs[i].push_back(nullptr);
            const int op = in[i].op == Mod::Add      ? LDAP_MOD_ADD
                           : in[i].op == Mod::Delete ? LDAP_MOD_DELETE
                                                     : LDAP_MOD_REPLACE;
            mods[i].mod_op = op | LDAP_MOD_BVALUES;
            mods[i].mod_type = const_cast<char*>(in[i].attr.c_str());
            mods[i].mod_bvalues = (in[i].op == Mod::Delete && in[i].values.empty()) ? nullptr : ptrs[i].data();
            list.push_back(&mods[i]);
        }
        list.push_back(nullptr);
    }
};
}  // namespace

void Connection::add(const std::string& dn, const std::vector<Mod>& attrs) {
    ModArray m(attrs);
    int msgid = 0;
    const int rc = ldap_add_ext(ld_, dn.c_str(), m.list.data(), nullptr, nullptr, &msgid);
    if (rc != LDAP_SUCCESS) throw_error("add " + dn, rc);
    finish(msgid, "add " + dn);
}

void Connection::modify(const std::string& dn, const std::vector<Mod>& mods) {
    ModArray m(mods);
    int msgid = 0;
    const int rc = ldap_modify_ext(ld_, dn.c_str(), m.list.data(), nullptr, nullptr, &msgid);
    if (rc != LDAP_SUCCESS) throw_error("modify " + dn, rc);
    finish(msgid, "modify " + dn);
}

void Connection::remove(const std::string& dn) {
    int msgid = 0;
    const int rc = ldap_delete_ext(ld_, dn.c_str(), nullptr, nullptr, &msgid);
    if (rc != LDAP_SUCCESS) throw_error("delete " + dn, rc);
    finish(msgid, "delete " + dn);
}

void require_visible(Connection& conn, const std::string& base, const std::string& what) {
    if (conn.search(base, Scope::Base, "(objectClass=*)", {"1.1"}).empty())
        throw LdapError(conn.uri() + ": the " + what + " " + base +
                        " is not visible to this bind (missing, or hidden by the directory's access rules)");
}

}  // namespace tlog::policy::ldapc
