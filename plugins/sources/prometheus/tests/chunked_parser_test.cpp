// The chunked parser against the whole-body parser: on every recorded fixture and fuzz seed, every
// truncation and a bounded set of byte mutations of them, and random batched responses, cut into chunks
// of random sizes (1 byte up to the whole body), both accept or refuse the same bodies and hand over the
// same series in the same order with the same header; and it keeps at most about one series of a large
// response, not the response.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <random>
#include <set>

#include "chunked_parser.h"
#include "response_parser.h"
#include "test_support.h"

namespace wva::prometheus {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> fixtures() {
  std::vector<std::string> out;
  for (const char* dir : {PROM_TEST_DATA, PROM_FUZZ_CORPUS}) {
    std::set<fs::path> files;
    for (const auto& e : fs::directory_iterator(dir))
      if (e.is_regular_file() && e.path().filename() != "README.txt") files.insert(e.path());
    for (const auto& f : files) out.push_back(testing::read_file(f.string()));
  }
  return out;
}

bool same_number(double a, double b) { return (std::isnan(a) && std::isnan(b)) || a == b; }

std::optional<QueryResponse> parse_chunked(const std::string& body, std::mt19937& rng, std::size_t max_chunk,
                                           ParseError* error) {
  SampleCollector collector;
  ChunkedResponseParser parser(collector);
  std::uniform_int_distribution<std::size_t> size(1, std::max<std::size_t>(1, max_chunk));
  for (std::size_t at = 0; at < body.size();) {
    const std::size_t n = std::min(size(rng), body.size() - at);
    if (!parser.feed(std::string_view(body).substr(at, n))) break;
    at += n;
  }
  auto header = parser.finish(error);
  if (!header) return std::nullopt;
  return collector.into_response(std::move(*header));
}

// "" when both agree on `body`, else what differs.
std::string compare(const std::string& body, std::mt19937& rng, std::size_t max_chunk) {
  ParseError whole_err, chunked_err;
  const auto want = parse_response(body, &whole_err);
  const auto got = parse_chunked(body, rng, max_chunk, &chunked_err);
  if (got.has_value() != want.has_value())
    return std::string("accepted by ") + (got ? "the chunked parser only: " + whole_err.to_string()
                                              : "the whole-body parser only: " + chunked_err.to_string());
  if (!got) return chunked_err.message.empty() ? "no error message" : "";
  if (got->success != want->success || got->error_type != want->error_type || got->error != want->error ||
      got->warnings != want->warnings || got->result_type != want->result_type)
    return "header differs";
  if (got->samples.size() != want->samples.size())
    return "sample count " + std::to_string(got->samples.size()) + " vs " + std::to_string(want->samples.size());
  for (std::size_t i = 0; i < got->samples.size(); ++i) {
    const auto& a = got->samples[i];
    const auto& b = want->samples[i];
    if (a.labels != b.labels || !same_number(a.value, b.value) || !same_number(a.timestamp, b.timestamp))
      return "sample " + std::to_string(i) + " differs";
  }
  return {};
}

std::string random_response(std::mt19937& rng, std::size_t series) {
  std::uniform_int_distribution<int> pick(0, 9);
  std::string out = R"({"status":"success",)";
  if (pick(rng) < 2) out += R"("warnings":["w1"],)";
  const bool matrix = pick(rng) < 2;
  const bool type_first = pick(rng) < 7;
  std::string type = matrix ? R"("resultType":"matrix")" : R"("resultType":"vector")";
  out += R"("data":{)";
  if (type_first) out += type + ",";
  out += R"("result": [ )";
  for (std::size_t i = 0; i < series; ++i) {
    if (i) out += pick(rng) < 5 ? "," : " ,\n ";
    std::string metric = R"("metric":{"__name__":"vllm:kv_cache_usage_perc","namespace":"ns)" + std::to_string(i % 7) +
                         R"(","pod":"pod-)" + std::to_string(i) + "\"";
    if (pick(rng) == 0) metric += R"(,"esc":"a\"b\\c\u00e9\ud83d\ude00")";
    metric += "}";
    const std::string v = std::to_string(pick(rng)) + "." + std::to_string(i);
    const std::string ts = pick(rng) == 0 ? "\"1700000000.5\"" : "1700000000.5";
    std::string value = matrix ? R"("values":[[1700000000,")" + v + R"("],[)" + ts + ",\"" + v + "1\"]]"
                               : R"("value":[)" + ts + ",\"" + (pick(rng) == 0 ? "NaN" : v) + "\"]";
    if (pick(rng) == 0) value += R"(,"extra":{"a":[1,true,null,{"b":false}]})";
    out += "{" + (pick(rng) < 5 ? metric + "," + value : value + "," + metric) + "}";
  }
  out += "]";
  if (!type_first) out += "," + type;
  out += "}";
  if (pick(rng) < 2) out += R"(,"infos":["i"])";
  out += "}";
  return out;
}

