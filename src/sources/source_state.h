// A document source of a collection (a watched folder, a URL, an Azure Blob container) and
// what its syncs left behind: per item the version last ingested and its document, and the
// last run's report. Stored per collection as <data_dir>/sources/<collection>.json.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/metadata.h"
#include "core/status.h"

namespace kr::sources {

enum class SourceKind { kFolder, kUrl, kAzureBlob };
std::string_view source_kind_name(SourceKind kind);
Result<SourceKind> parse_source_kind(std::string_view name);

inline constexpr int kMaxCrawlDepth = 10;
inline constexpr int kDefaultMaxPages = 100;
inline constexpr int kMaxPagesLimit = 10000;

struct SourceSpec {
  std::string id;                 // "src-<n>", unique in its collection
  SourceKind kind = SourceKind::kFolder;
  std::string location;           // folder path | http(s) URL | container URL
  double interval_seconds = 0;    // scheduled sync period; 0 = on demand only
  std::vector<std::string> extensions;  // only items ending in one of these (".pdf"); empty = all
  // URL sources: follow same-site links this many levels from the page (0 = the page only), up to
  // max_pages pages in all (0 = kDefaultMaxPages when crawling).
  int crawl_depth = 0;
  int max_pages = 0;
  // Azure Blob credentials: a shared key (base64) or a SAS token. Kept in the data directory
  // (mode 0600) and never returned by the API.
  std::string account_key;
  std::string sas_token;
  // Azure Blob: authenticate as the pod's workload identity (an Entra token, no stored secret).
  bool workload_identity = false;
  int64_t created_at = 0;
};

// One listed item as the source reports it.
struct SourceItem {
  std::string key;        // path inside the folder / blob name / the URL
  std::string name;       // the document's name (file name with an extension the parsers know)
  std::string version;    // etag, or mtime:size; changes whenever the content may have
  int64_t size = -1;
  bool pending = false;   // not ready yet (a folder file still being written)
  Metadata metadata;      // becomes document metadata (blob metadata, content type)
};

// What the last sync did with an item.
struct ItemState {
  std::string version;    // the version ingested (or that failed to parse)
  std::string doc_id;     // "" when it never produced a document
  std::string outcome;    // added | updated | unchanged | duplicate | failed
  std::string error;      // why it failed
  int64_t synced_at = 0;
};

struct SyncReport {
  int64_t started_at = 0;
  int64_t finished_at = 0;  // 0 while running
  std::string trigger;      // api | cli | schedule
  int64_t listed = 0, added = 0, updated = 0, unchanged = 0, deleted = 0, failed = 0, pending = 0;
  std::string error;        // the run as a whole failed (listing refused, container missing)
};

struct SourceRecord {
  SourceSpec spec;
  std::map<std::string, ItemState> items;  // by item key
  std::optional<SyncReport> last_run;
};

// The sources of one collection, in creation order.
struct CollectionSources {
  int64_t next_id = 1;
  std::vector<SourceRecord> sources;
};

// Reads/writes <root>/sources/<collection>.json atomically (temp file, fsync, rename).
class SourceFile {
 public:
  explicit SourceFile(std::string data_dir) : dir_(std::move(data_dir) + "/sources") {}
  Result<CollectionSources> load(const std::string& collection) const;  // empty when there is no file
  Status save(const std::string& collection, const CollectionSources& sources) const;
  Status remove(const std::string& collection) const;
  std::vector<std::string> collections() const;  // that have a file

 private:
  std::string path(const std::string& collection) const { return dir_ + "/" + collection + ".json"; }
  std::string dir_;
};

}  // namespace kr::sources
