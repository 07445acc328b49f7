#include "metadata/postgres_metadata_store.h"

#include <poll.h>

#include <cerrno>
#include <chrono>
#include <limits>
#include <regex>

#include "metadata/log_chunks.h"

namespace cifs {

namespace pg {

struct ResultCloser {
  void operator()(PGresult* r) const { PQclear(r); }
};
using Res = std::unique_ptr<PGresult, ResultCloser>;

// The URI as it may appear in a log or an error: without its password.
std::string Redacted(const std::string& uri) {
  static const std::regex kPassword(R"((://[^:/@]*):[^@/]*@)");
  return std::regex_replace(uri, kPassword, "$1:***@");
}

// libpq's messages end in a newline.
std::string Trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

Status ErrorOf(PGconn* conn, PGresult* res, const std::string& what) {
  std::string detail = Trimmed(res ? PQresultErrorMessage(res) : "");
  if (detail.empty()) detail = Trimmed(PQerrorMessage(conn));
  std::string msg = "metadata database (PostgreSQL): " + what + ": " + detail;
  const char* field = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  std::string code = field ? field : "";
  if (code == "23505") return Status::AlreadyExists(msg);
  if (code == "53100") return Status::ResourceExhausted(msg);
  if (code.starts_with("08") || code.starts_with("57P") || code.starts_with("53") ||
      PQstatus(conn) != CONNECTION_OK) {
    return Status::Unavailable(msg);
  }
  return Status::Internal(msg);
}

// One statement with its parameters, run on a connection of the pool.
// Integers travel as text, bytes as binary; results come back as text.
class Query {
 public:
  Query(PostgresMetadataStore* store, const char* sql, const char* what) : store_(store), sql_(sql), what_(what) {}
  Query& Text(std::string v) {
    values_.push_back(std::move(v));
    formats_.push_back(0);
    return *this;
  }
  Query& Int(int64_t v) { return Text(std::to_string(v)); }
  Query& Bytes(std::string v) {
    values_.push_back(std::move(v));
    formats_.push_back(1);
    return *this;
  }

  Result<Res> Run() {
    // A pooled connection may have died with the server (a restart): such
    // a statement never ran, so it is tried once more on a new connection.
    for (int attempt = 0;; ++attempt) {
      auto conn = store_->Acquire();
      if (!conn.ok()) return conn.status();
      std::vector<const char*> values;
      std::vector<int> lengths;
      for (const auto& v : values_) {
        values.push_back(v.data());
        lengths.push_back(static_cast<int>(v.size()));
      }
      Res res(PQexecParams(conn->get(), sql_, static_cast<int>(values.size()), nullptr, values.data(),
                           lengths.data(), formats_.data(), 0));
      ExecStatusType st = res ? PQresultStatus(res.get()) : PGRES_FATAL_ERROR;
      if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
        store_->Release(std::move(*conn));
        return res;
      }
      bool lost = PQstatus(conn->get()) != CONNECTION_OK;
      Status error = ErrorOf(conn->get(), res.get(), what_);
      store_->Release(std::move(*conn));
      if (!lost || attempt > 0) return error;
    }
  }

 private:
  PostgresMetadataStore* store_;
  const char* sql_;
  const char* what_;
  std::vector<std::string> values_;
  std::vector<int> formats_;
};

std::string TextAt(PGresult* r, int row, int col) {
  return std::string(PQgetvalue(r, row, col), PQgetlength(r, row, col));
}
int64_t IntAt(PGresult* r, int row, int col) { return std::stoll(TextAt(r, row, col)); }
std::string BytesAt(PGresult* r, int row, int col) {
  size_t n = 0;
  unsigned char* raw = PQunescapeBytea(reinterpret_cast<const unsigned char*>(PQgetvalue(r, row, col)), &n);
  if (!raw) return {};
  std::string out(reinterpret_cast<char*>(raw), n);
  PQfreemem(raw);
  return out;
}
int64_t Affected(PGresult* r) {
  const char* n = PQcmdTuples(r);
  return n && *n ? std::stoll(n) : 0;
}

}  // namespace pg

