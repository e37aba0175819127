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

void store_one(Store& store, const Line& l, uint64_t received_ms, IngestReport& r) {
    LineResult item;
    item.line = l.no;
    try {
        if (l.text.size() > max_line_bytes) {
            throw InputError({"", l.no, 0, ""}, "line of " + std::to_string(l.text.size()) +
                                                    " bytes is longer than the limit of " +
                                                    std::to_string(max_line_bytes));
        }
        auto meta = validate_message(l.text, "", l.no);
        item.id = meta.host + "/" + meta.rec + "/" + std::to_string(meta.id);
        if (store.add(meta, l.text, received_ms) == AddResult::Created) {
            item.status = 201;
            ++r.created;
        } else {
            item.status = 200;
            ++r.duplicates;
        }
    } catch (const InputError& e) {
        item.status = 400;
        item.error = e.what();
        ++r.failed;
    }
    r.items.push_back(std::move(item));
}

// One transaction per request: one commit instead of one per message. A
// storage failure (disk full) aborts the whole request so the sender
// retries it; what was stored is then found again as duplicates.
template <class Fn>
IngestReport in_transaction(Store& store, Fn&& fn) {
    IngestReport r;
    store.begin();
    try {
        fn(r);
        store.commit();
    } catch (...) {
        store.rollback();
        throw;
    }
    return r;
}

void fail_line(IngestReport& r, uint64_t no, std::string what) {
    LineResult item;
    item.line = no;
    item.status = 400;
    item.error = "line " + std::to_string(no) + ": " + std::move(what);
    ++r.failed;
    r.items.push_back(std::move(item));
}

}  // namespace

IngestReport ingest_json_lines(Store& store, std::string_view body, uint64_t received_ms) {
    auto lines = split_lines(body);
    return in_transaction(store, [&](IngestReport& r) {
        for (const auto& l : lines) {
            store_one(store, l, received_ms, r);
        }
    });
}

IngestReport ingest_bulk(Store& store, std::string_view body, std::string_view /*index*/, uint64_t received_ms) {
    auto lines = split_lines(body);
    return in_transaction(store, [&](IngestReport& r) {
        for (size_t i = 0; i < lines.size(); ++i) {
            const auto& action_line = lines[i];
            std::string action;
            try {
                if (action_line.text.size() > max_line_bytes) {
                    throw InputError({"", action_line.no, 0, ""}, "action line longer than the limit");
                }
                auto a = json::parse(action_line.text, "");
                if (!a.is_object() || a.members().size() != 1) {
                    fail_line(r, action_line.no, "expected an action object such as {\"index\":{}}");
                    continue;
                }
                action = a.members()[0].first;
            } catch (const InputError& e) {
                fail_line(r, action_line.no, "action line: " + e.message());
                continue;
            }
            if (action == "delete") {
                // No source line follows a delete; stored recordings are
                // evidence and are not deleted through ingest.
                fail_line(r, action_line.no, "action \"delete\" is not supported");
                continue;
            }
            if (i + 1 >= lines.size()) {
                fail_line(r, action_line.no, "action \"" + action + "\" without a source line");
                continue;
            }
            const auto& source = lines[++i];
            if (action != "index" && action != "create") {
                fail_line(r, source.no, "action \"" + action + "\" is not supported (only index and create)");
                continue;
            }
            store_one(store, source, received_ms, r);
        }
    });
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
    auto o = json::Value::make_object();
    o.set("took", json::Value::make_uint(0));
    o.set("errors", json::Value::make_bool(r.failed != 0));
    auto items = json::Value::make_array();
    for (const auto& i : r.items) {
        auto body = json::Value::make_object();
        body.set("_index", json::Value::make_string(std::string(index)));
        if (!i.id.empty()) {
            body.set("_id", json::Value::make_string(i.id));
        }
        body.set("status", json::Value::make_uint(static_cast<uint64_t>(i.status)));
        if (i.status >= 400) {
            auto err = json::Value::make_object();
            err.set("type", json::Value::make_string("mapper_parsing_exception"));
            err.set("reason", json::Value::make_string(i.error));
            body.set("error", std::move(err));
        } else {
            body.set("result", json::Value::make_string(i.status == 201 ? "created" : "noop"));
        }
        auto item = json::Value::make_object();
        item.set("index", std::move(body));
        items.items().push_back(std::move(item));
    }
    o.set("items", std::move(items));
    return json::dump(o) + "\n";
}

}  // namespace tlog::server
