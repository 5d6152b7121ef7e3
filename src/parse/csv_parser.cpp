// CSV/TSV (RFC 4180 quoting). The first row is the header; every later row is
// rendered "header: value; header: value" so each chunk describes itself.
#include <array>
#include <vector>

#include "core/text.h"
#include "parse/parse_internal.h"
#include "parse/table_rows.h"

namespace kr::parse::internal {
namespace {

using Row = std::vector<std::string>;

// Picks the delimiter that splits the first lines most consistently.
char sniff_delimiter(std::string_view text, bool tsv_name) {
  if (tsv_name) return '\t';
  static constexpr std::array<char, 3> kCandidates = {',', ';', '\t'};
  char best = ',';
  double best_score = 0;
  for (const char d : kCandidates) {
    std::vector<size_t> counts;
    size_t count = 0;
    bool quoted = false;
    for (size_t i = 0; i < text.size() && counts.size() < 20 && i < 64 * 1024; ++i) {
      const char c = text[i];
      if (c == '"') quoted = !quoted;
      else if (!quoted && c == d) ++count;
      else if (!quoted && c == '\n') {
        counts.push_back(count);
        count = 0;
      }
    }
    if (count > 0) counts.push_back(count);
    if (counts.empty() || counts[0] == 0) continue;
    size_t consistent = 0;
    for (const size_t n : counts) consistent += n == counts[0] ? 1 : 0;
    // Many columns that agree across lines beat a few that do not.
    const double score = static_cast<double>(counts[0]) * consistent / counts.size();
    if (score > best_score) {
      best_score = score;
      best = d;
    }
  }
  return best;
}

bool blank_row(const Row& row) {
  for (const auto& cell : row) {
    if (!trim(cell).empty()) return false;
  }
  return true;
}

}  // namespace

// Splits into rows of fields, RFC 4180: quotes around fields, "" inside quotes.
std::vector<std::vector<std::string>> split_csv_rows(std::string_view text, char delimiter) {
  std::vector<Row> rows;
  Row row;
  std::string field;
  bool quoted = false;
  bool field_started = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"' && !field_started) {
      quoted = true;
      field_started = true;
    } else if (c == delimiter) {
      row.push_back(std::move(field));
      field.clear();
      field_started = false;
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      row.push_back(std::move(field));
      field.clear();
      field_started = false;
      rows.push_back(std::move(row));
      row.clear();
    } else {
      field += c;
      field_started = true;
    }
  }
  if (field_started || !field.empty() || !row.empty()) {
    row.push_back(std::move(field));
    rows.push_back(std::move(row));
  }
  return rows;
}

Result<ParsedDocument> parse_csv(std::string_view bytes, std::string_view file_name, const ParseContext&) {
  ParsedDocument doc;
  const DecodedText decoded = decode_text(bytes);
  if (decoded.encoding == "cp1252") doc.warnings.push_back("text is not valid UTF-8; decoded as Windows-1252");
  const bool tsv = file_name.size() >= 4 && (file_name.substr(file_name.size() - 4) == ".tsv" ||
                                             file_name.substr(file_name.size() - 4) == ".TSV");
  const char delimiter = sniff_delimiter(decoded.utf8, tsv);
  std::vector<Row> rows = split_csv_rows(decoded.utf8, delimiter);
  BlockSink sink(doc);
  size_t first = 0;
  while (first < rows.size() && blank_row(rows[first])) ++first;
  if (first == rows.size()) return doc;
  const auto filled = [](const Row& row) {
    size_t n = 0;
    for (const auto& cell : row) n += trim(cell).empty() ? 0 : 1;
    return n;
  };
  // A lone caption above the real header ("Stanley Cups,,") becomes a heading.
  if (filled(rows[first]) == 1 && first + 2 < rows.size() && filled(rows[first + 1]) > 1) {
    for (const auto& cell : rows[first]) sink.heading(cell, 1);
    ++first;
  }
  TableRows table(sink, TableRows::Header::kFirstRow);
  for (size_t r = first; r < rows.size(); ++r) table.add(std::move(rows[r]));
  table.finish();
  return doc;
}

}  // namespace kr::parse::internal
