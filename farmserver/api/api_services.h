// The cifs.v1 API: who am I, builds and their logs, administration.
#pragma once

#include "cifs/v1/cifs.grpc.pb.h"
#include "farmserver/auth.h"
#include "farmserver/bes/build_recorder.h"
#include "metadata/metadata_store.h"

namespace cifs {

class FarmService final : public v1::Farm::Service {
 public:
  explicit FarmService(Authenticator* auth) : auth_(auth) {}
  grpc::Status WhoAmI(grpc::ServerContext* ctx, const v1::WhoAmIRequest* req, v1::WhoAmIResponse* resp) override;

 private:
  Authenticator* auth_;
};

class BuildsService final : public v1::Builds::Service {
 public:
  BuildsService(MetadataStore* metadata, BuildRecorder* recorder, Authenticator* auth)
      : metadata_(metadata), recorder_(recorder), auth_(auth) {}
  grpc::Status ListBuilds(grpc::ServerContext* ctx, const v1::ListBuildsRequest* req,
                          v1::ListBuildsResponse* resp) override;
  grpc::Status GetBuild(grpc::ServerContext* ctx, const v1::GetBuildRequest* req, v1::Build* resp) override;
  grpc::Status GetBuildLog(grpc::ServerContext* ctx, const v1::GetBuildLogRequest* req,
                           grpc::ServerWriter<v1::LogChunk>* writer) override;

 private:
  // The build, if the caller may see it (its owner, a lead or an admin).
  Result<v1::Build> Visible(grpc::ServerContext* ctx, const std::string& id);

  MetadataStore* metadata_;
  BuildRecorder* recorder_;
  Authenticator* auth_;
};

class AdminService final : public v1::Admin::Service {
 public:
  AdminService(MetadataStore* metadata, Authenticator* auth, Logger* log)
      : metadata_(metadata), auth_(auth), log_(log) {}
  grpc::Status RevokeUser(grpc::ServerContext* ctx, const v1::RevokeUserRequest* req,
                          v1::RevokeUserResponse* resp) override;
  grpc::Status ListRevocations(grpc::ServerContext* ctx, const v1::ListRevocationsRequest* req,
                               v1::ListRevocationsResponse* resp) override;

 private:
  MetadataStore* metadata_;
  Authenticator* auth_;
  Logger* log_;
};

}  // namespace cifs
