#include "api/upload_form.h"

namespace kr::api {
namespace {

bool is_text_field(const std::string& name) { return name == "metadata" || name == "source" || name == "password"; }

}  // namespace

Status UploadForm::begin_part(const MultipartPartHeader& header) {
  if (is_text_field(header.name)) {
    target_ = Target::kField;
    current_field_ = header.name;
    fields_[header.name].clear();  // the last one wins, as before
    return Status::ok();
  }
  // A file part has a file name; other fields are not ours to keep.
  if (header.filename.empty()) {
    target_ = Target::kDiscard;
    return Status::ok();
  }
  auto file = ScratchFile::create(scratch_dir_);
  if (!file) return file.status();
  files_.push_back({header.name, header.filename, std::move(*file)});
  target_ = Target::kFile;
  return Status::ok();
}

Status UploadForm::part_data(std::string_view bytes) {
  switch (target_) {
    case Target::kFile: return files_.back().file->append(bytes);
    case Target::kField: {
      std::string& value = fields_[current_field_];
      if (value.size() + bytes.size() > kMaxFieldBytes) {
        return error(ErrorCode::kInvalidArgument, "form field '" + current_field_ + "' is longer than " +
                                                      std::to_string(kMaxFieldBytes) + " bytes");
      }
      value.append(bytes);
      return Status::ok();
    }
    case Target::kDiscard: return Status::ok();
  }
  return Status::ok();
}

Status UploadForm::end_part() {
  if (target_ == Target::kFile) KR_RETURN_IF_ERROR(files_.back().file->close());
  target_ = Target::kDiscard;
  return Status::ok();
}

const std::string& UploadForm::field(const std::string& name) const {
  static const std::string empty;
  auto it = fields_.find(name);
  return it == fields_.end() ? empty : it->second;
}

}  // namespace kr::api
