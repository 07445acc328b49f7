// REST over the farm's own gRPC services: a JSON request becomes the method's
// protobuf message (protobuf's JSON mapping) and goes through an in-process
// channel to the very service code gRPC clients reach, with the caller's
// identity attached, so authentication, role checks and validation are the
// same code. Methods are found by reflection: a new RPC is on REST at once.
#pragma once

#include <google/protobuf/descriptor.h>
#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "farmserver/auth.h"
#include "identity/identity.h"

namespace cifs {

struct RpcMethod {
  std::string service;  // short name: PullRequests
  std::string name;     // Approve
  std::string path;     // /cifs.v1.PullRequests/Approve
  bool server_streaming = false;
  const google::protobuf::Descriptor* input = nullptr;
  const google::protobuf::Descriptor* output = nullptr;
};

class RpcGateway {
 public:
  // Serves the methods of `services` (full names, e.g. cifs.v1.Builds).
  RpcGateway(std::shared_ptr<grpc::Channel> in_process, const Authenticator* auth,
             const std::vector<std::string>& services);

  const RpcMethod* Find(const std::string& service, const std::string& method) const;

  // For typed calls on the caller's behalf (the live pages' event streams).
  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  void ActAs(const Identity& caller, grpc::ClientContext* ctx) const { auth_->ActAs(caller, ctx); }
  // A message as the REST API shows it (field names as in the .proto).
  static std::string ToJson(const google::protobuf::Message& msg);
  const std::vector<RpcMethod>& methods() const { return methods_; }

  // A unary call: `json` in, the response as JSON in `*json_out`. Malformed
  // JSON is INVALID_ARGUMENT, saying where.
  grpc::Status Call(const RpcMethod& m, const std::string& json, const Identity& caller, std::string* json_out) const;
  // An open server-streaming call, read one message at a time.
  class Stream {
   public:
    ~Stream();
    // The next response as JSON; false at the end (then Finish()).
    bool Next(std::string* json);
    grpc::Status Finish();
    // From another thread: ends the call (the client went away).
    void Cancel() { ctx_.TryCancel(); }

   private:
    friend class RpcGateway;
    Stream() = default;
    grpc::ClientContext ctx_;
    std::unique_ptr<google::protobuf::Message> msg_;
    std::unique_ptr<grpc::ClientReader<google::protobuf::Message>> reader_;
    grpc::Status parse_error_;
    bool finished_ = false;
  };
  // Starts a server-streaming call. A request that does not parse gives a
  // stream whose Next() is false and whose Finish() says why.
  std::unique_ptr<Stream> Open(const RpcMethod& m, const std::string& json, const Identity& caller) const;

 private:
  std::shared_ptr<grpc::Channel> channel_;
  const Authenticator* auth_;
  std::vector<RpcMethod> methods_;
};

}  // namespace cifs
