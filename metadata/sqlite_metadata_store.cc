#include "metadata/sqlite_metadata_store.h"

#include "metadata/log_chunks.h"

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
CREATE TABLE IF NOT EXISTS repos (
  name TEXT PRIMARY KEY,
  record BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS workspaces (
  name TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  repo TEXT NOT NULL,
  record BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS workspaces_by_owner ON workspaces(owner, name);
CREATE TABLE IF NOT EXISTS pull_requests (
  number INTEGER PRIMARY KEY AUTOINCREMENT,
  author TEXT NOT NULL,
  repo TEXT NOT NULL,
  target TEXT NOT NULL,
  state TEXT NOT NULL,
  record BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS web_sessions (
  token_hash TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  user TEXT NOT NULL,
  role TEXT NOT NULL,
  identity_issued_ms INTEGER NOT NULL,
  created_ms INTEGER NOT NULL,
  expires_ms INTEGER NOT NULL,
  csrf TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS revocations (
  name TEXT PRIMARY KEY,
  revoked_before_ms INTEGER NOT NULL,
  by TEXT NOT NULL
);
)sql";

}  // namespace

Result<std::unique_ptr<SqliteMetadataStore>> SqliteMetadataStore::Open(const std::string& path) {
  auto store = std::make_unique<SqliteMetadataStore>(Passkey());
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
  changes_.Bump();
  return Status::Ok();
}

Result<std::optional<v1::Build>> SqliteMetadataStore::GetBuild(const std::string& id) {
  return GetRecord<v1::Build>("SELECT record FROM builds WHERE id = ?", id);
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
    AppendLogChunk(&out, offset, max_bytes, st.ColInt(0), st.ColBlob(1));
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
  revocation_changes_.Bump();
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

namespace {
constexpr const char* kSessionColumns =
    "token_hash, kind, user, role, identity_issued_ms, created_ms, expires_ms, csrf";

WebSession SessionFrom(Stmt& st) {
  return {st.ColText(0), st.ColText(1), st.ColText(2), st.ColText(3),
          st.ColInt(4),  st.ColInt(5),  st.ColInt(6),  st.ColText(7)};
}
}  // namespace

Status SqliteMetadataStore::PutWebSession(const WebSession& s) {
  std::lock_guard lock(mu_);
  Stmt st(db_, (std::string("INSERT OR REPLACE INTO web_sessions(") + kSessionColumns + ") VALUES(?,?,?,?,?,?,?,?)").c_str());
  if (!st.ok()) return SqlError(db_, "prepare web session");
  st.Text(1, s.token_hash);
  st.Text(2, s.kind);
  st.Text(3, s.user);
  st.Text(4, s.role);
  st.Int(5, s.identity_issued_ms);
  st.Int(6, s.created_ms);
  st.Int(7, s.expires_ms);
  st.Text(8, s.csrf);
  if (st.Step() != SQLITE_DONE) return SqlError(db_, "store web session");
  return Status::Ok();
}

Result<std::optional<WebSession>> SqliteMetadataStore::GetWebSession(const std::string& token_hash) {
  std::lock_guard lock(mu_);
  Stmt st(db_, (std::string("SELECT ") + kSessionColumns + " FROM web_sessions WHERE token_hash=?").c_str());
  if (!st.ok()) return SqlError(db_, "prepare get web session");
  st.Text(1, token_hash);
  int rc = st.Step();
  if (rc == SQLITE_DONE) return std::optional<WebSession>();
  if (rc != SQLITE_ROW) return SqlError(db_, "get web session");
  return std::optional<WebSession>(SessionFrom(st));
}

Result<std::optional<WebSession>> SqliteMetadataStore::TakeWebSession(const std::string& token_hash) {
  std::lock_guard lock(mu_);
  Stmt st(db_, (std::string("DELETE FROM web_sessions WHERE token_hash=? RETURNING ") + kSessionColumns).c_str());
  if (!st.ok()) return SqlError(db_, "prepare take web session");
  st.Text(1, token_hash);
  int rc = st.Step();
  if (rc == SQLITE_DONE) return std::optional<WebSession>();
  if (rc != SQLITE_ROW) return SqlError(db_, "take web session");
  WebSession s = SessionFrom(st);
  while (st.Step() == SQLITE_ROW) {
  }
  return std::optional<WebSession>(std::move(s));
}

Status SqliteMetadataStore::DeleteExpiredWebSessions(int64_t now_ms) {
  std::lock_guard lock(mu_);
  Stmt st(db_, "DELETE FROM web_sessions WHERE expires_ms <= ?");
  if (!st.ok()) return SqlError(db_, "prepare expire web sessions");
  st.Int(1, now_ms);
  if (st.Step() != SQLITE_DONE) return SqlError(db_, "expire web sessions");
  return Status::Ok();
}

template <typename Message>
Result<std::optional<Message>> SqliteMetadataStore::GetRecord(const char* sql, const std::string& key) {
  std::lock_guard lock(mu_);
  Stmt st(db_, sql);
  if (!st.ok()) return SqlError(db_, "prepare get");
  st.Text(1, key);
  int rc = st.Step();
  if (rc == SQLITE_DONE) return std::optional<Message>();
  if (rc != SQLITE_ROW) return SqlError(db_, "get");
  Message m;
  if (!m.ParseFromString(st.ColBlob(0))) return Status::DataLoss("record " + key + " is corrupt");
  return std::optional<Message>(std::move(m));
}

template <typename Message>
Result<std::vector<Message>> SqliteMetadataStore::ListRecords(const char* sql, const std::string& key) {
  std::lock_guard lock(mu_);
  Stmt st(db_, sql);
  if (!st.ok()) return SqlError(db_, "prepare list");
  if (!key.empty()) st.Text(1, key);
  std::vector<Message> out;
  int rc;
  while ((rc = st.Step()) == SQLITE_ROW) {
    Message m;
    if (m.ParseFromString(st.ColBlob(0))) out.push_back(std::move(m));
  }
  if (rc != SQLITE_DONE) return SqlError(db_, "list");
  return out;
}

Status SqliteMetadataStore::InsertRepo(const v1::Repo& repo) {
  std::lock_guard lock(mu_);
  Stmt st(db_, "INSERT INTO repos(name, record) VALUES(?,?)");
  if (!st.ok()) return SqlError(db_, "prepare insert repo");
  st.Text(1, repo.name());
  st.Blob(2, repo.SerializeAsString());
  int rc = st.Step();
  if (rc == SQLITE_CONSTRAINT) return Status::AlreadyExists("a repository named '" + repo.name() + "' exists");
  if (rc != SQLITE_DONE) return SqlError(db_, "insert repo");
  return Status::Ok();
}

Result<std::optional<v1::Repo>> SqliteMetadataStore::GetRepo(const std::string& name) {
  return GetRecord<v1::Repo>("SELECT record FROM repos WHERE name = ?", name);
}

Result<std::vector<v1::Repo>> SqliteMetadataStore::ListRepos() {
  return ListRecords<v1::Repo>("SELECT record FROM repos ORDER BY name", "");
}

Status SqliteMetadataStore::InsertWorkspace(const v1::Workspace& ws) {
  std::lock_guard lock(mu_);
  Stmt st(db_, "INSERT INTO workspaces(name, owner, repo, record) VALUES(?,?,?,?)");
  if (!st.ok()) return SqlError(db_, "prepare insert workspace");
  st.Text(1, ws.name());
  st.Text(2, ws.owner());
  st.Text(3, ws.repo());
  st.Blob(4, ws.SerializeAsString());
  int rc = st.Step();
  if (rc == SQLITE_CONSTRAINT) return Status::AlreadyExists("a workspace named '" + ws.name() + "' exists");
  if (rc != SQLITE_DONE) return SqlError(db_, "insert workspace");
  changes_.Bump();
  return Status::Ok();
}

Result<std::optional<v1::Workspace>> SqliteMetadataStore::GetWorkspace(const std::string& name) {
  return GetRecord<v1::Workspace>("SELECT record FROM workspaces WHERE name = ?", name);
}

Result<std::vector<v1::Workspace>> SqliteMetadataStore::ListWorkspaces(const std::string& owner) {
  if (owner.empty()) return ListRecords<v1::Workspace>("SELECT record FROM workspaces ORDER BY name", "");
  return ListRecords<v1::Workspace>("SELECT record FROM workspaces WHERE owner = ? ORDER BY name", owner);
}

Status SqliteMetadataStore::DeleteWorkspace(const std::string& name) {
  std::lock_guard lock(mu_);
  Stmt st(db_, "DELETE FROM workspaces WHERE name = ?");
  if (!st.ok()) return SqlError(db_, "prepare delete workspace");
  st.Text(1, name);
  if (st.Step() != SQLITE_DONE) return SqlError(db_, "delete workspace");
  if (sqlite3_changes(db_) == 0) return Status::NotFound("no workspace '" + name + "'");
  changes_.Bump();
  return Status::Ok();
}

}  // namespace cifs

namespace cifs {

Status SqliteMetadataStore::InsertPullRequest(v1::PullRequest* pr) {
  std::lock_guard lock(mu_);
  // The number is the row id; the record that holds it is written once it is known.
  Stmt st(db_, "INSERT INTO pull_requests(author, repo, target, state, record) VALUES(?,?,?,?,x'')");
  if (!st.ok()) return SqlError(db_, "prepare insert pull request");
  st.Text(1, pr->author());
  st.Text(2, pr->repo());
  st.Text(3, pr->target_branch());
  st.Text(4, pr->state());
  if (st.Step() != SQLITE_DONE) return SqlError(db_, "insert pull request");
  pr->set_number(sqlite3_last_insert_rowid(db_));
  Stmt up(db_, "UPDATE pull_requests SET record = ? WHERE number = ?");
  if (!up.ok()) return SqlError(db_, "prepare insert pull request");
  up.Blob(1, pr->SerializeAsString());
  up.Int(2, pr->number());
  if (up.Step() != SQLITE_DONE) return SqlError(db_, "insert pull request");
  changes_.Bump();
  return Status::Ok();
}

Status SqliteMetadataStore::UpdatePullRequest(v1::PullRequest* pr) {
  std::lock_guard lock(mu_);
  // One process owns the file: the version is checked in the record itself,
  // under the same lock as the write.
  Stmt get(db_, "SELECT record FROM pull_requests WHERE number = ?");
  if (!get.ok()) return SqlError(db_, "prepare update pull request");
  get.Int(1, pr->number());
  int rc = get.Step();
  if (rc == SQLITE_DONE) return Status::NotFound("no pull request #" + std::to_string(pr->number()));
  if (rc != SQLITE_ROW) return SqlError(db_, "update pull request");
  v1::PullRequest stored;
  if (!stored.ParseFromString(get.ColBlob(0))) {
    return Status::DataLoss("pull request #" + std::to_string(pr->number()) + " is corrupt");
  }
  if (stored.version() != pr->version()) {
    return Status::Aborted("pull request #" + std::to_string(pr->number()) + " changed meanwhile");
  }
  v1::PullRequest next = *pr;
  next.set_version(pr->version() + 1);
  Stmt st(db_, "UPDATE pull_requests SET author = ?, repo = ?, target = ?, state = ?, record = ? WHERE number = ?");
  if (!st.ok()) return SqlError(db_, "prepare update pull request");
  st.Text(1, next.author());
  st.Text(2, next.repo());
  st.Text(3, next.target_branch());
  st.Text(4, next.state());
  st.Blob(5, next.SerializeAsString());
  st.Int(6, next.number());
  if (st.Step() != SQLITE_DONE) return SqlError(db_, "update pull request");
  pr->set_version(next.version());
  changes_.Bump();
  return Status::Ok();
}

Result<std::optional<v1::PullRequest>> SqliteMetadataStore::GetPullRequest(int64_t number) {
  return GetRecord<v1::PullRequest>("SELECT record FROM pull_requests WHERE number = CAST(? AS INTEGER)",
                                    std::to_string(number));
}

Result<std::vector<v1::PullRequest>> SqliteMetadataStore::ListPullRequests(const v1::ListPullRequestsRequest& f) {
  std::lock_guard lock(mu_);
  Stmt st(db_,
          "SELECT record FROM pull_requests WHERE (?1 = '' OR state = ?1) AND (?2 = '' OR author = ?2) "
          "AND (?3 = '' OR target = ?3) AND (?4 = '' OR repo = ?4) "
          "AND (?5 = 0 OR state NOT IN ('merged', 'closed')) AND (?6 = 0 OR number < ?6) "
          "ORDER BY number DESC LIMIT ?7");
  if (!st.ok()) return SqlError(db_, "prepare list pull requests");
  st.Text(1, f.state());
  st.Text(2, f.author());
  st.Text(3, f.target_branch());
  st.Text(4, f.repo());
  st.Int(5, f.in_review() ? 1 : 0);
  st.Int(6, f.before());
  st.Int(7, f.limit() > 0 ? f.limit() : -1);  // SQLite: a negative LIMIT is none
  std::vector<v1::PullRequest> out;
  int rc;
  while ((rc = st.Step()) == SQLITE_ROW) {
    v1::PullRequest pr;
    if (!pr.ParseFromString(st.ColBlob(0))) continue;
    if (!f.workspace().empty() && pr.workspace() != f.workspace()) continue;
    out.push_back(std::move(pr));
  }
  if (rc != SQLITE_DONE) return SqlError(db_, "list pull requests");
  return out;
}

}  // namespace cifs