TEST(ChunkedParser, AgreesWithTheWholeBodyParserOnFixturesTruncationsAndMutations) {
  std::mt19937 rng(7);
  const auto inputs = fixtures();
  ASSERT_GE(inputs.size(), 10u);
  const char punct[] = "{}[]\",:\\u0 -+.eEnt";
  std::size_t cases = 0;
  for (const auto& body : inputs) {
    for (std::size_t chunk : {std::size_t{1}, std::size_t{3}, std::size_t{17}, body.size()}) {
      EXPECT_EQ(compare(body, rng, chunk), "") << body;
      ++cases;
    }
    for (std::size_t cut = 0; cut < body.size(); cut += 1 + body.size() / 200) {
      const std::string truncated = body.substr(0, cut);
      EXPECT_EQ(compare(truncated, rng, 1 + cut % 13), "") << truncated;
      ++cases;
    }
    std::uniform_int_distribution<std::size_t> at(0, body.empty() ? 0 : body.size() - 1);
    std::uniform_int_distribution<std::size_t> ch(0, sizeof(punct) - 2);
    for (int m = 0; m < 300 && !body.empty(); ++m) {
      std::string mutated = body;
      if (m % 2) mutated[at(rng)] = punct[ch(rng)];
      else mutated.insert(at(rng), 1, punct[ch(rng)]);
      EXPECT_EQ(compare(mutated, rng, 1 + static_cast<std::size_t>(m) % 29), "") << mutated;
      ++cases;
    }
  }
  EXPECT_GT(cases, 1000u);
}

TEST(ChunkedParser, AgreesWithTheWholeBodyParserOnRandomBatchedResponses) {
  std::mt19937 rng(11);
  for (int round = 0; round < 200; ++round) {
    const std::string body = random_response(rng, static_cast<std::size_t>(round % 40));
    for (std::size_t chunk : {std::size_t{1}, std::size_t{7}, std::size_t{64}, std::size_t{4096}})
      ASSERT_EQ(compare(body, rng, chunk), "") << body;
  }
}

TEST(ChunkedParser, KeepsAboutOneSeriesOfALargeResponse) {
  std::mt19937 rng(3);
  const std::string body = random_response(rng, 20000);
  ASSERT_GT(body.size(), 1'000'000u);
  SampleCollector collector;
  ChunkedResponseParser parser(collector);
  constexpr std::size_t kChunk = 16384;  // libcurl's default write size
  for (std::size_t at = 0; at < body.size(); at += kChunk)
    ASSERT_TRUE(parser.feed(std::string_view(body).substr(at, kChunk)));
  auto header = parser.finish();
  ASSERT_TRUE(header.has_value());
  EXPECT_EQ(collector.into_response(*header).samples.size(), 20000u);
  EXPECT_EQ(parser.bytes(), body.size());
  EXPECT_LT(parser.max_held(), 2 * kChunk) << "the body was kept instead of read while it arrived";
}

TEST(ChunkedParser, AnErrorInASeriesNamesItsOffsetInTheBody) {
  const std::string body = R"({"status":"success","data":{"resultType":"vector","result":[)"
                           R"({"metric":{},"value":[1,"1"]},{"metric":{},"value":[1,"x"]}]}})";
  SampleCollector collector;
  ChunkedResponseParser parser(collector);
  for (char c : body) parser.feed(std::string_view(&c, 1));
  ParseError err;
  ASSERT_FALSE(parser.finish(&err).has_value());
  ParseError whole;
  ASSERT_FALSE(parse_response(body, &whole).has_value());
  EXPECT_EQ(err.offset, whole.offset);
  EXPECT_EQ(err.message, whole.message);
}

}  // namespace
}  // namespace wva::prometheus
