// Ingest of JSON lines and of Elasticsearch _bulk bodies: each message is
// validated by librec, stored once per (host, rec, id), and reported per line.
#include "tlog/server/ingest.h"

#include <stdexcept>

#include "tlog/error.h"
#include "tlog/json.h"
#include "tlog/server/validate.h"

namespace tlog::server {

namespace {

struct Line {
    std::string_view text;
    uint64_t no;
};

// Splits on '\n', dropping a '\r' before it and blank lines (shippers end
// bodies with a newline; some put CRLF).
std::vector<Line> split_lines(std::string_view body) {
    std::vector<Line> out;
    uint64_t no = 0;
    while (!body.empty()) {
        ++no;
        size_t nl = body.find('\n');
        std::string_view l = body.substr(0, nl);
        body = nl == std::string_view::npos ? std::string_view() : body.substr(nl + 1);
        if (!l.empty() && l.back() == '\r') {
            l.remove_suffix(1);
        }
        if (l.find_first_not_of(" \t") != std::string_view::npos) {
            out.push_back({l, no});
        }
    }
    return out;
}

// Lines longer than the limit are refused without being parsed.
void check_length(const Line& l) {
    if (l.text.size() > max_line_bytes) {
        throw InputError({"", l.no, 0, ""}, "line of " + std::to_string(l.text.size()) +
                                                " bytes is longer than the limit of " + std::to_string(max_line_bytes));
    }
}

// Checks one message line; a refused one is reported with its number.
void check_one(Validator& v, const Line& l, CheckedBody& c) {
    LineResult item;
    item.line = l.no;
    try {
        check_length(l);
        auto meta = v.check(l.text, l.no);
        item.id = meta.host + "/" + meta.rec + "/" + std::to_string(meta.id);
        c.messages.push_back({c.items.size(), std::move(meta), l.text});
    } catch (const InputError& e) {
        item.status = 400;
        item.error = e.what();
        ++c.failed;
    }
    c.items.push_back(std::move(item));
}

void fail_line(CheckedBody& c, uint64_t no, std::string what) {
    LineResult item;
    item.line = no;
    item.status = 400;
    item.error = "line " + std::to_string(no) + ": " + std::move(what);
    ++c.failed;
    c.items.push_back(std::move(item));
}

}  // namespace

CheckedBody check_json_lines(std::string_view body) {
    auto lines = split_lines(body);
    CheckedBody c;
    c.items.reserve(lines.size());
    c.messages.reserve(lines.size());
    Validator v;
    for (const auto& l : lines) {
        check_one(v, l, c);
    }
    return c;
}

CheckedBody check_bulk(std::string_view body) {
    auto lines = split_lines(body);
    CheckedBody c;
    c.items.reserve(lines.size() / 2 + 1);
    c.messages.reserve(lines.size() / 2 + 1);
    Validator v;
    for (size_t i = 0; i < lines.size(); ++i) {
        const auto& action_line = lines[i];
        std::string action;
        try {
            if (action_line.text.size() > max_line_bytes) {
                throw InputError({"", action_line.no, 0, ""}, "action line longer than the limit");
            }
            auto a = json::parse(action_line.text, "");
            if (!a.is_object() || a.members().size() != 1) {
                fail_line(c, action_line.no, "expected an action object such as {\"index\":{}}");
                continue;
            }
            action = a.members()[0].first;
        } catch (const InputError& e) {
            fail_line(c, action_line.no, "action line: " + e.message());
            continue;
        }
        if (action == "delete") {
            // No source line follows a delete; stored recordings are
            // evidence and are not deleted through ingest.
            fail_line(c, action_line.no, "action \"delete\" is not supported");
            continue;
        }
        if (i + 1 >= lines.size()) {
            fail_line(c, action_line.no, "action \"" + action + "\" without a source line");
            continue;
        }
        const auto& source = lines[++i];
        if (action != "index" && action != "create") {
            fail_line(c, source.no, "action \"" + action + "\" is not supported (only index and create)");
            continue;
        }
        check_one(v, source, c);
    }
    return c;
}

namespace {

// One request's checked lines stored in one transaction; `add` stores one
// and says whether it was new. The items are copied: a transient storage
// failure runs it again.
template <class Entries, class Add>
IngestReport store_in_one_transaction(Store& store, const std::vector<LineResult>& items, uint64_t failed,
                                      const Entries& entries, Add add) {
    IngestReport r;
    r.items = items;
    r.failed = failed;
    store.begin();
    try {
        for (const auto& e : entries) {
            auto& item = r.items[e.item];
            if (add(e) == AddResult::Created) {
                item.status = 201;
                ++r.created;
            } else {
                item.status = 200;
                ++r.duplicates;
            }
        }
        store.commit();
    } catch (...) {
        store.rollback();
        throw;
    }
    return r;
}

}  // namespace

IngestReport store_checked(Store& store, const CheckedBody& checked, uint64_t received_ms) {
    return store_in_one_transaction(store, checked.items, checked.failed, checked.messages,
                                    [&](const auto& m) { return store.add(m.meta, m.json, received_ms); });
}

CheckedAudit check_audit_lines(std::string_view body) {
    auto lines = split_lines(body);
    CheckedAudit c;
    c.items.reserve(lines.size());
    c.events.reserve(lines.size());
    for (const auto& l : lines) {
        LineResult item;
        item.line = l.no;
        try {
            check_length(l);
            auto meta = check_audit_event(l.text, l.no);
            item.id = meta.host + "/" + std::to_string(meta.serial) + "/" + std::to_string(meta.time_ms);
            c.events.push_back({c.items.size(), std::move(meta), l.text});
        } catch (const InputError& e) {
            item.status = 400;
            item.error = e.what();
            ++c.failed;
        }
        c.items.push_back(std::move(item));
    }
    return c;
}

IngestReport store_checked_audit(Store& store, const CheckedAudit& checked) {
    return store_in_one_transaction(store, checked.items, checked.failed, checked.events,
                                    [&](const auto& e) { return store.add_audit(e.meta, e.json); });
}

IngestReport ingest_audit_lines(Store& store, std::string_view body) {
    return store_checked_audit(store, check_audit_lines(body));
}

IngestReport ingest_json_lines(Store& store, std::string_view body, uint64_t received_ms) {
    return store_checked(store, check_json_lines(body), received_ms);
}

IngestReport ingest_bulk(Store& store, std::string_view body, std::string_view /*index*/, uint64_t received_ms) {
    return store_checked(store, check_bulk(body), received_ms);
}

std::string native_response(const IngestReport& r) {
    auto o = json::Value::make_object();
    o.set("created", json::Value::make_uint(r.created));
    o.set("duplicates", json::Value::make_uint(r.duplicates));
    o.set("failed", json::Value::make_uint(r.failed));
    auto errors = json::Value::make_array();
    for (const auto& i : r.items) {
        if (i.status >= 400) {
            auto e = json::Value::make_object();
            e.set("line", json::Value::make_uint(i.line));
            e.set("error", json::Value::make_string(i.error));
            errors.items().push_back(std::move(e));
        }
    }
    o.set("errors", std::move(errors));
    return json::dump(o) + "\n";
}

std::string bulk_response(const IngestReport& r, std::string_view index) {
    // Written out rather than built as a json::Value: one item per message,
    // thousands a request, each a handful of fields; the strings are escaped
    // by librec's JSON as dump() would.
    std::string out = r.failed != 0 ? R"({"took":0,"errors":true,"items":[)" : R"({"took":0,"errors":false,"items":[)";
    std::string quoted_index = "\"";
    json::append_escaped(quoted_index, index);
    quoted_index += '"';
    out.reserve(out.size() + r.items.size() * (quoted_index.size() + 96));
    for (size_t i = 0; i < r.items.size(); ++i) {
        const auto& item = r.items[i];
        out += i == 0 ? R"({"index":{"_index":)" : R"(,{"index":{"_index":)";
        out += quoted_index;
        if (!item.id.empty()) {
            out += R"(,"_id":")";
            json::append_escaped(out, item.id);
            out += '"';
        }
        out += R"(,"status":)";
        out += std::to_string(item.status);
        if (item.status >= 400) {
            out += R"(,"error":{"type":"mapper_parsing_exception","reason":")";
            json::append_escaped(out, item.error);
            out += R"("}}})";
        } else {
            out += item.status == 201 ? R"(,"result":"created"}})" : R"(,"result":"noop"}})";
        }
    }
    out += "]}\n";
    return out;
}

}  // namespace tlog::server
