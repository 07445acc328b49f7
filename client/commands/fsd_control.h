// The CLI's side of fsd's control socket (FSD_DIR/fsd.sock).
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "cifs/v1/fs.grpc.pb.h"

namespace cifs {

inline std::unique_ptr<v1::FsdControl::Stub> FsdControlStub(const std::string& fsd_dir) {
  return v1::FsdControl::NewStub(
      grpc::CreateChannel("unix:" + fsd_dir + "/fsd.sock", grpc::InsecureChannelCredentials()));
}

}  // namespace cifs
