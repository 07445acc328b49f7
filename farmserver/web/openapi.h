// The REST gateway described as OpenAPI 3.1, from the protos' descriptors:
// one POST path per method, request and response schemas as the gateway's
// JSON mapping writes them (proto field names, 64-bit integers as strings).
// Built by cifs-openapi at build time and served at /api/v1/openapi.json.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace cifs {

// The document for `services` (full names, as GatewayServices()).
std::string OpenApiDocument(const std::vector<std::string>& services);
// The document made when farmserver was built (for GatewayServices()).
std::string_view BuiltOpenApiDocument();

}  // namespace cifs
