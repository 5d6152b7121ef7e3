// XLSB (Excel binary workbook, [MS-XLSB]): the same zip package as XLSX, but
// the workbook, shared strings and sheets are BIFF12 record streams instead of
// XML. Output matches parse_xlsx: page = sheet index, heading path = sheet
// name, one table-row block per row named by the header row. No Debian tool or
// library reads .xlsb without LibreOffice, and the few records we need are
// small and documented, so they are read here with every length checked.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <cstdio>
#include <string>
#include <vector>

#include "core/text.h"
#include "parse/ooxml_common.h"
#include "parse/table_rows.h"

namespace kr::parse::internal {
namespace {

// Record types ([MS-XLSB] 2.3.2) this reader uses.
enum Record : uint32_t {
  kRowHdr = 0, kCellBlank = 1, kCellRk = 2, kCellError = 3, kCellBool = 4, kCellReal = 5, kCellSt = 6,
  kCellIsst = 7, kFmlaString = 8, kFmlaNum = 9, kFmlaBool = 10, kFmlaError = 11,
  // "Short" cells (newer writers): no column field, the cell follows the previous one.
  kShortBlank = 12, kShortRk = 13, kShortError = 14, kShortBool = 15, kShortReal = 16, kShortSt = 17, kShortIsst = 18,
  kSstItem = 19,
  kCellRString = 62, kBundleSh = 156, kBeginSheetData = 145, kEndSheetData = 146,
};

constexpr size_t kMaxPaddedGap = 64;  // as in xlsx: wider gaps between cells are not padded

// Reads fields of one record; a read past the end sets failed() and returns zeros.
class Fields {
 public:
  explicit Fields(std::string_view data) : data_(data) {}
  uint32_t u32() {
    if (at_ + 4 > data_.size()) return fail();
    uint32_t v = 0;
    for (int k = 3; k >= 0; --k) v = (v << 8) | static_cast<unsigned char>(data_[at_ + static_cast<size_t>(k)]);
    at_ += 4;
    return v;
  }
  uint8_t u8() {
    if (at_ + 1 > data_.size()) return static_cast<uint8_t>(fail());
    return static_cast<uint8_t>(data_[at_++]);
  }
  double f64() {
    const uint64_t lo = u32();
    const uint64_t bits = (static_cast<uint64_t>(u32()) << 32) | lo;
    double v = 0;
    std::memcpy(&v, &bits, sizeof v);
    return v;
  }
  // XLWideString: a count of UTF-16 units, then the units. 0xFFFFFFFF = null (XLNullableWideString).
  std::string wide_string() {
    const uint32_t units = u32();
    if (failed_ || units == 0xFFFFFFFFu) return {};
    if (units > (data_.size() - at_) / 2) return static_cast<void>(fail()), std::string();
    const std::string_view raw = data_.substr(at_, size_t{units} * 2);
    at_ += raw.size();
    return sanitize_utf8(utf16_to_utf8(raw, false));
  }
  void skip(size_t n) { at_ + n > data_.size() ? static_cast<void>(fail()) : static_cast<void>(at_ += n); }
  bool failed() const { return failed_; }

 private:
  uint32_t fail() {
    failed_ = true;
    at_ = data_.size();
    return 0;
  }
  std::string_view data_;
  size_t at_ = 0;
  bool failed_ = false;
};

struct RecordView {
  uint32_t type = 0;
  std::string_view data;
};

// Splits a BIFF12 stream: type in 1-2 bytes and size in 1-4 bytes, 7 bits each,
// high bit = "another byte follows". kCorruptInput when a record overruns the part.
class RecordStream {
 public:
  RecordStream(std::string_view bytes, std::string_view part) : bytes_(bytes), part_(part) {}
  // False at the end; `status()` says whether the end was clean.
  bool next(RecordView& out) {
    if (at_ >= bytes_.size()) return false;
    uint32_t type = 0, size = 0;
    if (!varint(2, type) || !varint(4, size) || size > bytes_.size() - at_) {
      status_ = error(ErrorCode::kCorruptInput, "Excel binary workbook is damaged: a record in " + std::string(part_) +
                                                    " runs past the end of the part");
      return false;
    }
    out = {type, bytes_.substr(at_, size)};
    at_ += size;
    return true;
  }
  const Status& status() const { return status_; }

