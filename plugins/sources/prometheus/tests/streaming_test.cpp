// The streaming parser against the parser it replaced (reference_parser.*): the same samples and the
// same errors, at the same byte offsets, on every recorded fixture, every fuzz seed, every truncation
// and a bounded set of byte mutations of them; the grouped output is the same; a response that fails
// after some series leaves nothing in the grouper.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <set>

#include "grouping.h"
#include "reference_parser.h"
#include "response_parser.h"
#include "test_support.h"

namespace wva::prometheus {
namespace {

namespace fs = std::filesystem;
using testing::make_model;
using testing::read_file;

std::vector<std::pair<std::string, std::string>> inputs() {
  std::vector<std::pair<std::string, std::string>> out;
  for (const char* dir : {PROM_TEST_DATA, PROM_FUZZ_CORPUS}) {
    std::set<fs::path> files;
    for (const auto& e : fs::directory_iterator(dir))
      if (e.is_regular_file() && e.path().filename() != "README.txt") files.insert(e.path());
    for (const auto& f : files) out.emplace_back(f.filename().string(), read_file(f.string()));
  }
  return out;
}

bool same_number(double a, double b) { return (std::isnan(a) && std::isnan(b)) || a == b; }

// "" when both parsers agree on `body`, else what differs.
std::string compare(const std::string& body) {
  ParseError err;
  reference::ParseError ref_err;
  const auto got = parse_response(body, &err);
  const auto want = reference::parse_response(body, &ref_err);
  if (got.has_value() != want.has_value())
    return std::string("accepted by ") +
           (got ? "the streaming parser only: " + ref_err.to_string() : "the reference only: " + err.to_string());
  if (!got) {
    if (err.message != ref_err.message || err.offset != ref_err.offset)
      return "errors differ: " + err.to_string() + " vs " + ref_err.to_string();
    return {};
  }
  if (got->success != want->success || got->error_type != want->error_type || got->error != want->error ||
      got->warnings != want->warnings || static_cast<int>(got->result_type) != static_cast<int>(want->result_type))
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

TEST(StreamingParser, AgreesWithTheReferenceOnEveryFixtureAndSeed) {
  const auto all = inputs();
  ASSERT_GE(all.size(), 15u);
  for (const auto& [name, body] : all) EXPECT_EQ(compare(body), "") << name;
}

TEST(StreamingParser, AgreesWithTheReferenceOnEveryTruncationAndMutation) {
  // Every prefix reaches the error paths of every position (unterminated strings, escapes, numbers,
  // literals, nesting); the byte substitutions reach the wrong-character paths. Bounded: the fixtures
  // are small and the substitutions a fixed set.
  const std::string subs = "\"\\{}[],:0-.eEnNtfu\x01 x";
  std::size_t cases = 0;
  for (const auto& [name, body] : inputs()) {
    if (body.size() > 20000) continue;
    for (std::size_t n = 0; n <= body.size(); ++n) {
      ++cases;
      ASSERT_EQ(compare(body.substr(0, n)), "") << name << " truncated to " << n << " bytes";
    }
    for (std::size_t i = 0; i < body.size(); i += 3)
      for (char c : subs) {
        std::string m = body;
        m[i] = c;
        ++cases;
        ASSERT_EQ(compare(m), "") << name << " with byte " << i << " = " << static_cast<int>(c);
      }
  }
  EXPECT_GT(cases, 10000u);
}

TEST(StreamingParser, EveryErrorPathKeepsItsMessage) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "empty response"},
      {"[1]", "response is not a JSON object"},
      {R"({"status":"success")", "unexpected end of input, expected '}'"},
      {R"({"status":"success"} x)", "trailing characters after the response"},
      {R"({"data":null})", "response has no \"status\""},
      {R"({"status":"succ\u00)", "truncated \\u escape"},
      {R"({"status":"succ\uZZZZ"})", "invalid \\u escape"},
      {R"({"status":"a\qb"})", "invalid escape in string"},
      {"{\"status\":\"a\x01\"}", "control character in string"},
      {R"({"status":"abc)", "unterminated string"},
      {R"({"status":"success","x":tru})", "invalid literal"},
      {R"({"status":"success","x":-})", "expected a number"},
      {R"({"status":"success","x":1.})", "invalid number"},
      {R"({"status":"success","data":{"resultType":"tensor"}})", "unknown resultType \"tensor\""},
      {R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"x"]}]}})",
       "invalid sample value"},
      {R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":["t","1"]}]}})",
       "invalid timestamp"},
      {R"({"status":"success","data":{"resultType":"scalar","result":[{"metric":{},"value":[1,"1"]}]}})",
       "resultType does not match the result"},
      {R"({"status":"success","data":{"resultType":"scalar","result":[1,"nope"]}})", "invalid sample value"},
      {std::string(70, '[') + "]", "response is not a JSON object"},
      {R"({"status":"success","x":)" + std::string(70, '[') + std::string(70, ']') + "}", "nesting too deep"},
  };
  for (const auto& [body, message] : cases) {
    struct Count : SampleHandler {
      int n = 0;
      void on_sample(const SampleView&) override { ++n; }
    } count;
    ParseError err;
    EXPECT_FALSE(parse_response_stream(body, count, &err).has_value()) << body;
    EXPECT_EQ(err.message, message) << body;
    EXPECT_EQ(compare(body), "") << body;
  }
}

