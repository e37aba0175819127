// A fresh database for a server test: an SQLite file in a temporary
// directory, or (pg_base set from the test's argument "postgres:CONNINFO")
// a PostgreSQL database of its own, dropped at the end; and SQL run behind
// the store's back, as someone with the database only could.
#pragma once

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>

#include "cmocka_cxx.h"
#include "tlog/server/store.h"

namespace tlog_test {

inline std::string pg_base;  // NOLINT(cert-err58-cpp): set once in main

inline std::string sh_quote(const std::string& s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

inline void psql(const std::string& db, const std::string& sql) {
    std::string cmd =
        "psql -X -q -v ON_ERROR_STOP=1 " + sh_quote(pg_base + " dbname=" + db) + " -c " + sh_quote(sql) + " >/dev/null";
    if (std::system(cmd.c_str()) != 0) fail_msg("psql failed: %s", sql.c_str());
}

class TempDb {
public:
    // `name`: the test's, in the directory's and the database's names.
    explicit TempDb(const std::string& name) {
        std::string tmpl = (std::filesystem::temp_directory_path() / ("tlog-" + name + "-test.XXXXXX")).string();
        dir = mkdtemp(tmpl.data());
        if (!pg_base.empty()) {
            static int n = 0;
            pg_db = "tlog_" + name + "_" + std::to_string(getpid()) + "_" + std::to_string(++n);
            psql("postgres", "CREATE DATABASE " + pg_db);
            spec = "postgres:" + pg_base + " dbname=" + pg_db;
        } else {
            path = dir + "/db.sqlite";
            spec = path;
        }
    }
    ~TempDb() {
        if (!pg_db.empty()) psql("postgres", "DROP DATABASE " + pg_db + " WITH (FORCE)");
        std::error_code ec;  // a test directory left behind is no failure
        std::filesystem::remove_all(dir, ec);
    }
    TempDb(const TempDb&) = delete;
    TempDb& operator=(const TempDb&) = delete;

    std::unique_ptr<tlog::server::Store> open() const { return tlog::server::open_store(spec); }
    // Runs SQL behind the store's back.
    void sql(const std::string& text) const {
        if (!pg_db.empty()) {
            psql(pg_db, text);
        } else if (std::system(("sqlite3 " + sh_quote(path) + " " + sh_quote(text)).c_str()) != 0) {
            fail_msg("sqlite3 failed: %s", text.c_str());
        }
    }
    // A count read behind the store's back.
    long count(const std::string& query) const {
        std::string cmd = !pg_db.empty()
                              ? "psql -X -q -A -t " + sh_quote(pg_base + " dbname=" + pg_db) + " -c " + sh_quote(query)
                              : "sqlite3 " + sh_quote(path) + " " + sh_quote(query);
        FILE* f = popen(cmd.c_str(), "r");
        assert_non_null(f);
        char buf[64] = {};
        bool got = fgets(buf, sizeof buf, f) != nullptr;
        assert_int_equal(pclose(f), 0);
        assert_true(got);
        return std::strtol(buf, nullptr, 10);
    }

    std::string spec, dir, path, pg_db;  // path: the SQLite file ("" on PostgreSQL)
};

}  // namespace tlog_test
