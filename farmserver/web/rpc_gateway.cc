#include "farmserver/web/rpc_gateway.h"

#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/util/json_util.h>
#include <grpcpp/impl/client_unary_call.h>
#include <grpcpp/impl/codegen/proto_utils.h>
#include <grpcpp/impl/rpc_method.h>
#include <grpcpp/support/sync_stream.h>

namespace cifs {
namespace {

using google::protobuf::Message;

std::unique_ptr<Message> NewMessage(const google::protobuf::Descriptor* d) {
  return std::unique_ptr<Message>(google::protobuf::MessageFactory::generated_factory()->GetPrototype(d)->New());
}

grpc::Status Parse(const std::string& json, Message* msg) {
  google::protobuf::util::JsonParseOptions opts;
  opts.ignore_unknown_fields = false;  // a misspelt field is an error, not silently nothing
  auto s = google::protobuf::util::JsonStringToMessage(json.empty() ? "{}" : json, msg, opts);
  if (!s.ok()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "the request is not a valid " + msg->GetDescriptor()->name() + ": " +
                            std::string(s.message()));
  }
  return grpc::Status::OK;
}

}  // namespace

std::string RpcGateway::ToJson(const Message& msg) {
  google::protobuf::util::JsonPrintOptions opts;
  opts.preserve_proto_field_names = true;  // the same names as the CLI's --json
  opts.always_print_primitive_fields = true;
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(msg, &out, opts);
  return out;
}

RpcGateway::RpcGateway(std::shared_ptr<grpc::Channel> in_process, const Authenticator* auth,
                       const std::vector<std::string>& services)
    : channel_(std::move(in_process)), auth_(auth) {
  const auto* pool = google::protobuf::DescriptorPool::generated_pool();
  for (const auto& name : services) {
    const auto* svc = pool->FindServiceByName(name);
    if (svc == nullptr) continue;
    for (int i = 0; i < svc->method_count(); ++i) {
      const auto* m = svc->method(i);
      if (m->client_streaming()) continue;  // none of ours is, and REST has no shape for it
      methods_.push_back({svc->name(), m->name(), "/" + svc->full_name() + "/" + m->name(), m->server_streaming(),
                          m->input_type(), m->output_type()});
    }
  }
}

const RpcMethod* RpcGateway::Find(const std::string& service, const std::string& method) const {
  for (const auto& m : methods_) {
    if (m.service == service && m.name == method) return &m;
  }
  return nullptr;
}

grpc::Status RpcGateway::Call(const RpcMethod& m, const std::string& json, const Identity& caller,
                              std::string* json_out) const {
  auto req = NewMessage(m.input);
  auto resp = NewMessage(m.output);
  if (auto s = Parse(json, req.get()); !s.ok()) return s;
  grpc::ClientContext ctx;
  auth_->ActAs(caller, &ctx);
  grpc::internal::RpcMethod method(m.path.c_str(), grpc::internal::RpcMethod::NORMAL_RPC);
  grpc::Status s = grpc::internal::BlockingUnaryCall<Message, Message>(channel_.get(), method, &ctx, *req, resp.get());
  if (s.ok()) *json_out = ToJson(*resp);
  return s;
}

std::unique_ptr<RpcGateway::Stream> RpcGateway::Open(const RpcMethod& m, const std::string& json,
                                                     const Identity& caller) const {
  std::unique_ptr<Stream> st(new Stream());  // private constructor: make_unique cannot reach it
  auto req = NewMessage(m.input);
  st->parse_error_ = Parse(json, req.get());
  if (!st->parse_error_.ok()) return st;
  auth_->ActAs(caller, &st->ctx_);
  grpc::internal::RpcMethod method(m.path.c_str(), grpc::internal::RpcMethod::SERVER_STREAMING);
  st->reader_.reset(grpc::internal::ClientReaderFactory<Message>::Create(channel_.get(), method, &st->ctx_, *req));
  st->msg_ = NewMessage(m.output);
  return st;
}

RpcGateway::Stream::~Stream() {
  if (reader_ && !finished_) {
    ctx_.TryCancel();
    (void)Finish();
  }
}

bool RpcGateway::Stream::Next(std::string* json) {
  if (!reader_ || finished_) return false;
  msg_->Clear();
  if (!reader_->Read(msg_.get())) return false;
  *json = ToJson(*msg_);
  return true;
}

grpc::Status RpcGateway::Stream::Finish() {
  if (!reader_) return parse_error_;
  if (finished_) return grpc::Status::OK;
  finished_ = true;
  return reader_->Finish();
}

}  // namespace cifs
