#include "api/multipart_reader.h"

#include <algorithm>
#include <cctype>

namespace kr::api {
namespace {

constexpr std::string_view kCrlf = "\r\n";

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Splits `name=value; name="quoted; value"` parameters (after the first `;`),
// calling on_param(lowercase name, unquoted value). False on an unterminated quote.
template <typename F>
bool for_each_param(std::string_view s, F on_param) {
  size_t i = s.find(';');
  while (i != std::string_view::npos && i < s.size()) {
    ++i;
    const size_t eq = s.find('=', i);
    const size_t semi = s.find(';', i);
    if (eq == std::string_view::npos || (semi != std::string_view::npos && semi < eq)) {
      i = semi;
      continue;
    }
    std::string name(trim(s.substr(i, eq - i)));
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    size_t j = eq + 1;
    while (j < s.size() && (s[j] == ' ' || s[j] == '\t')) ++j;
    std::string value;
    if (j < s.size() && s[j] == '"') {
      ++j;
      bool closed = false;
      for (; j < s.size(); ++j) {
        if (s[j] == '\\' && j + 1 < s.size()) {
          value += s[++j];
        } else if (s[j] == '"') {
          closed = true;
          ++j;
          break;
        } else {
          value += s[j];
        }
      }
      if (!closed) return false;
      i = s.find(';', j);
    } else {
      const size_t end = semi == std::string_view::npos ? s.size() : semi;
      value = std::string(trim(s.substr(j, end - j)));
      i = semi;
    }
    on_param(name, std::move(value));
  }
  return true;
}

// RFC 5987 ext-value: charset'language'percent-encoded. UTF-8/ASCII only.
bool decode_ext_value(std::string_view v, std::string& out) {
  const size_t q1 = v.find('\'');
  const size_t q2 = q1 == std::string_view::npos ? q1 : v.find('\'', q1 + 1);
  if (q2 == std::string_view::npos) return false;
  const std::string_view charset = v.substr(0, q1);
  if (!iequals(charset, "utf-8") && !iequals(charset, "us-ascii")) return false;
  out.clear();
  for (size_t i = q2 + 1; i < v.size(); ++i) {
    if (v[i] != '%') {
      out += v[i];
      continue;
    }
    if (i + 2 >= v.size() || hex_value(v[i + 1]) < 0 || hex_value(v[i + 2]) < 0) return false;
    out += static_cast<char>(hex_value(v[i + 1]) * 16 + hex_value(v[i + 2]));
    i += 2;
  }
  return true;
}

Result<MultipartPartHeader> parse_part_header(std::string_view block, size_t part_number) {
  MultipartPartHeader header;
  bool has_disposition = false;
  const std::string where = "multipart part " + std::to_string(part_number);
  while (!block.empty()) {
    size_t end = block.find(kCrlf);
    const std::string_view line = block.substr(0, end);
    block = end == std::string_view::npos ? std::string_view{} : block.substr(end + 2);
    if (line.empty()) continue;
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      return error(ErrorCode::kInvalidArgument, where + ": header line without 'Name: value'");
    }
    const std::string_view name = trim(line.substr(0, colon));
    const std::string_view value = trim(line.substr(colon + 1));
    if (iequals(name, "content-type")) {
      header.content_type = std::string(value);
    } else if (iequals(name, "content-disposition")) {
      const std::string_view type = trim(value.substr(0, value.find(';')));
      if (!iequals(type, "form-data")) {
        return error(ErrorCode::kInvalidArgument, where + ": Content-Disposition must be form-data");
      }
      has_disposition = true;
      std::string extended;
      bool has_extended = false, ok_extended = true;
      const bool closed = for_each_param(value, [&](const std::string& param, std::string v) {
        if (param == "name") header.name = std::move(v);
        if (param == "filename") {
          header.filename = std::move(v);
          header.has_filename = true;
        }
        if (param == "filename*") {
          has_extended = true;
          ok_extended = decode_ext_value(v, extended);
        }
      });
      if (!closed) return error(ErrorCode::kInvalidArgument, where + ": unterminated quote in Content-Disposition");
      if (has_extended) {
        if (!ok_extended) return error(ErrorCode::kInvalidArgument, where + ": bad filename* (RFC 5987) value");
        header.filename = std::move(extended);
        header.has_filename = true;
      }
    }
  }
  if (!has_disposition) {
    return error(ErrorCode::kInvalidArgument, where + " has no Content-Disposition: form-data; name=\"...\" header");
  }
  if (header.name.empty()) return error(ErrorCode::kInvalidArgument, where + " has no field name");
  return header;
}

}  // namespace