using pg::Query;

namespace {

// Triggers send the notifications, so they go out with the writing
// transaction's commit (and never for a write that rolled back).
constexpr const char* kSchema = R"sql(
BEGIN;
SELECT pg_advisory_xact_lock(7469616673);
CREATE TABLE IF NOT EXISTS builds (
  id TEXT PRIMARY KEY,
  username TEXT NOT NULL,
  start_ms BIGINT NOT NULL,
  record BYTEA NOT NULL
);
CREATE INDEX IF NOT EXISTS builds_by_user ON builds(username, start_ms);
CREATE INDEX IF NOT EXISTS builds_by_start ON builds(start_ms);
CREATE TABLE IF NOT EXISTS build_logs (
  build_id TEXT NOT NULL,
  at_offset BIGINT NOT NULL,
  data BYTEA NOT NULL,
  PRIMARY KEY (build_id, at_offset)
);
CREATE TABLE IF NOT EXISTS repos (
  name TEXT PRIMARY KEY,
  record BYTEA NOT NULL
);
CREATE TABLE IF NOT EXISTS workspaces (
  name TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  repo TEXT NOT NULL,
  record BYTEA NOT NULL
);
CREATE INDEX IF NOT EXISTS workspaces_by_owner ON workspaces(owner, name);
-- The node holding it: read by whoever writes the proxy's routing map.
ALTER TABLE workspaces ADD COLUMN IF NOT EXISTS node TEXT NOT NULL DEFAULT '';
CREATE TABLE IF NOT EXISTS pull_requests (
  number BIGSERIAL PRIMARY KEY,
  author TEXT NOT NULL,
  repo TEXT NOT NULL,
  target TEXT NOT NULL,
  state TEXT NOT NULL,
  record BYTEA NOT NULL
);
-- Who validates and lands it: a column (not only in the record) so that a
-- takeover is one atomic UPDATE no record write can undo.
ALTER TABLE pull_requests ADD COLUMN IF NOT EXISTS node TEXT NOT NULL DEFAULT '';
-- The record's version (also inside it): an update names the one it read.
ALTER TABLE pull_requests ADD COLUMN IF NOT EXISTS version BIGINT NOT NULL DEFAULT 0;
CREATE TABLE IF NOT EXISTS nodes (
  name TEXT PRIMARY KEY,
  alive_until_ms BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS web_sessions (
  token_hash TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  username TEXT NOT NULL,
  role TEXT NOT NULL,
  identity_issued_ms BIGINT NOT NULL,
  created_ms BIGINT NOT NULL,
  expires_ms BIGINT NOT NULL,
  csrf TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS revocations (
  name TEXT PRIMARY KEY,
  revoked_before_ms BIGINT NOT NULL,
  by_user TEXT NOT NULL
);
CREATE OR REPLACE FUNCTION cifs_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify(TG_ARGV[0], '');
  RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER builds_changed AFTER INSERT OR UPDATE OR DELETE ON builds
  FOR EACH STATEMENT EXECUTE FUNCTION cifs_notify('cifs_changes');
CREATE OR REPLACE TRIGGER workspaces_changed AFTER INSERT OR UPDATE OR DELETE ON workspaces
  FOR EACH STATEMENT EXECUTE FUNCTION cifs_notify('cifs_changes');
CREATE OR REPLACE TRIGGER pull_requests_changed AFTER INSERT OR UPDATE OR DELETE ON pull_requests
  FOR EACH STATEMENT EXECUTE FUNCTION cifs_notify('cifs_changes');
CREATE OR REPLACE TRIGGER revocations_changed AFTER INSERT OR UPDATE OR DELETE ON revocations
  FOR EACH STATEMENT EXECUTE FUNCTION cifs_notify('cifs_revocations');
COMMIT;
)sql";

}  // namespace

Result<std::unique_ptr<PostgresMetadataStore>> PostgresMetadataStore::Open(const std::string& uri) {
  auto store = std::make_unique<PostgresMetadataStore>(Passkey(), uri);
  auto conn = store->Connect();
  if (!conn.ok()) return conn.status();
  pg::Res res(PQexec(conn->get(), kSchema));
  if (PQresultStatus(res.get()) != PGRES_COMMAND_OK) return pg::ErrorOf(conn->get(), res.get(), "create schema");
  {
    std::lock_guard lock(store->mu_);
    store->open_ = 1;
  }
  store->Release(std::move(*conn));
  store->listener_ = std::thread([s = store.get()] { s->Listen(); });
  return store;
}

PostgresMetadataStore::~PostgresMetadataStore() {
  stopping_ = true;
  if (listener_.joinable()) listener_.join();
}

Result<pg::Conn> PostgresMetadataStore::Connect() {
  // The URI's own settings win over these defaults (they come later).
  // Schema NOTICEs ("already exists, skipping") would go to stderr.
  const char* keys[] = {"connect_timeout", "application_name", "options", "dbname", nullptr};
  const char* values[] = {"5", "cifs-farmserver", "-c client_min_messages=warning", uri_.c_str(), nullptr};
  pg::Conn conn(PQconnectdbParams(keys, values, /*expand_dbname=*/1));
  if (!conn) return Status::ResourceExhausted("out of memory connecting to PostgreSQL");
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    return Status::Unavailable("cannot connect to the metadata database " + pg::Redacted(uri_) + ": " +
                               pg::Trimmed(PQerrorMessage(conn.get())));
  }
  return conn;
}