 private:
  bool varint(int max_bytes, uint32_t& value) {
    for (int i = 0; i < max_bytes; ++i) {
      if (at_ >= bytes_.size()) return false;
      const auto byte = static_cast<unsigned char>(bytes_[at_++]);
      value |= static_cast<uint32_t>(byte & 0x7F) << (7 * i);
      if ((byte & 0x80) == 0) return true;
    }
    return false;
  }
  std::string_view bytes_;
  std::string_view part_;
  size_t at_ = 0;
  Status status_ = Status::ok();
};

std::string number_text(double v) {
  if (!std::isfinite(v)) return "#NUM!";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.15g", v);  // the digits Excel shows for a stored double
  return buf;
}

// RkNumber: 30 bits of an integer or of a double's high word, optionally x100.
std::string rk_text(uint32_t rk) {
  double v = 0;
  if (rk & 0x2u) {
    v = static_cast<double>(static_cast<int32_t>(rk) >> 2);
  } else {
    const uint64_t bits = static_cast<uint64_t>(rk & 0xFFFFFFFCu) << 32;
    std::memcpy(&v, &bits, sizeof v);
  }
  return number_text(rk & 0x1u ? v / 100 : v);
}

std::string error_text(uint8_t code) {
  switch (code) {
    case 0x00: return "#NULL!";
    case 0x07: return "#DIV/0!";
    case 0x0F: return "#VALUE!";
    case 0x17: return "#REF!";
    case 0x1D: return "#NAME?";
    case 0x24: return "#NUM!";
    case 0x2A: return "#N/A";
    default: return "#ERROR";
  }
}

// The value of a cell record (after its Cell header), "" for blanks.
std::string cell_value(uint32_t type, Fields& f, const std::vector<std::string>& strings) {
  if (type >= kShortBlank && type <= kShortIsst) type -= kShortBlank - kCellBlank;  // same value layouts
  switch (type) {
    case kCellRk: return rk_text(f.u32());
    case kCellReal: case kFmlaNum: return number_text(f.f64());
    case kCellBool: case kFmlaBool: return f.u8() != 0 ? "TRUE" : "FALSE";
    case kCellError: case kFmlaError: return error_text(f.u8());
    case kCellSt: case kFmlaString: return f.wide_string();
    case kCellRString: f.skip(1); return f.wide_string();  // RichStr: flags byte, then the text
    case kCellIsst: {
      const uint32_t index = f.u32();
      return index < strings.size() ? strings[index] : "";
    }
    default: return "";
  }
}

bool is_cell(uint32_t type) { return (type >= kCellBlank && type <= kShortIsst) || type == kCellRString; }
bool is_short_cell(uint32_t type) { return type >= kShortBlank && type <= kShortIsst; }

Result<std::vector<std::string>> shared_strings(std::string_view bytes, std::string_view part) {
  std::vector<std::string> out;
  RecordStream records(bytes, part);
  for (RecordView r; records.next(r);) {
    if (r.type != kSstItem) continue;
    Fields f(r.data);
    f.skip(1);  // RichStr flags: runs and phonetic data follow the text and are not needed
    out.push_back(f.wide_string());
  }
  if (!records.status().is_ok()) return records.status();
  return out;
}

struct Sheet {
  std::string name;
  std::string rel_id;
};

Result<std::vector<Sheet>> sheet_list(std::string_view bytes, std::string_view part) {
  std::vector<Sheet> out;
  RecordStream records(bytes, part);
  for (RecordView r; records.next(r);) {
    if (r.type != kBundleSh) continue;
    // hsState (visibility) and iTabID (never 0) precede the relationship id and
    // name; Excel's own files (the corpus's testEXCEL.xlsb) have four more zero
    // bytes before iTabID than SheetJS writes, so a zero there means that layout.
    const bool excel_2007 = Fields(r.data.substr(std::min<size_t>(4, r.data.size()))).u32() == 0;
    Fields f(r.data);
    f.skip(excel_2007 ? 12 : 8);
    Sheet sheet;
    sheet.rel_id = f.wide_string();
    sheet.name = f.wide_string();
    if (!f.failed()) out.push_back(std::move(sheet));
  }
  if (!records.status().is_ok()) return records.status();
  return out;
}

// Rows of one worksheet part into `table`, cells padded to their columns.
Status read_sheet(std::string_view bytes, std::string_view part, const std::vector<std::string>& strings,
                  TableRows& table) {
  RecordStream records(bytes, part);
  std::vector<std::string> row;
  bool in_data = false;
  for (RecordView r; records.next(r);) {
    if (r.type == kBeginSheetData) in_data = true;
    if (r.type == kEndSheetData) break;
    if (!in_data) continue;
    if (r.type == kRowHdr) {
      table.add(std::move(row));
      row.clear();
      continue;
    }
    if (!is_cell(r.type)) continue;
    Fields f(r.data);
    const uint32_t col = is_short_cell(r.type) ? static_cast<uint32_t>(row.size()) : f.u32();
    f.skip(4);  // style index and flags
    std::string value = cell_value(r.type, f, strings);
    if (f.failed()) continue;  // a short record: skip the cell, keep the row
    if (col > row.size() && col - row.size() <= kMaxPaddedGap) row.resize(col);
    if (col < row.size()) continue;  // out of order or repeated column
    row.push_back(collapse_whitespace(value));
  }
  table.add(std::move(row));
  return records.status();
}

}  // namespace

Result<ParsedDocument> parse_xlsb(std::string_view bytes, const ParseContext& ctx) {
  auto opened = Package::open(bytes, ctx);
  if (!opened.is_ok()) return opened.status();
  Package& pkg = **opened;
  const std::string main = pkg.main_part("xl/workbook.bin");
  auto workbook = pkg.read(main);
  if (!workbook.is_ok()) return workbook.status();
  auto sheets = sheet_list(*workbook, main);
  if (!sheets.is_ok()) return sheets.status();

  std::vector<std::string> strings;
  const std::string strings_part = pkg.related(main, "sharedStrings", "xl/sharedStrings.bin");
  if (pkg.has(strings_part)) {
    auto raw = pkg.read(strings_part);
    if (!raw.is_ok()) return raw.status();
    auto parsed = shared_strings(*raw, strings_part);
    if (!parsed.is_ok()) return parsed.status();
    strings = std::move(parsed).value();
  }
  if (static_cast<long long>(sheets->size()) > ctx.limits().max_pages) {
    return error(ErrorCode::kTooLarge, "workbook has " + std::to_string(sheets->size()) +
                                           " sheets, more than the limit of " + std::to_string(ctx.limits().max_pages));
  }
  const auto rels = pkg.relationships(main);
  ParsedDocument doc;
  doc.title = pkg.core_title();
  doc.page_count = static_cast<int>(sheets->size());
  BlockSink sink(doc);
  for (size_t i = 0; i < sheets->size(); ++i) {
    const int page = static_cast<int>(i + 1);
    KR_RETURN_IF_ERROR(ctx.check_deadline("reading sheet " + std::to_string(page)));
    std::string part;
    for (const auto& rel : rels) {
      if (rel.id == (*sheets)[i].rel_id) part = rel.target;
    }
    if (part.empty() || !pkg.has(part)) continue;  // chart and dialog sheets have no cells
    auto raw = pkg.read(part);
    if (!raw.is_ok()) return raw.status();
    sink.set_path({(*sheets)[i].name});
    TableRows table(sink, TableRows::Header::kDetect, page);
    KR_RETURN_IF_ERROR(read_sheet(*raw, part, strings, table));
    table.finish();
  }
  return doc;
}

}  // namespace kr::parse::internal