Result<std::string> multipart_boundary(std::string_view content_type) {
  const std::string_view type = trim(content_type.substr(0, content_type.find(';')));
  if (!iequals(type, "multipart/form-data")) {
    return error(ErrorCode::kUnsupported, "the request body must be multipart/form-data");
  }
  std::string boundary;
  bool found = false;
  const bool closed = for_each_param(content_type, [&](const std::string& name, std::string value) {
    if (name == "boundary") {
      boundary = std::move(value);
      found = true;
    }
  });
  if (!closed || !found || boundary.empty()) {
    return error(ErrorCode::kInvalidArgument,
                 "multipart/form-data without a boundary parameter in Content-Type (e.g. "
                 "'multipart/form-data; boundary=XYZ'); let the HTTP client build the body");
  }
  if (boundary.size() > 70) {
    return error(ErrorCode::kInvalidArgument, "multipart boundary longer than 70 characters (RFC 2046)");
  }
  return boundary;
}

MultipartReader::MultipartReader(std::string_view boundary, MultipartLimits limits, MultipartSink& sink)
    : delimiter_("\r\n--" + std::string(boundary)), limits_(limits), sink_(sink) {
  // The first delimiter may open the body without a CRLF before it: pretend there was one.
  buffer_ = std::string(kCrlf);
}

Status MultipartReader::fail(Status status) {
  state_ = State::kFailed;
  buffer_.clear();
  buffer_.shrink_to_fit();
  return status;
}

Status MultipartReader::feed(std::string_view bytes) {
  if (state_ == State::kFailed) return error(ErrorCode::kFailedPrecondition, "multipart reader already failed");
  total_ += static_cast<int64_t>(bytes.size());
  if (total_ > limits_.max_total_bytes) {
    return fail(error(ErrorCode::kTooLarge, "multipart body larger than the " +
                                                std::to_string(limits_.max_total_bytes) + "-byte limit"));
  }
  if (state_ == State::kEpilogue) return Status::ok();  // ignored, per RFC 2046
  buffer_.append(bytes);
  bool progressed = true;
  while (progressed && state_ != State::kEpilogue) {
    progressed = false;
    if (Status s = step(progressed); !s.is_ok()) return fail(std::move(s));
  }
  if (state_ == State::kEpilogue) buffer_.clear();
  return Status::ok();
}

Status MultipartReader::step(bool& progressed) {
  switch (state_) {
    case State::kPreamble: return preamble(progressed);
    case State::kAfterDelimiter: return after_delimiter(progressed);
    case State::kHeaders: return headers(progressed);
    case State::kBody: return body(progressed);
    default: return Status::ok();
  }
}

Status MultipartReader::preamble(bool& progressed) {
  const size_t at = buffer_.find(delimiter_);
  if (at == std::string::npos) {
    // Keep only what could be the start of a delimiter; the rest is preamble.
    const size_t keep = std::min(buffer_.size(), delimiter_.size() - 1);
    buffer_.erase(0, buffer_.size() - keep);
    return Status::ok();
  }
  buffer_.erase(0, at + delimiter_.size());
  state_ = State::kAfterDelimiter;
  progressed = true;
  return Status::ok();
}

