// What a sync needs from a kind of source: list its items, fetch one item's bytes.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/status.h"
#include "sources/source_state.h"

namespace kr::sources {

class Connector {
 public:
  virtual ~Connector() = default;
  // Every item the source holds now (filters applied). An error fails the whole run
  // (nothing is deleted then): an unreachable source is not an empty one.
  virtual Result<std::vector<SourceItem>> list() = 0;
  // The item's bytes. kUnavailable / kDeadlineExceeded errors are transient: the item is
  // tried again by the next sync; any other error is recorded against the item's version.
  virtual Result<std::string> fetch(const SourceItem& item) = 0;
  // What the last sync recorded per item key, given before list(): a URL source asks the server
  // whether each page changed since (If-None-Match / If-Modified-Since) instead of downloading it.
  virtual void set_known(const std::map<std::string, ItemState>& items) { (void)items; }
};

// Checks a new source before it is stored: the location is well formed, a folder is
// allowed (`from_api`: under config.source_folder_roots), credentials are complete.
Status validate_source(const SourceSpec& spec, const Config& config, bool from_api);

Result<std::unique_ptr<Connector>> make_connector(const SourceSpec& spec, const Config& config);

// Per kind (folder_connector.cpp, url_connector.cpp, azure_blob_connector.cpp).
std::unique_ptr<Connector> make_folder_connector(const SourceSpec& spec, const Config& config);
std::unique_ptr<Connector> make_url_connector(const SourceSpec& spec, const Config& config);
std::unique_ptr<Connector> make_azure_blob_connector(const SourceSpec& spec, const Config& config);
// kInvalidArgument unless `location` is https://<account>.blob.core.windows.net/<container> or path-style.
Status validate_container_url(const std::string& location);


// True when `name` ends with one of `extensions` (case-insensitive); empty list = all.
bool extension_allowed(const std::string& name, const std::vector<std::string>& extensions);

}  // namespace kr::sources
