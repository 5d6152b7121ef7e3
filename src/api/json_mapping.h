// Service types <-> JSON. The only place that knows the API's JSON shapes.
#pragma once

#include <nlohmann/json.hpp>

#include "core/metadata.h"
#include "core/status.h"
#include "service/types.h"

namespace kr::api {

using nlohmann::json;

json to_json(const Metadata& metadata);
json to_json(const service::CollectionInfo& info);
json to_json(const service::DocumentInfo& info);
json to_json(const service::IngestResult& result);
json to_json(const service::SearchHit& hit);
json to_json(const service::Answer& answer);
json error_json(const Status& status);

// A JSON object of scalar or any values -> Metadata (canonical JSON text per value).
Result<Metadata> metadata_from_json(const json& value);
// {"key": value} or {"key": [v1, v2]} (any of) -> MetadataFilter.
Result<MetadataFilter> filter_from_json(const json& value);

// Typed field access with messages a person can act on.
Result<std::string> required_string(const json& body, const char* field);
Result<int> optional_int(const json& body, const char* field, int fallback, int min, int max);
Result<double> optional_double(const json& body, const char* field, double fallback, double min, double max);
Result<bool> optional_bool(const json& body, const char* field, bool fallback);

}  // namespace kr::api
