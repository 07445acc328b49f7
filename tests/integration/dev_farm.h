// Test helper: a dev farm started the way a user starts one (scripts/dev-farm),
// plus gRPC channels with each user's certificate and with bad ones.
#pragma once

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace cifs::testing {

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

// Runs argv (no shell) with extra environment entries, capturing output.
CommandResult RunCommand(const std::vector<std::string>& argv, const std::vector<std::string>& env = {});

class DevFarm {
 public:
  // A fresh farm in a new temporary directory; started unless start=false
  // (for tests that prepare the directory first).
  explicit DevFarm(bool start = true);
  ~DevFarm();

  const std::string& dir() const { return dir_; }
  std::string target() const { return "localhost:" + std::to_string(grpc_port_); }
  int http_port() const { return http_port_; }
  int pid() const;
  std::string config(const std::string& user) const { return dir_ + "/users/" + user + "/config.toml"; }

  std::shared_ptr<grpc::Channel> Channel(const std::string& user) const;
  std::shared_ptr<grpc::Channel> ChannelWithoutClientCert() const;
  std::shared_ptr<grpc::Channel> ChannelFromOtherCa() const;

  bool Start();
  bool Stop();
  void Kill9();

  static std::string SourceDir() { return CIFS_SOURCE_DIR; }
  static std::string BinaryDir() { return CIFS_BINARY_DIR; }
  static std::string Cifs() { return BinaryDir() + "/client/cifs"; }

 private:
  std::string dir_;
  int grpc_port_ = 0;
  int http_port_ = 0;
};

// A test suite sharing one farm across its tests.
class SharedFarmTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { farm_ = std::make_unique<DevFarm>(); }
  static void TearDownTestSuite() { farm_.reset(); }
  static inline std::unique_ptr<DevFarm> farm_;
};

// BatchUpdateBlobs of one blob under `claimed` (hash, size); returns the call's
// status and the blob's own status code in *blob_code.
grpc::Status BatchUpload(const std::shared_ptr<grpc::Channel>& ch, const std::string& hash, int64_t size,
                         const std::string& data, int* blob_code = nullptr);
// One ByteStream.Write call carrying `data` from offset 0 under resource
// `name`, in 1 MiB messages.
grpc::Status WriteOnce(const std::shared_ptr<grpc::Channel>& ch, const std::string& name, const std::string& data,
                       bool finish = true);

// Deterministic incompressible bytes for test blobs.
std::string TestBlob(int seed, size_t size);

std::string ReadText(const std::string& path);
// Resident memory of a process in bytes (VmRSS).
int64_t ResidentBytes(int pid);

}  // namespace cifs::testing