TEST(StreamingParser, LabelsAreViewsIntoTheBodyUnlessEscaped) {
  const std::string body =
      R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{"pod":"p-1","a\"b":"x\ny"},)"
      R"("value":[1.5,"2"]}]}})";
  struct Check : SampleHandler {
    const std::string* body = nullptr;
    int n = 0;
    void on_sample(const SampleView& s) override {
      ++n;
      ASSERT_EQ(s.labels.size(), 2u);
      EXPECT_EQ(s.labels[0].value, "p-1");
      EXPECT_TRUE(s.labels[0].value.data() >= body->data() && s.labels[0].value.data() < body->data() + body->size());
      EXPECT_EQ(s.labels[1].name, "a\"b");  // decoded into the parser's own storage
      EXPECT_EQ(s.labels[1].value, "x\ny");
      EXPECT_DOUBLE_EQ(s.value, 2.0);
      EXPECT_DOUBLE_EQ(s.timestamp, 1.5);
    }
  } check;
  check.body = &body;
  ASSERT_TRUE(parse_response_stream(body, check).has_value());
  EXPECT_EQ(check.n, 1);
}

// The grouper fed by the streaming parser equals the grouper fed by the reference parser's samples.
std::map<sdk::ModelKey, sdk::ModelMetrics> group_streaming(std::span<const sdk::ModelView> models,
                                                           const std::string& body) {
  Grouper g(models, LabelNames{}, Millis(120000));
  g.begin();
  EXPECT_TRUE(parse_response_stream(body, g).has_value());
  g.commit();
  return g.finish(sdk::TimePoint{});
}

std::map<sdk::ModelKey, sdk::ModelMetrics> group_reference(std::span<const sdk::ModelView> models,
                                                           const std::string& body) {
  auto r = reference::parse_response(body);
  EXPECT_TRUE(r.has_value());
  QueryResponse q;
  q.success = r->success;
  for (const auto& s : r->samples) q.samples.push_back(Sample{s.labels, s.value, s.timestamp});
  Grouper g(models, LabelNames{}, Millis(120000));
  g.add(q);
  return g.finish(sdk::TimePoint{});
}

bool same_load(const sdk::Load& a, const sdk::Load& b) {
  return a.arrival_rate == b.arrival_rate && a.avg_input_tokens == b.avg_input_tokens &&
         a.avg_output_tokens == b.avg_output_tokens && a.ttft_ms == b.ttft_ms && a.itl_ms == b.itl_ms &&
         a.prompt_tokens_rate == b.prompt_tokens_rate && a.generation_tokens_rate == b.generation_tokens_rate &&
         a.router_queue == b.router_queue;
}

