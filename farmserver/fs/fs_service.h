// The farm side of mounted workspaces (cifs.v1.WorkspaceFs). Only the owner
// of a workspace, or an admin, may attach to it, read it or change it.
#pragma once

#include <grpcpp/grpcpp.h>

#include <functional>

#include "cifs/v1/fs.grpc.pb.h"
#include "farmserver/auth.h"
#include "farmserver/fs/file_hasher.h"
#include "farmserver/fs/workspace_registry.h"
#include "store/content_store.h"

namespace cifs {

class WorkspaceFsService final : public v1::WorkspaceFs::Service {
 public:
  // `hasher` outlives the service (the farm keeps its hashes over restarts).
  WorkspaceFsService(WorkspaceRegistry* registry, ContentStore* store, Authenticator* auth, FileHasher* hasher)
      : registry_(registry), store_(store), auth_(auth), hasher_(*hasher) {}

  grpc::Status Attach(grpc::ServerContext* ctx, const v1::AttachRequest* req, v1::AttachResponse* resp) override;
  grpc::Status Lookup(grpc::ServerContext* ctx, const v1::PathRequest* req, v1::EntryResponse* resp) override;
  grpc::Status ReadDir(grpc::ServerContext* ctx, const v1::ReadDirRequest* req, v1::ReadDirResponse* resp) override;
  grpc::Status Fetch(grpc::ServerContext* ctx, const v1::FetchRequest* req, v1::FetchResponse* resp) override;
  grpc::Status ReadFile(grpc::ServerContext* ctx, const v1::ReadFileRequest* req,
                        grpc::ServerWriter<v1::ReadFileChunk>* writer) override;
  grpc::Status ListTree(grpc::ServerContext* ctx, const v1::ListTreeRequest* req,
                        grpc::ServerWriter<v1::ListTreeChunk>* writer) override;
  grpc::Status Create(grpc::ServerContext* ctx, const v1::CreateRequest* req, v1::EntryResponse* resp) override;
  grpc::Status Mkdir(grpc::ServerContext* ctx, const v1::CreateRequest* req, v1::EntryResponse* resp) override;
  grpc::Status Symlink(grpc::ServerContext* ctx, const v1::SymlinkRequest* req, v1::EntryResponse* resp) override;
  grpc::Status Unlink(grpc::ServerContext* ctx, const v1::PathRequest* req, v1::ChangeResponse* resp) override;
  grpc::Status Rmdir(grpc::ServerContext* ctx, const v1::PathRequest* req, v1::ChangeResponse* resp) override;
  grpc::Status Rename(grpc::ServerContext* ctx, const v1::RenameRequest* req, v1::ChangeResponse* resp) override;
  grpc::Status Write(grpc::ServerContext* ctx, const v1::WriteRequest* req, v1::EntryResponse* resp) override;
  grpc::Status SetAttr(grpc::ServerContext* ctx, const v1::SetAttrRequest* req, v1::EntryResponse* resp) override;
  grpc::Status Fsync(grpc::ServerContext* ctx, const v1::PathRequest* req, v1::ChangeResponse* resp) override;
  grpc::Status Watch(grpc::ServerContext* ctx, const v1::WatchRequest* req,
                     grpc::ServerWriter<v1::ChangeBatch>* writer) override;

 private:
  // The workspace, if the caller may use it, with every path checked.
  Result<std::shared_ptr<OpenWorkspace>> Authorize(const grpc::ServerContext* ctx, const std::string& workspace,
                                                   std::initializer_list<std::string_view> paths);
  // Answers a call that made `path` (err 0: with its full attributes) or
  // failed to, numbering it as a mutation either way.
  void Made(OpenWorkspace& ws, std::string_view path, int err, v1::EntryResponse* resp);
  void Changed(OpenWorkspace& ws, int err, v1::ChangeResponse* resp);
  // Lists the directory `path` into `out` (entries' attributes); a file is
  // hashed when its size is at most `hash_limit(its path)`. Returns 0 or
  // errno.
  int ListDir(const WorkspaceDir& dir, const std::string& path,
              const std::function<int64_t(const std::string&)>& hash_limit, v1::Attr* dir_attr,
              google::protobuf::RepeatedPtrField<v1::Entry>* out);
  // Reads a blob for Fetch: from the content store, else from the file.
  int ReadBlob(OpenWorkspace& ws, const v1::FetchRequest::Item& item, std::string* data);

  WorkspaceRegistry* registry_;
  ContentStore* store_;
  Authenticator* auth_;
  FileHasher& hasher_;
};

}  // namespace cifs
