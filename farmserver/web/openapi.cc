#include "farmserver/web/openapi.h"

#include <google/protobuf/descriptor.h>

#include <nlohmann/json.hpp>
#include <set>

namespace cifs {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using nlohmann::json;

json Ref(const Descriptor* d) { return {{"$ref", "#/components/schemas/" + d->full_name()}}; }

json ScalarSchema(const FieldDescriptor* f) {
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32: return {{"type", "integer"}, {"format", "int32"}};
    case FieldDescriptor::CPPTYPE_UINT32: return {{"type", "integer"}, {"format", "uint32"}, {"minimum", 0}};
    // The JSON mapping writes 64-bit integers as strings and reads either.
    case FieldDescriptor::CPPTYPE_INT64:
      return {{"type", json::array({"string", "integer"})}, {"format", "int64"}, {"pattern", "^-?[0-9]+$"}};
    case FieldDescriptor::CPPTYPE_UINT64:
      return {{"type", json::array({"string", "integer"})}, {"format", "uint64"}, {"pattern", "^[0-9]+$"}};
    case FieldDescriptor::CPPTYPE_DOUBLE:
    case FieldDescriptor::CPPTYPE_FLOAT: return {{"type", "number"}};
    case FieldDescriptor::CPPTYPE_BOOL: return {{"type", "boolean"}};
    case FieldDescriptor::CPPTYPE_ENUM: {
      json values = json::array();
      for (int i = 0; i < f->enum_type()->value_count(); ++i) values.push_back(f->enum_type()->value(i)->name());
      return {{"type", "string"}, {"enum", values}};
    }
    case FieldDescriptor::CPPTYPE_STRING:
      if (f->type() == FieldDescriptor::TYPE_BYTES) return {{"type", "string"}, {"contentEncoding", "base64"}};
      return {{"type", "string"}};
    case FieldDescriptor::CPPTYPE_MESSAGE: return Ref(f->message_type());
  }
  return json::object();
}

class SchemaWriter {
 public:
  // Adds `d` and every message it reaches to the components.
  void Add(const Descriptor* d) {
    if (!seen_.insert(d->full_name()).second) return;
    json props = json::object();
    for (int i = 0; i < d->field_count(); ++i) {
      const FieldDescriptor* f = d->field(i);
      json schema;
      if (f->is_map()) {
        const FieldDescriptor* value = f->message_type()->map_value();
        if (value->message_type() != nullptr) Add(value->message_type());
        schema = {{"type", "object"}, {"additionalProperties", ScalarSchema(value)}};
      } else {
        if (f->message_type() != nullptr) Add(f->message_type());
        schema = ScalarSchema(f);
        if (f->is_repeated()) schema = {{"type", "array"}, {"items", schema}};
      }
      props[f->name()] = schema;
    }
    schemas_[d->full_name()] = {{"type", "object"}, {"properties", props}, {"additionalProperties", false}};
  }
  json& schemas() { return schemas_; }

 private:
  std::set<std::string> seen_;
  json schemas_ = json::object();
};

}  // namespace

std::string OpenApiDocument(const std::vector<std::string>& services) {
  const auto* pool = google::protobuf::DescriptorPool::generated_pool();
  SchemaWriter writer;
  writer.schemas()["cifs.Error"] = {
      {"type", "object"},
      {"required", json::array({"error"})},
      {"properties",
       {{"error",
         {{"type", "object"},
          {"required", json::array({"code", "message"})},
          {"properties", {{"code", {{"type", "string"}}}, {"message", {{"type", "string"}}}}}}}}}};
  json paths = json::object();
  json tags = json::array();
  for (const auto& name : services) {
    const auto* svc = pool->FindServiceByName(name);
    if (svc == nullptr) continue;
    tags.push_back({{"name", svc->name()}});
    for (int i = 0; i < svc->method_count(); ++i) {
      const auto* m = svc->method(i);
      if (m->client_streaming()) continue;  // as the gateway: REST has no shape for it
      writer.Add(m->input_type());
      writer.Add(m->output_type());
      json ok = m->server_streaming()
                    ? json{{"description", "one " + m->output_type()->name() +
                                               " per line (application/x-ndjson) as the farm sends them"},
                           {"content", {{"application/x-ndjson", {{"schema", Ref(m->output_type())}}}}}}
                    : json{{"description", m->output_type()->name()},
                           {"content", {{"application/json", {{"schema", Ref(m->output_type())}}}}}};
      json error = {{"description", "refused or failed: the gRPC status code's name and a message"},
                    {"content", {{"application/json", {{"schema", {{"$ref", "#/components/schemas/cifs.Error"}}}}}}}};
      paths["/api/v1/" + svc->name() + "/" + m->name()]["post"] = {
          {"operationId", svc->name() + "_" + m->name()},
          {"tags", json::array({svc->name()})},
          {"requestBody",
           {{"required", false}, {"content", {{"application/json", {{"schema", Ref(m->input_type())}}}}}}},
          {"responses", {{"200", ok}, {"4XX", error}, {"5XX", error}}}};
    }
  }
  json doc = {
      {"openapi", "3.1.0"},
      {"info",
       {{"title", "cifs farm REST API"},
        {"version", "v1"},
        {"description", "The farm's gRPC services as JSON over HTTPS (docs/api.md). Authenticate with a client "
                        "certificate, or a browser session cookie plus its X-CSRF-Token on every POST."}}},
      {"paths", paths},
      {"tags", tags},
      {"components",
       {{"schemas", writer.schemas()},
        {"securitySchemes",
         {{"clientCertificate", {{"type", "mutualTLS"}, {"description", "a certificate from `cifs admin user add`"}}},
          {"session", {{"type", "apiKey"}, {"in", "cookie"}, {"name", "__Host-cifs_session"}}},
          {"csrf", {{"type", "apiKey"}, {"in", "header"}, {"name", "X-CSRF-Token"}}}}}}},
      {"security", json::array({{{"clientCertificate", json::array()}},
                                {{"session", json::array()}, {"csrf", json::array()}}})}};
  return doc.dump(1);
}

}  // namespace cifs