Result<pg::Conn> PostgresMetadataStore::Acquire() {
  {
    std::unique_lock lock(mu_);
    released_.wait(lock, [&] { return !idle_.empty() || open_ < kMaxConnections; });
    if (!idle_.empty()) {
      pg::Conn conn = std::move(idle_.back());
      idle_.pop_back();
      return conn;
    }
    ++open_;
  }
  auto conn = Connect();
  if (!conn.ok()) {
    std::lock_guard lock(mu_);
    --open_;
    released_.notify_one();
  }
  return conn;
}

void PostgresMetadataStore::Release(pg::Conn conn) {
  // A broken connection is closed (outside the lock); the next caller opens
  // a new one.
  bool healthy = PQstatus(conn.get()) == CONNECTION_OK && PQtransactionStatus(conn.get()) == PQTRANS_IDLE;
  {
    std::lock_guard lock(mu_);
    if (healthy) {
      idle_.push_back(std::move(conn));
    } else {
      --open_;
    }
  }
  released_.notify_one();
}

void PostgresMetadataStore::Listen() {
  while (!stopping_) {
    auto conn = Connect();
    if (conn.ok()) {
      pg::Res res(PQexec(conn->get(), "LISTEN cifs_changes; LISTEN cifs_revocations"));
      if (PQresultStatus(res.get()) == PGRES_COMMAND_OK) {
        // Notifications reach connected listeners only: whatever changed
        // while this node was not listening is re-read now.
        changes_.Bump();
        revocation_changes_.Bump();
        pollfd fd{PQsocket(conn->get()), POLLIN, 0};
        while (!stopping_) {
          int n = ::poll(&fd, 1, 200);
          if (n < 0 && errno != EINTR) break;
          if (n <= 0) continue;
          if (!PQconsumeInput(conn->get())) break;
          while (PGnotify* note = PQnotifies(conn->get())) {
            bool revocation = std::string(note->relname) == "cifs_revocations";
            PQfreemem(note);
            (revocation ? revocation_changes_ : changes_).Bump();
          }
        }
      }
    }
    for (int i = 0; i < 5 && !stopping_; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

template <typename Message>
Result<std::optional<Message>> PostgresMetadataStore::GetRecord(const char* sql, const std::string& key) {
  auto res = Query(this, sql, "get").Text(key).Run();
  if (!res.ok()) return res.status();
  if (PQntuples(res->get()) == 0) return std::optional<Message>();
  Message m;
  if (!m.ParseFromString(pg::BytesAt(res->get(), 0, 0))) return Status::DataLoss("record " + key + " is corrupt");
  return std::optional<Message>(std::move(m));
}

template <typename Message>
Result<std::vector<Message>> PostgresMetadataStore::ListRecords(const char* sql, std::vector<std::string> params) {
  Query q(this, sql, "list");
  for (auto& p : params) q.Text(std::move(p));
  auto res = q.Run();
  if (!res.ok()) return res.status();
  std::vector<Message> out;
  for (int i = 0; i < PQntuples(res->get()); ++i) {
    Message m;
    if (m.ParseFromString(pg::BytesAt(res->get(), i, 0))) out.push_back(std::move(m));
  }
  return out;
}

Status PostgresMetadataStore::UpsertBuild(const v1::Build& build) {
  return Query(this,
               "INSERT INTO builds(id, username, start_ms, record) VALUES($1, $2, $3, $4) "
               "ON CONFLICT(id) DO UPDATE SET username = excluded.username, start_ms = excluded.start_ms, "
               "record = excluded.record",
               "upsert build")
      .Text(build.id())
      .Text(build.user())
      .Int(build.start_time_ms())
      .Bytes(build.SerializeAsString())
      .Run()
      .status();
}

Result<std::optional<v1::Build>> PostgresMetadataStore::GetBuild(const std::string& id) {
  return GetRecord<v1::Build>("SELECT record FROM builds WHERE id = $1", id);
}

Result<std::vector<v1::Build>> PostgresMetadataStore::ListBuilds(const std::string& user, int limit) {
  if (user.empty()) {
    return ListRecords<v1::Build>("SELECT record FROM builds ORDER BY start_ms DESC, id LIMIT $1::bigint",
                                  {std::to_string(limit)});
  }
  return ListRecords<v1::Build>(
      "SELECT record FROM builds WHERE username = $1 ORDER BY start_ms DESC, id LIMIT $2::bigint",
      {user, std::to_string(limit)});
}

Status PostgresMetadataStore::AppendBuildLog(const std::string& id, int64_t offset, const std::string& data) {
  return Query(this,
               "INSERT INTO build_logs(build_id, at_offset, data) VALUES($1, $2, $3) "
               "ON CONFLICT(build_id, at_offset) DO UPDATE SET data = excluded.data",
               "append log")
      .Text(id)
      .Int(offset)
      .Bytes(data)
      .Run()
      .status();
}

Result<std::string> PostgresMetadataStore::ReadBuildLog(const std::string& id, int64_t offset, int64_t max_bytes) {
  // The chunk that contains `offset` starts at or before it.
  auto res = Query(this,
                   "SELECT at_offset, data FROM build_logs WHERE build_id = $1 AND at_offset >= "
                   "COALESCE((SELECT MAX(at_offset) FROM build_logs WHERE build_id = $1 AND at_offset <= $2), 0) "
                   "ORDER BY at_offset",
                   "read log")
                 .Text(id)
                 .Int(offset)
                 .Run();
  if (!res.ok()) return res.status();
  std::string out;
  for (int i = 0; i < PQntuples(res->get()) && static_cast<int64_t>(out.size()) < max_bytes; ++i) {
    AppendLogChunk(&out, offset, max_bytes, pg::IntAt(res->get(), i, 0), pg::BytesAt(res->get(), i, 1));
  }
  return out;
}

Status PostgresMetadataStore::PutRevocation(const Revocation& r) {
  return Query(this,
               "INSERT INTO revocations(name, revoked_before_ms, by_user) VALUES($1, $2, $3) "
               "ON CONFLICT(name) DO UPDATE SET revoked_before_ms = excluded.revoked_before_ms, "
               "by_user = excluded.by_user",
               "store revocation")
      .Text(r.name)
      .Int(r.revoked_before_ms)
      .Text(r.by)
      .Run()
      .status();
}

Result<std::vector<Revocation>> PostgresMetadataStore::ListRevocations() {
  auto res = Query(this, "SELECT name, revoked_before_ms, by_user FROM revocations ORDER BY name", "list revocations")
                 .Run();
  if (!res.ok()) return res.status();
  std::vector<Revocation> out;
  for (int i = 0; i < PQntuples(res->get()); ++i) {
    out.push_back({pg::TextAt(res->get(), i, 0), pg::IntAt(res->get(), i, 1), pg::TextAt(res->get(), i, 2)});
  }
  return out;
}

namespace {
constexpr const char* kSessionColumns =
    "token_hash, kind, username, role, identity_issued_ms, created_ms, expires_ms, csrf";

Result<std::optional<WebSession>> SessionFrom(Result<pg::Res> res) {
  if (!res.ok()) return res.status();
  PGresult* r = res->get();
  if (PQntuples(r) == 0) return std::optional<WebSession>();
  return std::optional<WebSession>(WebSession{pg::TextAt(r, 0, 0), pg::TextAt(r, 0, 1), pg::TextAt(r, 0, 2),
                                              pg::TextAt(r, 0, 3), pg::IntAt(r, 0, 4), pg::IntAt(r, 0, 5),
                                              pg::IntAt(r, 0, 6), pg::TextAt(r, 0, 7)});
}
}  // namespace

Status PostgresMetadataStore::PutWebSession(const WebSession& s) {
  static const std::string sql = std::string("INSERT INTO web_sessions(") + kSessionColumns +
                                 ") VALUES($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT(token_hash) DO UPDATE SET "
                                 "kind = excluded.kind, username = excluded.username, role = excluded.role, "
                                 "identity_issued_ms = excluded.identity_issued_ms, created_ms = excluded.created_ms, "
                                 "expires_ms = excluded.expires_ms, csrf = excluded.csrf";
  return Query(this, sql.c_str(), "store web session")
      .Text(s.token_hash)
      .Text(s.kind)
      .Text(s.user)
      .Text(s.role)
      .Int(s.identity_issued_ms)
      .Int(s.created_ms)
      .Int(s.expires_ms)
      .Text(s.csrf)
      .Run()
      .status();
}

Result<std::optional<WebSession>> PostgresMetadataStore::GetWebSession(const std::string& token_hash) {
  static const std::string sql = std::string("SELECT ") + kSessionColumns + " FROM web_sessions WHERE token_hash = $1";
  return SessionFrom(Query(this, sql.c_str(), "get web session").Text(token_hash).Run());
}

Result<std::optional<WebSession>> PostgresMetadataStore::TakeWebSession(const std::string& token_hash) {
  static const std::string sql =
      std::string("DELETE FROM web_sessions WHERE token_hash = $1 RETURNING ") + kSessionColumns;
  return SessionFrom(Query(this, sql.c_str(), "take web session").Text(token_hash).Run());
}

Status PostgresMetadataStore::DeleteExpiredWebSessions(int64_t now_ms) {
  return Query(this, "DELETE FROM web_sessions WHERE expires_ms <= $1", "expire web sessions")
      .Int(now_ms)
      .Run()
      .status();
}

Status PostgresMetadataStore::InsertRepo(const v1::Repo& repo) {
  auto res = Query(this, "INSERT INTO repos(name, record) VALUES($1, $2)", "insert repo")
                 .Text(repo.name())
                 .Bytes(repo.SerializeAsString())
                 .Run();
  if (res.status().code() == Status::Code::kAlreadyExists) {
    return Status::AlreadyExists("a repository named '" + repo.name() + "' exists");
  }
  return res.status();
}

Result<std::optional<v1::Repo>> PostgresMetadataStore::GetRepo(const std::string& name) {
  return GetRecord<v1::Repo>("SELECT record FROM repos WHERE name = $1", name);
}

Result<std::vector<v1::Repo>> PostgresMetadataStore::ListRepos() {
  return ListRecords<v1::Repo>("SELECT record FROM repos ORDER BY name", {});
}

Status PostgresMetadataStore::InsertWorkspace(const v1::Workspace& ws) {
  auto res = Query(this, "INSERT INTO workspaces(name, owner, repo, node, record) VALUES($1, $2, $3, $4, $5)",
                   "insert workspace")
                 .Text(ws.name())
                 .Text(ws.owner())
                 .Text(ws.repo())
                 .Text(ws.node())
                 .Bytes(ws.SerializeAsString())
                 .Run();
  if (res.status().code() == Status::Code::kAlreadyExists) {
    return Status::AlreadyExists("a workspace named '" + ws.name() + "' exists");
  }
  return res.status();
}

Result<std::optional<v1::Workspace>> PostgresMetadataStore::GetWorkspace(const std::string& name) {
  return GetRecord<v1::Workspace>("SELECT record FROM workspaces WHERE name = $1", name);
}

Result<std::vector<v1::Workspace>> PostgresMetadataStore::ListWorkspaces(const std::string& owner) {
  if (owner.empty()) return ListRecords<v1::Workspace>("SELECT record FROM workspaces ORDER BY name", {});
  return ListRecords<v1::Workspace>("SELECT record FROM workspaces WHERE owner = $1 ORDER BY name", {owner});
}

Status PostgresMetadataStore::DeleteWorkspace(const std::string& name) {
  auto res = Query(this, "DELETE FROM workspaces WHERE name = $1", "delete workspace").Text(name).Run();
  if (!res.ok()) return res.status();
  if (pg::Affected(res->get()) == 0) return Status::NotFound("no workspace '" + name + "'");
  return Status::Ok();
}

Status PostgresMetadataStore::InsertPullRequest(v1::PullRequest* pr) {
  // The number comes first, so the record is written whole in one insert.
  auto next = Query(this, "SELECT nextval(pg_get_serial_sequence('pull_requests', 'number'))", "number pull request")
                  .Run();
  if (!next.ok()) return next.status();
  pr->set_number(pg::IntAt(next->get(), 0, 0));
  return Query(this,
               "INSERT INTO pull_requests(number, author, repo, target, state, node, record) "
               "VALUES($1, $2, $3, $4, $5, $6, $7)",
               "insert pull request")
      .Int(pr->number())
      .Text(pr->author())
      .Text(pr->repo())
      .Text(pr->target_branch())
      .Text(pr->state())
      .Text(pr->node())
      .Bytes(pr->SerializeAsString())
      .Run()
      .status();
}

Status PostgresMetadataStore::UpdatePullRequest(v1::PullRequest* pr) {
  v1::PullRequest next = *pr;
  next.set_version(pr->version() + 1);
  // Compare-and-set in one statement: of two nodes that read the same
  // version, the second matches no row once the first has committed.
  auto res = Query(this,
                   "UPDATE pull_requests SET author = $1, repo = $2, target = $3, state = $4, record = $5, "
                   "version = $7 WHERE number = $6 AND version = $7 - 1",
                   "update pull request")
                 .Text(next.author())
                 .Text(next.repo())
                 .Text(next.target_branch())
                 .Text(next.state())
                 .Bytes(next.SerializeAsString())
                 .Int(next.number())
                 .Int(next.version())
                 .Run();
  if (!res.ok()) return res.status();
  if (pg::Affected(res->get()) == 0) {
    auto exists = Query(this, "SELECT 1 FROM pull_requests WHERE number = $1::bigint", "update pull request")
                      .Int(next.number())
                      .Run();
    if (!exists.ok()) return exists.status();
    if (PQntuples(exists->get()) == 0) return Status::NotFound("no pull request #" + std::to_string(next.number()));
    return Status::Aborted("pull request #" + std::to_string(next.number()) + " changed meanwhile");
  }
  pr->set_version(next.version());
  return Status::Ok();
}

namespace {
// The record, with its owner from the column (a takeover changes only that).
std::optional<v1::PullRequest> PullRequestAt(PGresult* r, int row) {
  v1::PullRequest pr;
  if (!pr.ParseFromString(pg::BytesAt(r, row, 0))) return std::nullopt;
  std::string node = pg::TextAt(r, row, 1);
  if (!node.empty()) pr.set_node(node);
  return pr;
}
}  // namespace

Result<std::optional<v1::PullRequest>> PostgresMetadataStore::GetPullRequest(int64_t number) {
  auto res = Query(this, "SELECT record, node FROM pull_requests WHERE number = $1::bigint", "get pull request")
                 .Int(number)
                 .Run();
  if (!res.ok()) return res.status();
  if (PQntuples(res->get()) == 0) return std::optional<v1::PullRequest>();
  auto pr = PullRequestAt(res->get(), 0);
  if (!pr) return Status::DataLoss("pull request #" + std::to_string(number) + " is corrupt");
  return pr;
}

Status PostgresMetadataStore::Heartbeat(const std::string& node, int64_t alive_until_ms) {
  return Query(this,
               "INSERT INTO nodes(name, alive_until_ms) VALUES($1, $2) "
               "ON CONFLICT(name) DO UPDATE SET alive_until_ms = excluded.alive_until_ms",
               "heartbeat")
      .Text(node)
      .Int(alive_until_ms)
      .Run()
      .status();
}

Result<std::vector<int64_t>> PostgresMetadataStore::TakeOverPullRequests(const std::string& node, int64_t now_ms) {
  // One statement: a row another taker changed first no longer matches when
  // this one gets its lock (READ COMMITTED re-checks the WHERE).
  auto res = Query(this,
                   "UPDATE pull_requests SET node = $1 WHERE node <> $1 AND node <> '' "
                   "AND state NOT IN ('merged', 'closed') "
                   "AND node NOT IN (SELECT name FROM nodes WHERE alive_until_ms >= $2) RETURNING number",
                   "take over pull requests")
                 .Text(node)
                 .Int(now_ms)
                 .Run();
  if (!res.ok()) return res.status();
  std::vector<int64_t> out;
  for (int i = 0; i < PQntuples(res->get()); ++i) out.push_back(pg::IntAt(res->get(), i, 0));
  return out;
}

Result<std::vector<v1::PullRequest>> PostgresMetadataStore::ListPullRequests(const v1::ListPullRequestsRequest& f) {
  auto res = Query(this,
                   "SELECT record, node FROM pull_requests WHERE ($1 = '' OR state = $1) AND ($2 = '' OR author = $2) "
                   "AND ($3 = '' OR target = $3) AND ($4 = '' OR repo = $4) "
                   "AND ($5::int = 0 OR state NOT IN ('merged', 'closed')) AND ($6::bigint = 0 OR number < $6::bigint) "
                   "ORDER BY number DESC LIMIT $7::bigint",
                   "list pull requests")
                 .Text(f.state())
                 .Text(f.author())
                 .Text(f.target_branch())
                 .Text(f.repo())
                 .Int(f.in_review() ? 1 : 0)
                 .Int(f.before())
                 .Int(f.limit() > 0 ? f.limit() : std::numeric_limits<int64_t>::max())
                 .Run();
  if (!res.ok()) return res.status();
  std::vector<v1::PullRequest> out;
  for (int i = 0; i < PQntuples(res->get()); ++i) {
    auto pr = PullRequestAt(res->get(), i);
    if (!pr) continue;
    if (!f.workspace().empty() && pr->workspace() != f.workspace()) continue;
    out.push_back(std::move(*pr));
  }
  return out;
}

}  // namespace cifs
