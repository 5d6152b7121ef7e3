// The OpenAPI 3 document of the HTTP API (src/api/openapi.json, embedded at build time).
#pragma once

#include <string_view>

namespace kr::api {
std::string_view openapi_document();
}
