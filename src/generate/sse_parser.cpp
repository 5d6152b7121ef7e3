// text/event-stream framing (WHATWG "server-sent events", the subset OpenAI-style servers use).
#include <string>
#include <string_view>
#include <vector>

#include "generate/llm_client.h"

namespace kr::generate {

std::vector<std::string> SseParser::feed(std::string_view bytes) {
  std::vector<std::string> events;
  // A "\r\n" split across two feeds must not count as two line ends.
  if (skip_lf_ && !bytes.empty()) {
    if (bytes.front() == '\n') bytes.remove_prefix(1);
    skip_lf_ = false;
  }
  while (!bytes.empty()) {
    const size_t end = bytes.find_first_of("\r\n");
    if (end == std::string_view::npos) {
      buffer_.append(bytes);
      break;
    }
    if (buffer_.empty()) {
      take_line(bytes.substr(0, end), events);
    } else {
      buffer_.append(bytes.substr(0, end));
      take_line(buffer_, events);
      buffer_.clear();
    }
    size_t next = end + 1;
    if (bytes[end] == '\r') {
      if (next < bytes.size()) {
        if (bytes[next] == '\n') ++next;
      } else {
        skip_lf_ = true;
      }
    }
    bytes.remove_prefix(next);
  }
  return events;
}

void SseParser::take_line(std::string_view line, std::vector<std::string>& events) {
  if (line.empty()) {
    if (has_data_) events.push_back(std::move(data_));
    data_.clear();
    has_data_ = false;
    return;
  }
  if (line.front() == ':') return;  // comment / keep-alive
  const size_t colon = line.find(':');
  const std::string_view field = line.substr(0, colon);
  std::string_view value;
  if (colon != std::string_view::npos) {
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (field != "data") return;  // event:, id:, retry: carry nothing we use
  if (has_data_) data_.push_back('\n');
  data_.append(value);
  has_data_ = true;
}

}  // namespace kr::generate
