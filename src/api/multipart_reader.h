// A streaming multipart/form-data parser (RFC 7578 / RFC 2046): the body is fed
// in pieces as it is read from the socket, and each part's bytes are handed to a
// sink as they arrive, so a part never has to be held in memory whole. The
// delimiter may be split across feeds at any offset; part headers, part sizes,
// the part count and the whole body are bounded.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace kr::api {

struct MultipartLimits {
  size_t max_header_bytes = 16 * 1024;  // one part's header block
  size_t max_parts = 1000;
  int64_t max_part_bytes = INT64_MAX;   // one part's body
  int64_t max_total_bytes = INT64_MAX;  // the whole multipart body
};

struct MultipartPartHeader {
  std::string name;          // Content-Disposition name
  std::string filename;      // Content-Disposition filename (filename* preferred); "" for a form field
  bool has_filename = false;
  std::string content_type;  // "" when absent
};

// Receives one part at a time: begin_part, part_data (zero or more), end_part.
// A non-ok Status stops the parse and is returned by feed().
class MultipartSink {
 public:
  virtual ~MultipartSink() = default;
  virtual Status begin_part(const MultipartPartHeader& header) = 0;
  virtual Status part_data(std::string_view bytes) = 0;
  virtual Status end_part() = 0;
};

// The boundary parameter of a multipart/form-data Content-Type, validated
// (1-70 characters, RFC 2046), or kInvalidArgument saying what is wrong.
Result<std::string> multipart_boundary(std::string_view content_type);

class MultipartReader {
 public:
  MultipartReader(std::string_view boundary, MultipartLimits limits, MultipartSink& sink);

  // The next bytes of the body. After an error the reader stays failed.
  Status feed(std::string_view bytes);
  // End of the body: an error unless the closing delimiter was seen.
  Status finish();

  size_t parts() const { return parts_; }

 private:
  enum class State { kPreamble, kAfterDelimiter, kHeaders, kBody, kEpilogue, kFailed };

  Status step(bool& progressed);
  Status preamble(bool& progressed);
  Status after_delimiter(bool& progressed);
  Status headers(bool& progressed);
  Status body(bool& progressed);
  Status fail(Status status);

  std::string delimiter_;  // "\r\n--" + boundary
  MultipartLimits limits_;
  MultipartSink& sink_;
  State state_ = State::kPreamble;
  std::string buffer_;  // unconsumed bytes (at most a delimiter's or a header block's worth)
  size_t parts_ = 0;
  int64_t total_ = 0;
  int64_t part_bytes_ = 0;
};

}  // namespace kr::api
