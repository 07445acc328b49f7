#include "metadata/sqlite_metadata_store.h"

namespace cifs {

namespace {

// Finalizes a statement however the function returns.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) { rc_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr); }
  ~Stmt() { sqlite3_finalize(stmt_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  bool ok() const { return rc_ == SQLITE_OK; }
  sqlite3_stmt* get() { return stmt_; }
  void Text(int i, const std::string& s) { sqlite3_bind_text(stmt_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT); }
  void Blob(int i, const std::string& s) { sqlite3_bind_blob(stmt_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT); }
  void Int(int i, int64_t v) { sqlite3_bind_int64(stmt_, i, v); }
  int Step() { return sqlite3_step(stmt_); }
  std::string ColText(int i) {
    auto* p = sqlite3_column_text(stmt_, i);
    return p ? std::string(reinterpret_cast<const char*>(p), sqlite3_column_bytes(stmt_, i)) : std::string();
  }
  std::string ColBlob(int i) {
    auto* p = sqlite3_column_blob(stmt_, i);
    return p ? std::string(static_cast<const char*>(p), sqlite3_column_bytes(stmt_, i)) : std::string();
  }
  int64_t ColInt(int i) { return sqlite3_column_int64(stmt_, i); }

 private:
  sqlite3_stmt* stmt_ = nullptr;
  int rc_;
};

Status SqlError(sqlite3* db, const std::string& what) {
  int code = sqlite3_errcode(db);
  std::string msg = what + ": " + sqlite3_errmsg(db);
  if (code == SQLITE_FULL) return Status::ResourceExhausted(msg);
  return Status::Internal(msg);
}

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS builds (
  id TEXT PRIMARY KEY,
  user TEXT NOT NULL,
  start_ms INTEGER NOT NULL,
  record BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS builds_by_user ON builds(user, start_ms);
CREATE INDEX IF NOT EXISTS builds_by_start ON builds(start_ms);
CREATE TABLE IF NOT EXISTS build_logs (
  build_id TEXT NOT NULL,
  offset INTEGER NOT NULL,
  data BLOB NOT NULL,
  PRIMARY KEY (build_id, offset)
);
CREATE TABLE IF NOT EXISTS revocations (
  name TEXT PRIMARY KEY,
  revoked_before_ms INTEGER NOT NULL,
  by TEXT NOT NULL
);
)sql";

}  // namespace

Result<std::unique_ptr<SqliteMetadataStore>> SqliteMetadataStore::Open(const std::string& path) {
  std::unique_ptr<SqliteMetadataStore> store(new SqliteMetadataStore());  // private constructor
  if (sqlite3_open_v2(path.c_str(), &store->db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    return SqlError(store->db_, "cannot open metadata database " + path);
  }
  sqlite3_busy_timeout(store->db_, 5000);
  CIFS_RETURN_IF_ERROR(store->Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"));
  CIFS_RETURN_IF_ERROR(store->Exec(kSchema));
  return store;
}

SqliteMetadataStore::~SqliteMetadataStore() { sqlite3_close_v2(db_); }

Status SqliteMetadataStore::Exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    return Status::Internal("metadata database: " + msg);
  }
  return Status::Ok();
}

Status SqliteMetadataStore::UpsertBuild(const v1::Build& build) {
  std::lock_guard lock(mu_);
  Stmt st(db_,
          "INSERT INTO builds(id, user, start_ms, record) VALUES(?,?,?,?) "
          "ON CONFLICT(id) DO UPDATE SET user=excluded.user, start_ms=excluded.start_ms, record=excluded.record");
  if (!st.ok()) return SqlError(db_, "prepare upsert build");
  st.Text(1, build.id());
  st.Text(2, build.user());
  st.Int(3, build.start_time_ms());
  st.Blob(4, build.SerializeAsString());
  if (st.Step() != SQLITE_DONE) return SqlError(db_, "upsert build");
  return Status::Ok();
}

Result<std::optional<v1::Build>> SqliteMetadataStore::GetBuild(const std::string& id) {
  std::lock_guard lock(mu_);
  Stmt st(db_, "SELECT record FROM builds WHERE id = ?");
  if (!st.ok()) return SqlError(db_, "prepare get build");
  st.Text(1, id);
  int rc = st.Step();
  if (rc == SQLITE_DONE) return std::optional<v1::Build>();
  if (rc != SQLITE_ROW) return SqlError(db_, "get build");
  v1::Build b;
  if (!b.ParseFromString(st.ColBlob(0))) return Status::DataLoss("build record " + id + " is corrupt");
  return std::optional<v1::Build>(std::move(b));
}

Result<std::vector<v1::Build>> SqliteMetadataStore::ListBuilds(const std::string& user, int limit) {
  std::lock_guard lock(mu_);
  Stmt st(db_, user.empty() ? "SELECT record FROM builds ORDER BY start_ms DESC, id LIMIT ?"
                            : "SELECT record FROM builds WHERE user = ? ORDER BY start_ms DESC, id LIMIT ?");
  if (!st.ok()) return SqlError(db_, "prepare list builds");
  int i = 1;
  if (!user.empty()) st.Text(i++, user);
  st.Int(i, limit);
  std::vector<v1::Build> out;
  int rc;
  while ((rc = st.Step()) == SQLITE_ROW) {
    v1::Build b;
    if (b.ParseFromString(st.ColBlob(0))) out.push_back(std::move(b));
  }
  if (rc != SQLITE_DONE) return SqlError(db_, "list builds");
  return out;
}

Status SqliteMetadataStore::AppendBuildLog(const std::string& id, int64_t offset, const std::string& data) {
  std::lock_guard lock(mu_);
  Stmt st(db_, "INSERT OR REPLACE INTO build_logs(build_id, offset, data) VALUES(?,?,?)");
  if (!st.ok()) return SqlError(db_, "prepare append log");
  st.Text(1, id);
  st.Int(2, offset);
  st.Blob(3, data);
  if (st.Step() != SQLITE_DONE) return SqlError(db_, "append log");
  return Status::Ok();
}

Result<std::string> SqliteMetadataStore::ReadBuildLog(const std::string& id, int64_t offset, int64_t max_bytes) {
  std::lock_guard lock(mu_);
  // The chunk that contains `offset` starts at or before it: take the greatest
  // start <= offset, then everything after.
  Stmt st(db_,
          "SELECT offset, data FROM build_logs WHERE build_id = ? AND offset >= "
          "COALESCE((SELECT MAX(offset) FROM build_logs WHERE build_id = ? AND offset <= ?), 0) "
          "ORDER BY offset");
  if (!st.ok()) return SqlError(db_, "prepare read log");
  st.Text(1, id);
  st.Text(2, id);
  st.Int(3, offset);
  std::string out;
  int rc;
  while ((rc = st.Step()) == SQLITE_ROW && static_cast<int64_t>(out.size()) < max_bytes) {
    int64_t start = st.ColInt(0);
    std::string data = st.ColBlob(1);
    int64_t skip = offset > start ? offset - start : 0;
    if (skip >= static_cast<int64_t>(data.size())) continue;
    size_t take = std::min<int64_t>(static_cast<int64_t>(data.size()) - skip, max_bytes - static_cast<int64_t>(out.size()));
    out.append(data, static_cast<size_t>(skip), take);
  }
  return out;
}

Status SqliteMetadataStore::PutRevocation(const Revocation& r) {
  std::lock_guard lock(mu_);
  Stmt st(db_,
          "INSERT INTO revocations(name, revoked_before_ms, by) VALUES(?,?,?) "
          "ON CONFLICT(name) DO UPDATE SET revoked_before_ms=excluded.revoked_before_ms, by=excluded.by");
  if (!st.ok()) return SqlError(db_, "prepare revocation");
  st.Text(1, r.name);
  st.Int(2, r.revoked_before_ms);
  st.Text(3, r.by);
  if (st.Step() != SQLITE_DONE) return SqlError(db_, "store revocation");
  return Status::Ok();
}

Result<std::vector<Revocation>> SqliteMetadataStore::ListRevocations() {
  std::lock_guard lock(mu_);
  Stmt st(db_, "SELECT name, revoked_before_ms, by FROM revocations ORDER BY name");
  if (!st.ok()) return SqlError(db_, "prepare list revocations");
  std::vector<Revocation> out;
  while (st.Step() == SQLITE_ROW) out.push_back({st.ColText(0), st.ColInt(1), st.ColText(2)});
  return out;
}

}  // namespace cifs
