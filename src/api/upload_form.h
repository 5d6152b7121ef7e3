// An upload's multipart form as it streams in: file parts go to scratch files
// (api/upload_scratch.h), the small text fields (metadata, source, password) stay
// in memory with a size bound, other fields are discarded. Owning the scratch
// files, it removes them when destroyed, however the request ends.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "api/multipart_reader.h"
#include "api/upload_scratch.h"

namespace kr::api {

struct UploadedFile {
  std::string field;
  std::string filename;
  std::unique_ptr<ScratchFile> file;  // closed: path, size, sha256
};

class UploadForm : public MultipartSink {
 public:
  static constexpr size_t kMaxFieldBytes = 64 * 1024;
  explicit UploadForm(std::string scratch_dir) : scratch_dir_(std::move(scratch_dir)) {}

  Status begin_part(const MultipartPartHeader& header) override;
  Status part_data(std::string_view bytes) override;
  Status end_part() override;

  bool has_field(const std::string& name) const { return fields_.count(name) > 0; }
  const std::string& field(const std::string& name) const;  // "" when absent
  std::vector<UploadedFile>& files() { return files_; }

 private:
  enum class Target { kFile, kField, kDiscard };
  std::string scratch_dir_;
  std::map<std::string, std::string> fields_;
  std::vector<UploadedFile> files_;
  Target target_ = Target::kDiscard;
  std::string current_field_;
};

}  // namespace kr::api
