// The response parser on responses recorded from a real Prometheus 2.42 (tests/data/README.txt).
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>

#include "response_parser.h"
#include "test_support.h"

namespace wva::prometheus {
namespace {

using testing::read_file;

QueryResponse parse_file(const std::string& name) {
  const std::string body = read_file(std::string(PROM_TEST_DATA) + "/" + name);
  EXPECT_FALSE(body.empty()) << name;
  ParseError err;
  auto r = parse_response(body, &err);
  EXPECT_TRUE(r.has_value()) << name << ": " << err.to_string();
  return r.value_or(QueryResponse{});
}

TEST(Parser, RecordedVector) {
  auto r = parse_file("vector_kv.json");
  EXPECT_TRUE(r.success);
  EXPECT_EQ(r.result_type, ResultType::kVector);
  ASSERT_EQ(r.samples.size(), 3u);
  EXPECT_EQ(*r.samples[0].label("pod"), "llama-a100-0");
  EXPECT_EQ(*r.samples[0].label("model_name"), "meta/llama-3.1-8b");
  EXPECT_EQ(*r.samples[0].label("namespace"), "llm");
  EXPECT_EQ(r.samples[0].label("job"), nullptr);
  EXPECT_DOUBLE_EQ(r.samples[0].value, 0.0);  // a real 0, present
  EXPECT_DOUBLE_EQ(r.samples[1].value, 0.5);
  EXPECT_DOUBLE_EQ(r.samples[2].value, 0.25);
  EXPECT_NEAR(r.samples[1].timestamp, 1795808585.050, 1e-3);
}

TEST(Parser, RecordedNaNAndInfinities) {
  auto r = parse_file("vector_nan_inf.json");
  ASSERT_EQ(r.samples.size(), 3u);
  int nan = 0, inf = 0, finite = 0;
  for (const auto& s : r.samples) {
    if (std::isnan(s.value)) ++nan;
    else if (std::isinf(s.value) && s.value > 0) ++inf;
    else if (std::isfinite(s.value)) ++finite;
    EXPECT_EQ(*s.label("__name__"), "vllm:num_requests_waiting");
  }
  EXPECT_EQ(nan, 1);
  EXPECT_EQ(inf, 1);
  EXPECT_EQ(finite, 1);
  auto n = parse_file("vector_neg_inf.json");
  bool neg = false;
  for (const auto& s : n.samples) neg = neg || (std::isinf(s.value) && s.value < 0);
  EXPECT_TRUE(neg);
}

TEST(Parser, RecordedEmptyVector) {
  auto r = parse_file("vector_empty.json");
  EXPECT_TRUE(r.success);
  EXPECT_EQ(r.result_type, ResultType::kVector);
  EXPECT_TRUE(r.samples.empty());
}

TEST(Parser, RecordedErrors) {
  auto bad = parse_file("error_bad_data.json");
  EXPECT_FALSE(bad.success);
  EXPECT_EQ(bad.error_type, "bad_data");
  EXPECT_NE(bad.error.find("parse error"), std::string::npos);
  auto exec = parse_file("error_execution.json");
  EXPECT_FALSE(exec.success);
  EXPECT_EQ(exec.error_type, "execution");
  // Escaped quotes inside the message are decoded.
  EXPECT_NE(exec.error.find("__name__=\"vllm:num_requests_running\""), std::string::npos);
}

TEST(Parser, RecordedScalarMatrixString) {
  auto s = parse_file("scalar.json");
  EXPECT_EQ(s.result_type, ResultType::kScalar);
  ASSERT_EQ(s.samples.size(), 1u);
  EXPECT_TRUE(s.samples[0].labels.empty());
  EXPECT_DOUBLE_EQ(s.samples[0].value, 7.0);

  auto m = parse_file("matrix.json");
  EXPECT_EQ(m.result_type, ResultType::kMatrix);
  ASSERT_EQ(m.samples.size(), 1u);
  EXPECT_NEAR(m.samples[0].timestamp, 1795808585.012, 1e-3);  // the last point

  auto str = parse_file("string.json");
  EXPECT_EQ(str.result_type, ResultType::kString);
  EXPECT_TRUE(str.samples.empty());
}

TEST(Parser, RecordedBatchedQueryCarriesSignalLabel) {
  auto r = parse_file("batched.json");
  std::map<std::string, int> per_signal;
  for (const auto& s : r.samples) per_signal[*s.label("wva_signal")]++;
  EXPECT_EQ(per_signal["kvCacheUsage"], 3);
  EXPECT_EQ(per_signal["waiting"], 3);
  EXPECT_EQ(per_signal["kvCapacity"], 1);
  EXPECT_EQ(per_signal["sampleTime"], 3);
}

TEST(Parser, Warnings) {
  auto r = parse_file("warnings.json");
  EXPECT_TRUE(r.success);
  ASSERT_EQ(r.warnings.size(), 3u);
  EXPECT_EQ(r.warnings[0], "remote read failed: store gateway unavailable");
  EXPECT_EQ(r.warnings[2], "info: PromQL info: metric might not be a counter");
  EXPECT_EQ(r.samples.size(), 1u);
}

TEST(Parser, KeysInAnyOrderAndUnknownFieldsSkipped) {
  const std::string body =
      R"({"data":{"result":[{"value":[1.5,"2"],"histogram":[1,{"count":"3","buckets":[[0,"1","2","3"]]}],)"
      R"("metric":{"pod":"p\u00e9\"x\\y"}}],"resultType":"vector","stats":{"a":[true,false,null]}},)"
      R"("status":"success","extra":{"deep":[[[[]]]]}})";
  auto r = parse_response(body);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->samples.size(), 1u);
  EXPECT_EQ(*r->samples[0].label("pod"), "p\xc3\xa9\"x\\y");
  EXPECT_DOUBLE_EQ(r->samples[0].value, 2.0);
  EXPECT_DOUBLE_EQ(r->samples[0].timestamp, 1.5);
}

