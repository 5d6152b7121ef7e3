// Arbitrary per-document metadata and the filters over it, as plain types.
// Values are kept as canonical JSON text (e.g. "\"hr\"", "42", "true") so that
// equality is exact without this layer knowing JSON; only api/ converts.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace kr {

using Metadata = std::map<std::string, std::string>;  // key -> canonical JSON value

// All keys must match (AND); a key matches when the document's value equals any
// of the listed values (OR). An empty filter accepts everything.
struct MetadataFilter {
  std::map<std::string, std::vector<std::string>> any_of;

  bool empty() const { return any_of.empty(); }
  bool accepts(const Metadata& metadata) const {
    for (const auto& [key, allowed] : any_of) {
      auto it = metadata.find(key);
      if (it == metadata.end()) return false;
      bool hit = false;
      for (const auto& value : allowed) hit = hit || value == it->second;
      if (!hit) return false;
    }
    return true;
  }
};

}  // namespace kr
