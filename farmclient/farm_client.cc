#include "farmclient/farm_client.h"

#include "common/files.h"

namespace cifs {

Result<std::unique_ptr<FarmClient>> FarmClient::Connect(const ClientConfig& config, grpc::ChannelArguments* extra) {
  auto ca = ReadFile(config.ca);
  if (!ca.ok()) return ca.status();
  auto cert = ReadFile(config.cert);
  if (!cert.ok()) return cert.status();
  auto key = ReadFile(config.key);
  if (!key.ok()) return key.status();
  grpc::SslCredentialsOptions tls;
  tls.pem_root_certs = *ca;
  tls.pem_cert_chain = *cert;
  tls.pem_private_key = *key;
  grpc::ChannelArguments args = extra ? *extra : grpc::ChannelArguments();
  args.SetMaxReceiveMessageSize(8 << 20);
  auto client = std::make_unique<FarmClient>(Passkey());
  client->config_ = config;
  client->channel_ = grpc::CreateCustomChannel(config.farm, grpc::SslCredentials(tls), args);
  return client;
}

Result<std::unique_ptr<FarmClient>> ConnectFromDefaultConfig() {
  auto config = LoadClientConfig(DefaultClientConfigPath());
  if (!config.ok()) return config.status();
  return FarmClient::Connect(*config);
}

std::string DescribeRpcError(const grpc::Status& s, const std::string& farm) {
  switch (s.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
      return "the farm at " + farm + " does not answer (" + s.error_message() + ")";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "the farm at " + farm + " did not answer in time";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "the farm refused your certificate: " + s.error_message();
    default:
      return s.error_message();
  }
}

std::string DescribeRpcError(const grpc::Status& s, const std::string& farm, const grpc::ClientContext& ctx) {
  if (s.error_code() == grpc::StatusCode::UNAVAILABLE && ctx.GetServerTrailingMetadata().count(kFarmAnsweredTrailer) > 0) {
    return s.error_message();
  }
  return DescribeRpcError(s, farm);
}

}  // namespace cifs