TEST(Parser, SurrogatePairsAndLoneSurrogates) {
  auto r = parse_response(R"({"status":"success","data":{"resultType":"vector","result":[)"
                          R"({"metric":{"a":"\ud83d\ude00","b":"\ud800x"},"value":[1,"1"]}]}})");
  ASSERT_TRUE(r);
  EXPECT_EQ(*r->samples[0].label("a"), "\xF0\x9F\x98\x80");
  EXPECT_EQ(*r->samples[0].label("b"), "\xEF\xBF\xBDx");
}

TEST(Parser, RejectsMalformedInput) {
  const char* bad[] = {
      "",
      "null",
      "[]",
      "{",
      R"({"status":"success")",
      R"({"status":"success"} x)",
      R"({"data":{"resultType":"vector","result":[]}})",  // no status
      R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"abc"]}]}})",
      R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,2]}]}})",
      R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":1},"value":[1,"2"]}]}})",
      R"({"status":"success","data":{"resultType":"bogus","result":[]}})",
      R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"1"]},]}})",
      R"({"status":"succ)",
      "{\"status\":\"a\tb\"}",
      R"({"status":"success","x":01.})",
      R"({"status":"success","x":"\q"})",
      R"({"status":"success","x":"\u12"})",
      R"({"status":"success","data":{"resultType":"scalar","result":[1,"inf"]}})",
  };
  for (const char* b : bad) {
    ParseError err;
    EXPECT_FALSE(parse_response(b, &err).has_value()) << b;
    EXPECT_FALSE(err.message.empty()) << b;
  }
}

TEST(Parser, DepthIsBounded) {
  std::string deep = R"({"status":"success","x":)";
  for (int i = 0; i < 100000; ++i) deep += '[';
  ParseError err;
  EXPECT_FALSE(parse_response(deep, &err));
  EXPECT_EQ(err.message, "nesting too deep");
  std::string ok = R"({"status":"success","x":)";
  for (int i = 0; i < 50; ++i) ok += '[';
  for (int i = 0; i < 50; ++i) ok += ']';
  ok += "}";
  EXPECT_TRUE(parse_response(ok));
}

TEST(Parser, SampleValues) {
  EXPECT_DOUBLE_EQ(*parse_sample_value("0"), 0.0);
  EXPECT_DOUBLE_EQ(*parse_sample_value("-1.5e3"), -1500.0);
  EXPECT_DOUBLE_EQ(*parse_sample_value("+2"), 2.0);
  EXPECT_DOUBLE_EQ(*parse_sample_value(".5"), 0.5);
  EXPECT_TRUE(std::isnan(*parse_sample_value("NaN")));
  EXPECT_EQ(*parse_sample_value("+Inf"), HUGE_VAL);
  EXPECT_EQ(*parse_sample_value("-Inf"), -HUGE_VAL);
  EXPECT_EQ(*parse_sample_value("1e999"), HUGE_VAL);
  EXPECT_EQ(*parse_sample_value("1e-999"), 0.0);
  EXPECT_FALSE(parse_sample_value(""));
  EXPECT_FALSE(parse_sample_value("nan"));
  EXPECT_FALSE(parse_sample_value("inf"));
  EXPECT_FALSE(parse_sample_value("1x"));
  EXPECT_FALSE(parse_sample_value("+"));
}

// A 20 MB response (about 150,000 series) parses completely; time is reported, not asserted.
TEST(Parser, TwentyMegabyteResponse) {
  std::string body = R"({"status":"success","data":{"resultType":"vector","result":[)";
  std::size_t n = 0;
  while (body.size() < 20u * 1024 * 1024) {
    if (n) body += ',';
    body += R"({"metric":{"model_name":"org/model-)" + std::to_string(n % 1000) + R"(","namespace":"tenant-)" +
            std::to_string(n % 37) + R"(","pod":"model-)" + std::to_string(n) +
            R"(-h100-7c9f8d6b5-x2k4q","wva_signal":"kvCacheUsage"},"value":[1795808585.05,")" +
            std::to_string((n % 100) / 100.0) + "\"]}";
    ++n;
  }
  body += "]}}";
  const auto t0 = std::chrono::steady_clock::now();
  auto r = parse_response(body);
  const auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(r);
  ASSERT_EQ(r->samples.size(), n);
  EXPECT_EQ(*r->samples[n - 1].label("pod"), "model-" + std::to_string(n - 1) + "-h100-7c9f8d6b5-x2k4q");
  EXPECT_DOUBLE_EQ(r->samples[99].value, 0.99);
  RecordProperty("bytes", std::to_string(body.size()));
  RecordProperty("parse_ms", std::to_string(ms));
  std::printf("20 MB response: %zu series parsed in %.1f ms\n", n, ms);
}

}  // namespace
}  // namespace wva::prometheus
