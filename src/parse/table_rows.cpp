#include "parse/table_rows.h"

#include <cstdlib>

#include "core/text.h"

namespace kr::parse::internal {
namespace {

size_t filled(const std::vector<std::string>& cells) {
  size_t n = 0;
  for (const auto& cell : cells) n += cell.empty() ? 0 : 1;
  return n;
}

// "12", "-3.5", "1,200", "45%", "$9.99": a value, not a column name.
bool is_number(std::string_view s) {
  std::string digits;
  for (const char c : s) {
    if (c == ',' || c == '%' || c == '$' || c == ' ') continue;
    digits += c;
  }
  if (digits.empty()) return false;
  char* end = nullptr;
  std::strtod(digits.c_str(), &end);
  return end == digits.c_str() + digits.size();
}

bool looks_like_header(const std::vector<std::string>& cells) {
  if (filled(cells) < 2) return false;
  for (const auto& cell : cells) {
    if (is_number(cell)) return false;
  }
  return true;
}

}  // namespace

std::string TableRows::render(const std::vector<std::string>& header, const std::vector<std::string>& cells) {
  std::string out;
  const bool named = !header.empty();
  for (size_t col = 0; col < cells.size(); ++col) {
    if (cells[col].empty()) continue;
    if (!out.empty()) out += named ? "; " : " | ";
    if (named) {
      out += col < header.size() && !header[col].empty() ? header[col] : "column " + std::to_string(col + 1);
      out += ": ";
    }
    out += cells[col];
  }
  return out;
}

void TableRows::add(std::vector<std::string> cells, bool is_header) {
  for (auto& cell : cells) cell = std::string(trim(collapse_whitespace(cell)));
  if (filled(cells) == 0) return;
  if (!header_decided_) {
    const bool header = is_header || (header_mode_ == Header::kFirstRow) || looks_like_header(cells);
    if (header) {
      header_ = std::move(cells);
      header_decided_ = true;
      return;
    }
    // A lone caption cell above the table does not decide anything yet.
    if (header_mode_ == Header::kDetect && filled(cells) < 2) {
      sink_.add(render({}, cells), BlockKind::kTableRow, page_);
      return;
    }
    header_decided_ = true;  // the first full row holds data: no header names
  }
  any_data_ |= sink_.add(render(header_, cells), BlockKind::kTableRow, page_);
}

void TableRows::finish() {
  if (!any_data_ && !header_.empty()) sink_.add(render({}, header_), BlockKind::kTableRow, page_);
}

}  // namespace kr::parse::internal
