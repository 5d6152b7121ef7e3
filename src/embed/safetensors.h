// Reader for the safetensors weight format (Hugging Face): an 8-byte little-endian header
// length, a JSON header {name: {dtype, shape, data_offsets}}, then the raw tensor bytes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"

namespace kr::embed {

struct TensorInfo {
  std::string dtype;            // F32, F16, BF16, I64, ...
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;  // byte range inside the data section
  int64_t elements() const;
};

class SafeTensorsFile {
 public:
  // Maps the file read-only and validates the header: every tensor lies inside the file and
  // its byte size matches dtype × shape. A damaged file is kCorruptInput naming the tensor.
  static Result<SafeTensorsFile> open(const std::filesystem::path& path);

  bool contains(const std::string& name) const { return tensors_.contains(name); }
  const std::map<std::string, TensorInfo>& tensors() const { return tensors_; }
  // The tensor converted to float32 (from F32, F16 or BF16), checked against `expected_shape`.
  Result<std::vector<float>> read_float(const std::string& name, const std::vector<int64_t>& expected_shape) const;

 private:
  struct Mapping;
  std::shared_ptr<const Mapping> mapping_;
  std::filesystem::path path_;
  const uint8_t* data_ = nullptr;  // start of the data section
  std::map<std::string, TensorInfo> tensors_;
};

// IEEE half and bfloat16 to float.
float half_to_float(uint16_t h);
float bfloat16_to_float(uint16_t b);

}  // namespace kr::embed
