#include "api/multipart_reader.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace kr::api {
namespace {

struct Part {
  MultipartPartHeader header;
  std::string data;
  bool ended = false;
};

class RecordingSink : public MultipartSink {
 public:
  Status begin_part(const MultipartPartHeader& header) override {
    parts.push_back({header, "", false});
    return Status::ok();
  }
  Status part_data(std::string_view bytes) override {
    parts.back().data.append(bytes);
    ++data_calls;
    return Status::ok();
  }
  Status end_part() override {
    parts.back().ended = true;
    return Status::ok();
  }
  std::vector<Part> parts;
  size_t data_calls = 0;
};

constexpr std::string_view kBoundary = "XyZ--b0und";

// A body with a preamble, a form field, a file whose content looks almost like
// a delimiter (CR, LF, "--" and a boundary prefix), an empty file, and an epilogue.
std::string sample_body() {
  return "preamble to ignore\r\n"
         "--XyZ--b0und\r\n"
         "Content-Disposition: form-data; name=\"metadata\"\r\n"
         "\r\n"
         "{\"team\":\"hr\"}\r\n"
         "--XyZ--b0und\r\n"
         "content-disposition: form-data; name=\"file\"; filename=\"a \\\"b\\\".txt\"\r\n"
         "Content-Type: text/plain\r\n"
         "\r\n"
         "line one\r\n--XyZ--b0un\r\n\r\n-\r--XyZ\n--\r\n"
         "\r\n"
         "--XyZ--b0und   \r\n"
         "Content-Disposition: form-data; name=\"file\"; filename=\"empty.csv\"\r\n"
         "\r\n"
         "\r\n"
         "--XyZ--b0und--\r\n"
         "epilogue --XyZ--b0und\r\n";
}

void expect_sample(const RecordingSink& sink) {
  ASSERT_EQ(sink.parts.size(), 3u);
  EXPECT_EQ(sink.parts[0].header.name, "metadata");
  EXPECT_FALSE(sink.parts[0].header.has_filename);
  EXPECT_EQ(sink.parts[0].data, "{\"team\":\"hr\"}");
  EXPECT_EQ(sink.parts[1].header.name, "file");
  EXPECT_EQ(sink.parts[1].header.filename, "a \"b\".txt");
  EXPECT_EQ(sink.parts[1].header.content_type, "text/plain");
  EXPECT_EQ(sink.parts[1].data, "line one\r\n--XyZ--b0un\r\n\r\n-\r--XyZ\n--\r\n");
  EXPECT_EQ(sink.parts[2].header.filename, "empty.csv");
  EXPECT_EQ(sink.parts[2].data, "");
  for (const auto& part : sink.parts) EXPECT_TRUE(part.ended);
}

Status parse_in_pieces(std::string_view body, const std::vector<size_t>& cuts, RecordingSink& sink,
                       MultipartLimits limits = {}) {
  MultipartReader reader(kBoundary, limits, sink);
  size_t from = 0;
  for (size_t cut : cuts) {
    KR_RETURN_IF_ERROR(reader.feed(body.substr(from, cut - from)));
    from = cut;
  }
  KR_RETURN_IF_ERROR(reader.feed(body.substr(from)));
  return reader.finish();
}

TEST(MultipartReaderTest, WholeBody) {
  RecordingSink sink;
  ASSERT_TRUE(parse_in_pieces(sample_body(), {}, sink).is_ok());
  expect_sample(sink);
}

TEST(MultipartReaderTest, SplitAtEveryOffset) {
  const std::string body = sample_body();
  for (size_t cut = 0; cut <= body.size(); ++cut) {
    RecordingSink sink;
    ASSERT_TRUE(parse_in_pieces(body, {cut}, sink).is_ok()) << "cut at " << cut;
    expect_sample(sink);
  }
}

TEST(MultipartReaderTest, SplitAtEveryPairOfOffsets) {
  const std::string body = sample_body();
  for (size_t a = 0; a <= body.size(); a += 3) {
    for (size_t b = a; b <= body.size(); ++b) {
      RecordingSink sink;
      ASSERT_TRUE(parse_in_pieces(body, {a, b}, sink).is_ok()) << "cuts at " << a << ", " << b;
      expect_sample(sink);
    }
  }
}

TEST(MultipartReaderTest, OneByteAtATime) {
  const std::string body = sample_body();
  std::vector<size_t> cuts;
  for (size_t i = 1; i < body.size(); ++i) cuts.push_back(i);
  RecordingSink sink;
  ASSERT_TRUE(parse_in_pieces(body, cuts, sink).is_ok());
  expect_sample(sink);
}

TEST(MultipartReaderTest, BodyStartingWithDelimiterAndNoEpilogue) {
  const std::string body =
      "--XyZ--b0und\r\nContent-Disposition: form-data; name=\"f\"; filename*=UTF-8''r%C3%A9sum%C3%A9.txt\r\n\r\n"
      "\r\n\r\n--XyZ--b0und--";
  RecordingSink sink;
  ASSERT_TRUE(parse_in_pieces(body, {}, sink).is_ok());
  ASSERT_EQ(sink.parts.size(), 1u);
  EXPECT_EQ(sink.parts[0].header.filename, "r\xC3\xA9sum\xC3\xA9.txt");
  EXPECT_EQ(sink.parts[0].data, "\r\n");  // CRLFs in the content are content; the last one belongs to the delimiter
}

TEST(MultipartReaderTest, LargePartIsStreamedNotBuffered) {
  const std::string content(1 << 20, 'a');
  const std::string body = "--XyZ--b0und\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big\"\r\n\r\n" +
                           content + "\r\n--XyZ--b0und--\r\n";
  RecordingSink sink;
  MultipartReader reader(kBoundary, {}, sink);
  for (size_t i = 0; i < body.size(); i += 4096) {
    ASSERT_TRUE(reader.feed(std::string_view(body).substr(i, 4096)).is_ok());
  }
  ASSERT_TRUE(reader.finish().is_ok());
  ASSERT_EQ(sink.parts.size(), 1u);
  EXPECT_EQ(sink.parts[0].data, content);
  EXPECT_GE(sink.data_calls, content.size() / 4096);  // handed on as it arrived
}

Status parse_whole(std::string_view body, MultipartLimits limits = {}) {
  RecordingSink sink;
  return parse_in_pieces(body, {}, sink, limits);
}

TEST(MultipartReaderTest, TruncatedBody) {
  const std::string body = sample_body();
  const size_t closing = body.find("--XyZ--b0und--");
  for (size_t end : {size_t{0}, size_t{5}, size_t{40}, body.find("line one"), closing, closing + 13}) {
    Status status = parse_whole(std::string_view(body).substr(0, end));
    ASSERT_FALSE(status.is_ok()) << "ended at " << end;
    EXPECT_EQ(status.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(status.message().find(end < 30 ? "no boundary line" : "truncated"), std::string::npos)
        << status.message();
  }
}

TEST(MultipartReaderTest, BareLfLineEndingsAreRejected) {
  Status status = parse_whole("--XyZ--b0und\nContent-Disposition: form-data; name=\"a\"\n\nx\n--XyZ--b0und--\n");
  EXPECT_EQ(status.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(status.message().find("CRLF"), std::string::npos);
}

TEST(MultipartReaderTest, PartWithoutDispositionOrName) {
  Status no_headers = parse_whole("--XyZ--b0und\r\n\r\nx\r\n--XyZ--b0und--");
  EXPECT_EQ(no_headers.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(no_headers.message().find("Content-Disposition"), std::string::npos);
  Status no_name = parse_whole("--XyZ--b0und\r\nContent-Disposition: form-data\r\n\r\nx\r\n--XyZ--b0und--");
  EXPECT_NE(no_name.message().find("no field name"), std::string::npos);
  Status bad_line = parse_whole("--XyZ--b0und\r\nnonsense\r\n\r\nx\r\n--XyZ--b0und--");
  EXPECT_NE(bad_line.message().find("Name: value"), std::string::npos);
  Status quote = parse_whole("--XyZ--b0und\r\nContent-Disposition: form-data; name=\"a\r\n\r\nx\r\n--XyZ--b0und--");
  EXPECT_NE(quote.message().find("unterminated quote"), std::string::npos);
}

TEST(MultipartReaderTest, HeaderBlockLimit) {
  MultipartLimits limits;
  limits.max_header_bytes = 100;
  const std::string long_header =
      "--XyZ--b0und\r\nContent-Disposition: form-data; name=\"a\"\r\nX-Pad: " + std::string(200, 'p') +
      "\r\n\r\nx\r\n--XyZ--b0und--";
  Status status = parse_whole(long_header, limits);
  EXPECT_EQ(status.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(status.message().find("header block longer than 100 bytes"), std::string::npos);
  // Never terminated: rejected once the limit is passed, without waiting for the end.
  RecordingSink sink;
  MultipartReader reader(kBoundary, limits, sink);
  ASSERT_TRUE(reader.feed("--XyZ--b0und\r\nContent-Disposition: form-data; name=\"a\"\r\n").is_ok());
  EXPECT_FALSE(reader.feed(std::string(100, 'h')).is_ok());
}

TEST(MultipartReaderTest, PartCountLimit) {
  MultipartLimits limits;
  limits.max_parts = 2;
  std::string body;
  for (int i = 0; i < 3; ++i) body += "--XyZ--b0und\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nv\r\n";
  Status status = parse_whole(body + "--XyZ--b0und--", limits);
  EXPECT_EQ(status.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(status.message().find("too many parts"), std::string::npos);
  std::string two;
  for (int i = 0; i < 2; ++i) two += "--XyZ--b0und\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nv\r\n";
  EXPECT_TRUE(parse_whole(two + "--XyZ--b0und--", limits).is_ok());
}

TEST(MultipartReaderTest, PartAndTotalSizeLimits) {
  const std::string body =
      "--XyZ--b0und\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x\"\r\n\r\n0123456789\r\n--XyZ--b0und--";
  MultipartLimits part_limit;
  part_limit.max_part_bytes = 10;
  EXPECT_TRUE(parse_whole(body, part_limit).is_ok());
  part_limit.max_part_bytes = 9;
  EXPECT_EQ(parse_whole(body, part_limit).code(), ErrorCode::kTooLarge);
  MultipartLimits total_limit;
  total_limit.max_total_bytes = static_cast<int64_t>(body.size());
  EXPECT_TRUE(parse_whole(body, total_limit).is_ok());
  total_limit.max_total_bytes -= 1;
  EXPECT_EQ(parse_whole(body, total_limit).code(), ErrorCode::kTooLarge);
}

TEST(MultipartReaderTest, SinkErrorStopsTheParse) {
  struct FullDisk : RecordingSink {
    Status part_data(std::string_view) override { return error(ErrorCode::kInsufficientStorage, "disk full"); }
  } sink;
  MultipartReader reader(kBoundary, {}, sink);
  Status status = reader.feed(sample_body());
  EXPECT_EQ(status.code(), ErrorCode::kInsufficientStorage);
  EXPECT_FALSE(reader.feed("more").is_ok());
  EXPECT_FALSE(reader.finish().is_ok());
}

TEST(MultipartReaderTest, BoundaryFromContentType) {
  EXPECT_EQ(multipart_boundary("multipart/form-data; boundary=abc").value(), "abc");
  EXPECT_EQ(multipart_boundary("Multipart/Form-Data; charset=utf-8; BOUNDARY=\"a b;c\"").value(), "a b;c");
  EXPECT_EQ(multipart_boundary("application/json").status().code(), ErrorCode::kUnsupported);
  Status missing = multipart_boundary("multipart/form-data").status();
  EXPECT_EQ(missing.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(missing.message().find("without a boundary"), std::string::npos);
  EXPECT_EQ(multipart_boundary("multipart/form-data; boundary=").status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(multipart_boundary("multipart/form-data; boundary=" + std::string(71, 'b')).status().code(),
            ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace kr::api
