// How the HTTPS side answers: JSON bodies, and errors as
// {"error": {"code": "PERMISSION_DENIED", "message": "..."}} with the HTTP
// status that matches the gRPC code.
#pragma once

#include <grpcpp/support/status.h>

#include <string>

#include "common/status.h"
#include "farmserver/http/http_message.h"

namespace cifs {

int HttpStatusOf(grpc::StatusCode code);
const char* CodeName(grpc::StatusCode code);
void SendJson(HttpResponse& res, const std::string& json, int status = 200);
void SendError(HttpResponse& res, const grpc::Status& s);
void SendError(HttpResponse& res, const Status& s);
// An error as one JSON object, for streams that already answered 200.
std::string ErrorJson(const grpc::Status& s);

}  // namespace cifs
