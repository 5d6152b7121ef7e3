// Tables kept as tables: every data row is written with its column names
// ("Header: value; Header2: value") as one table-row block, so a chunk holding
// the row still says what its values mean (the chunker never splits a block
// that fits in a chunk).
// Not thread-safe: one builder per table.
#pragma once

#include <string>
#include <vector>

#include "parse/parse_internal.h"

namespace kr::parse::internal {

class TableRows {
 public:
  enum class Header {
    kDetect,    // the first row with two or more filled cells, if none of them is a number
    kFirstRow,  // the first non-blank row (CSV)
  };
  TableRows(BlockSink& sink, Header header, int page = 0) : sink_(sink), header_mode_(header), page_(page) {}

  // One row's cells in column order ("" for a blank cell). `is_header` marks a
  // row the format itself declares a header (<th> row, Word's repeat-header row).
  void add(std::vector<std::string> cells, bool is_header = false);
  // A table of only a header row still has content worth indexing.
  void finish();

  // Builds "Header: value; Header2: value" (or "a | b" without header names).
  static std::string render(const std::vector<std::string>& header, const std::vector<std::string>& cells);

 private:
  BlockSink& sink_;
  Header header_mode_;
  int page_;
  bool header_decided_ = false;
  bool any_data_ = false;
  std::vector<std::string> header_;
};

}  // namespace kr::parse::internal