void expect_same(const std::map<sdk::ModelKey, sdk::ModelMetrics>& a,
                 const std::map<sdk::ModelKey, sdk::ModelMetrics>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [key, m] : a) {
    const auto& n = b.at(key);
    EXPECT_EQ(m.state, n.state) << key.to_string();
    EXPECT_EQ(m.message, n.message) << key.to_string();
    ASSERT_EQ(m.replicas.size(), n.replicas.size()) << key.to_string();
    for (std::size_t i = 0; i < m.replicas.size(); ++i) {
      EXPECT_EQ(m.replicas[i].pod, n.replicas[i].pod);
      EXPECT_EQ(m.replicas[i].variant, n.replicas[i].variant);
      EXPECT_EQ(m.replicas[i].kv_cache_usage, n.replicas[i].kv_cache_usage);
      EXPECT_EQ(m.replicas[i].waiting, n.replicas[i].waiting);
      EXPECT_EQ(m.replicas[i].running, n.replicas[i].running);
      EXPECT_EQ(m.replicas[i].kv_capacity_tokens, n.replicas[i].kv_capacity_tokens);
      EXPECT_EQ(m.replicas[i].sample_time, n.replicas[i].sample_time);
    }
    ASSERT_EQ(m.load_by_variant.size(), n.load_by_variant.size());
    for (const auto& [v, l] : m.load_by_variant) EXPECT_TRUE(same_load(l, n.load_by_variant.at(v))) << v;
    EXPECT_TRUE(same_load(m.load, n.load));
  }
}

TEST(StreamingParser, GroupedOutputEqualsTheReferenceOnTheRecordedBatch) {
  // tests/data/batched.json: the source's batched query recorded from a real Prometheus.
  const std::string body = read_file(std::string(PROM_TEST_DATA) + "/batched.json");
  std::vector<sdk::ModelView> models = {make_model("llm", "meta/llama-3.1-8b", {{"llama-a100", 1}, {"llama-h100", 2}}),
                                        make_model("other", "granite", {{"granite-l40s", 1}})};
  const auto got = group_streaming(models, body);
  expect_same(got, group_reference(models, body));
  EXPECT_EQ(got.at({"llm", "meta/llama-3.1-8b"}).state, sdk::MetricsState::kOk);
  EXPECT_FALSE(got.at({"llm", "meta/llama-3.1-8b"}).replicas.empty());
  for (const auto& f : {"vector_kv.json", "vector_nan_inf.json", "matrix.json"}) {
    const std::string b = read_file(std::string(PROM_TEST_DATA) + "/" + f);
    Grouper s(models, LabelNames{}, Millis(120000)), r(models, LabelNames{}, Millis(120000));
    s.begin(Signal::kKvCacheUsage);
    ASSERT_TRUE(parse_response_stream(b, s).has_value()) << f;
    s.commit();
    QueryResponse q;
    const auto ref = reference::parse_response(b);
    ASSERT_TRUE(ref.has_value()) << f;
    for (const auto& x : ref->samples) q.samples.push_back(Sample{x.labels, x.value, x.timestamp});
    r.add(q, Signal::kKvCacheUsage);
    expect_same(s.finish(sdk::TimePoint{}), r.finish(sdk::TimePoint{}));
  }
}

TEST(StreamingParser, AResponseThatFailsAfterSomeSeriesLeavesNothing) {
  const std::string body = read_file(std::string(PROM_TEST_DATA) + "/batched.json");
  std::vector<sdk::ModelView> models = {make_model("llm", "meta/llama-3.1-8b", {{"llama-a100", 1}, {"llama-h100", 2}}),
                                        make_model("other", "granite", {{"granite-l40s", 1}})};
  Grouper g(models, LabelNames{}, Millis(120000));
  // A body cut in its last series, then a status error after complete data: both rolled back.
  const std::size_t cut = body.rfind("\"metric\"");
  ASSERT_NE(cut, std::string::npos);
  struct Counting : SampleHandler {
    Grouper* g;
    int n = 0;
    void on_sample(const SampleView& s) override {
      ++n;
      g->on_sample(s);
    }
  } counting;
  counting.g = &g;
  g.begin();
  EXPECT_FALSE(parse_response_stream(body.substr(0, cut + 12), counting).has_value());
  EXPECT_GT(counting.n, 0) << "the cut must come after some series";
  g.rollback();
  std::string failed = body;
  failed.replace(failed.find("\"success\""), 9, "\"error\"");
  g.begin();
  auto h = parse_response_stream(failed, g);
  ASSERT_TRUE(h.has_value());
  EXPECT_FALSE(h->success);
  g.rollback();
  // Then the valid response: the same as a grouper that only saw it.
  g.begin();
  ASSERT_TRUE(parse_response_stream(body, g).has_value());
  g.commit();
  expect_same(g.finish(sdk::TimePoint{}), group_streaming(models, body));
  EXPECT_EQ(g.stats().ignored, 0u);
}

}  // namespace
}  // namespace wva::prometheus