// After a delimiter: "--" closes the body, else optional transport padding and CRLF.
Status MultipartReader::after_delimiter(bool& progressed) {
  if (buffer_.size() < 2) return Status::ok();
  if (buffer_.compare(0, 2, "--") == 0) {
    state_ = State::kEpilogue;
    progressed = true;
    return Status::ok();
  }
  size_t i = 0;
  while (i < buffer_.size() && (buffer_[i] == ' ' || buffer_[i] == '\t')) ++i;
  if (i > limits_.max_header_bytes) {
    return error(ErrorCode::kInvalidArgument, "malformed multipart body: padding after a boundary is too long");
  }
  if (buffer_.size() < i + 2) return Status::ok();
  if (buffer_.compare(i, 2, kCrlf) != 0) {
    return error(ErrorCode::kInvalidArgument,
                 "malformed multipart body: a boundary line must end with CRLF (or '--' for the last one)");
  }
  if (parts_ >= limits_.max_parts) {
    return error(ErrorCode::kInvalidArgument,
                 "too many parts in the multipart body (limit " + std::to_string(limits_.max_parts) + ")");
  }
  buffer_.erase(0, i + 2);
  state_ = State::kHeaders;
  progressed = true;
  return Status::ok();
}

Status MultipartReader::headers(bool& progressed) {
  size_t block_end;  // end of the header block, the blank line excluded
  size_t consumed;
  if (buffer_.compare(0, 2, kCrlf) == 0) {  // no headers at all
    block_end = 0;
    consumed = 2;
  } else {
    const size_t at = buffer_.find("\r\n\r\n");
    if (at == std::string::npos || at + 4 > limits_.max_header_bytes) {
      if (buffer_.size() > limits_.max_header_bytes || at != std::string::npos) {
        return error(ErrorCode::kInvalidArgument, "multipart part " + std::to_string(parts_ + 1) +
                                                      ": header block longer than " +
                                                      std::to_string(limits_.max_header_bytes) + " bytes");
      }
      return Status::ok();
    }
    block_end = at;
    consumed = at + 4;
  }
  auto header = parse_part_header(std::string_view(buffer_).substr(0, block_end), parts_ + 1);
  if (!header) return header.status();
  ++parts_;
  part_bytes_ = 0;
  buffer_.erase(0, consumed);
  KR_RETURN_IF_ERROR(sink_.begin_part(*header));
  state_ = State::kBody;
  progressed = true;
  return Status::ok();
}

Status MultipartReader::body(bool& progressed) {
  const size_t at = buffer_.find(delimiter_);
  // Everything before the delimiter, or all but a possible delimiter prefix, is part data.
  const size_t data = at != std::string::npos ? at : buffer_.size() - std::min(buffer_.size(), delimiter_.size() - 1);
  if (data > 0) {
    part_bytes_ += static_cast<int64_t>(data);
    if (part_bytes_ > limits_.max_part_bytes) {
      return error(ErrorCode::kTooLarge, "multipart part " + std::to_string(parts_) + " larger than the " +
                                             std::to_string(limits_.max_part_bytes) + "-byte limit");
    }
    KR_RETURN_IF_ERROR(sink_.part_data(std::string_view(buffer_).substr(0, data)));
  }
  if (at == std::string::npos) {
    buffer_.erase(0, data);
    return Status::ok();
  }
  buffer_.erase(0, at + delimiter_.size());
  KR_RETURN_IF_ERROR(sink_.end_part());
  state_ = State::kAfterDelimiter;
  progressed = true;
  return Status::ok();
}

Status MultipartReader::finish() {
  switch (state_) {
    case State::kEpilogue: return Status::ok();
    case State::kFailed: return error(ErrorCode::kFailedPrecondition, "multipart reader already failed");
    case State::kPreamble:
      return fail(error(ErrorCode::kInvalidArgument,
                        "malformed multipart body: no boundary line found (does Content-Type's boundary match the body?)"));
    default:
      return fail(error(ErrorCode::kInvalidArgument,
                        "truncated multipart body: it ended before the closing boundary (--BOUNDARY--)"));
  }
}

}  // namespace kr::api
