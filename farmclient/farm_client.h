// A mutual-TLS connection to the farm, from the user's client config.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "common/client_config.h"
#include "common/status.h"

namespace cifs {

class FarmClient {
  struct Passkey {
    explicit Passkey() = default;
  };

 public:
  explicit FarmClient(Passkey) {}
  // `args` tunes the channel (keepalive, reconnect backoff); may be null.
  static Result<std::unique_ptr<FarmClient>> Connect(const ClientConfig& config,
                                                     grpc::ChannelArguments* args = nullptr);
  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  const ClientConfig& config() const { return config_; }

 private:
  ClientConfig config_;
  std::shared_ptr<grpc::Channel> channel_;
};

// Loads the config (CIFS_CONFIG or the default path) and connects.
Result<std::unique_ptr<FarmClient>> ConnectFromDefaultConfig();

// One clear sentence for a failed call.
std::string DescribeRpcError(const grpc::Status& s, const std::string& farm);
// The same, telling a farm that answered UNAVAILABLE (a dependency of it is
// down: an upstream git server, a workspace's node) from one that did not
// answer at all, by the trailer every farm answer carries.
std::string DescribeRpcError(const grpc::Status& s, const std::string& farm, const grpc::ClientContext& ctx);

// Trailing metadata the farm adds to every answer it gives.
inline constexpr const char* kFarmAnsweredTrailer = "x-cifs-farm-answered";

}  // namespace cifs
