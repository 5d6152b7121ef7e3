#include "embed/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bit>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

namespace kr::embed {
namespace {

size_t dtype_size(const std::string& dtype) {
  if (dtype == "F32" || dtype == "I32" || dtype == "U32") return 4;
  if (dtype == "F16" || dtype == "BF16" || dtype == "I16" || dtype == "U16") return 2;
  if (dtype == "F64" || dtype == "I64" || dtype == "U64") return 8;
  if (dtype == "I8" || dtype == "U8" || dtype == "BOOL" || dtype == "F8_E4M3" || dtype == "F8_E5M2") return 1;
  return 0;
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

}  // namespace

struct SafeTensorsFile::Mapping {
  void* address = MAP_FAILED;
  size_t size = 0;
  ~Mapping() {
    if (address != MAP_FAILED) munmap(address, size);
  }
};

int64_t TensorInfo::elements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

float half_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  uint32_t exponent = (h >> 10) & 0x1f;
  uint32_t mantissa = h & 0x3ff;
  uint32_t bits;
  if (exponent == 0) {
    if (mantissa == 0) {
      bits = sign;
    } else {  // subnormal: renormalize
      exponent = 127 - 15 + 1;
      while ((mantissa & 0x400) == 0) {
        mantissa <<= 1;
        --exponent;
      }
      bits = sign | (exponent << 23) | ((mantissa & 0x3ff) << 13);
    }
  } else if (exponent == 0x1f) {
    bits = sign | 0x7f800000u | (mantissa << 13);
  } else {
    bits = sign | ((exponent + 127 - 15) << 23) | (mantissa << 13);
  }
  return std::bit_cast<float>(bits);
}

float bfloat16_to_float(uint16_t b) { return std::bit_cast<float>(static_cast<uint32_t>(b) << 16); }

Result<SafeTensorsFile> SafeTensorsFile::open(const std::filesystem::path& path) {
  const std::string where = path.string();
  const int fd = ::open(where.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return error(errno == ENOENT ? ErrorCode::kNotFound : ErrorCode::kInvalidArgument,
                 "cannot open " + where + ": " + std::strerror(errno));
  }
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    const int saved = errno;
    ::close(fd);
    return error(ErrorCode::kInvalidArgument, "cannot stat " + where + ": " + std::strerror(saved));
  }
  auto mapping = std::make_shared<Mapping>();
  mapping->size = static_cast<size_t>(st.st_size);
  if (mapping->size < 8) {
    ::close(fd);
    return error(ErrorCode::kCorruptInput, where + " is too short to be a safetensors file");
  }
  mapping->address = mmap(nullptr, mapping->size, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (mapping->address == MAP_FAILED) {
    return error(ErrorCode::kInternal, "cannot map " + where + ": " + std::strerror(errno));
  }
  const auto* bytes = static_cast<const uint8_t*>(mapping->address);
  uint64_t header_size = 0;
  std::memcpy(&header_size, bytes, 8);  // little-endian on every platform we build for
  if (header_size > mapping->size - 8) {
    return error(ErrorCode::kCorruptInput, where + ": header length " + std::to_string(header_size) +
                                               " exceeds the file size (truncated download?)");
  }
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes + 8, bytes + 8 + header_size);
  } catch (const std::exception& e) {
    return error(ErrorCode::kCorruptInput, where + ": header is not valid JSON: " + e.what());
  }
  if (!header.is_object()) return error(ErrorCode::kCorruptInput, where + ": header is not a JSON object");

  SafeTensorsFile file;
  file.mapping_ = mapping;
  file.path_ = path;
  file.data_ = bytes + 8 + header_size;
  const uint64_t data_size = mapping->size - 8 - header_size;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") continue;
    try {
      TensorInfo info;
      info.dtype = entry.at("dtype").get<std::string>();
      info.shape = entry.at("shape").get<std::vector<int64_t>>();
      const auto offsets = entry.at("data_offsets").get<std::vector<uint64_t>>();
      if (offsets.size() != 2) throw std::runtime_error("data_offsets must have two entries");
      info.begin = offsets[0];
      info.end = offsets[1];
      const size_t element_size = dtype_size(info.dtype);
      for (int64_t d : info.shape) {
        if (d < 0) throw std::runtime_error("negative dimension");
      }
      if (info.begin > info.end || info.end > data_size) {
        throw std::runtime_error("data range lies outside the file (truncated download?)");
      }
      if (element_size != 0 && static_cast<uint64_t>(info.elements()) * element_size != info.end - info.begin) {
        throw std::runtime_error("byte size does not match dtype " + info.dtype + " and shape " +
                                 shape_text(info.shape));
      }
      file.tensors_.emplace(name, std::move(info));
    } catch (const std::exception& e) {
      return error(ErrorCode::kCorruptInput, where + ": tensor '" + name + "': " + e.what());
    }
  }
  return file;
}

Result<std::vector<float>> SafeTensorsFile::read_float(const std::string& name,
                                                       const std::vector<int64_t>& expected_shape) const {
  const auto it = tensors_.find(name);
  if (it == tensors_.end()) {
    return error(ErrorCode::kInvalidArgument, path_.string() + " has no tensor '" + name + "'");
  }
  const TensorInfo& info = it->second;
  if (info.shape != expected_shape) {
    return error(ErrorCode::kInvalidArgument, path_.string() + ": tensor '" + name + "' has shape " +
                                                  shape_text(info.shape) + ", config.json implies " +
                                                  shape_text(expected_shape));
  }
  const size_t n = static_cast<size_t>(info.elements());
  std::vector<float> out(n);
  const uint8_t* src = data_ + info.begin;
  if (info.dtype == "F32") {
    std::memcpy(out.data(), src, n * 4);
  } else if (info.dtype == "F16" || info.dtype == "BF16") {
    const bool half = info.dtype == "F16";
    for (size_t i = 0; i < n; ++i) {
      uint16_t v;
      std::memcpy(&v, src + 2 * i, 2);
      out[i] = half ? half_to_float(v) : bfloat16_to_float(v);
    }
  } else {
    return error(ErrorCode::kUnsupported, path_.string() + ": tensor '" + name + "' has dtype " + info.dtype +
                                              " (supported: F32, F16, BF16)");
  }
  return out;
}

}  // namespace kr::embed
