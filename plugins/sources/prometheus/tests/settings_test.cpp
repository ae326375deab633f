#include <gtest/gtest.h>

#include "settings.h"

namespace wva::prometheus {
namespace {

using nlohmann::json;
const std::string kPath = "sources.prometheus";

TEST(Config, MinimalAndDefaults) {
  auto c = parse_config(json{{"url", "http://127.0.0.1:9090/"}}, kPath);
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_EQ(c->url, "http://127.0.0.1:9090");  // trailing slash dropped
  EXPECT_EQ(c->timeout, Millis(10000));
  EXPECT_EQ(c->retries, 2);
  EXPECT_FALSE(c->insecure_skip_verify);
  EXPECT_TRUE(c->batch);
  EXPECT_EQ(c->templates[static_cast<std::size_t>(Signal::kKvCacheUsage)], default_template(Signal::kKvCacheUsage));
}

TEST(Config, FullHttpsConfig) {
  json j = {
      {"url", "https://prometheus-k8s.monitoring:9091/prefix"},
      {"caFile", "/etc/ca.pem"},
      {"certFile", "/etc/tls.crt"},
      {"keyFile", "/etc/tls.key"},
      {"serverName", "prometheus-k8s.monitoring.svc"},
      {"tokenFile", "/var/run/secrets/token"},
      {"headers", {{"X-Scope-OrgID", "tenant-a"}}},
      {"params", {{"dedup", "true"}}},
      {"timeout", "3s"},
      {"retries", 4},
      {"backoff", "250ms"},
      {"staleAfter", "90s"},
      {"namespaces", {"llm", "llm-2"}},
      {"labels", {{"pod", "pod_name"}}},
      {"window", "2m"},
      {"rateWindow", "5m"},
      {"batch", false},
      {"queries", {{"kvCacheUsage", "max by ({{by}}) (vllm:gpu_cache_usage_perc{{selector}})"}, {"arrivals", ""}}}};
  auto c = parse_config(j, kPath);
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_EQ(c->timeout, Millis(3000));
  EXPECT_EQ(c->stale_after, Millis(90000));
  EXPECT_EQ(c->labels.pod, "pod_name");
  EXPECT_EQ(c->namespaces.size(), 2u);
  EXPECT_EQ(c->templates[static_cast<std::size_t>(Signal::kKvCacheUsage)],
            "max by ({{by}}) (vllm:gpu_cache_usage_perc{{selector}})");
  EXPECT_EQ(c->headers.at("X-Scope-OrgID"), "tenant-a");
  EXPECT_FALSE(c->batch);
}

TEST(Config, MissingUrl) {
  auto c = parse_config(json::object(), kPath);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().path, "sources.prometheus.url");
  EXPECT_EQ(c.error().code, sdk::ErrorCode::kInvalidConfig);
}

TEST(Config, BadSchemeAndHost) {
  auto c = parse_config(json{{"url", "ftp://x"}}, kPath);
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("http:// or https://"), std::string::npos);
  auto h = parse_config(json{{"url", "http://:9090"}}, kPath);
  ASSERT_FALSE(h);
  EXPECT_NE(h.error().message.find("no host"), std::string::npos);
}

// The schema's errors come first, all of them; the rules between fields are checked on settings that
// pass the schema, again all of them.
TEST(Config, EveryErrorReportedWithItsPath) {
  json j = {{"url", "http://p:9090"},
            {"timout", "5s"},
            {"caFile", "/ca"},
            {"retries", 99},
            {"staleAfter", "soon"},
            {"insecureSkipVerify", "yes"},
            {"queries", {{"kvCacheUsge", "x"}, {"waiting", "x{{selectr}}"}}},
            {"labels", {{"pod", "bad-name"}}}};
  auto c = parse_config(j, kPath);
  ASSERT_FALSE(c);
  const std::string m = c.error().message;
  EXPECT_EQ(c.error().path, kPath);
  EXPECT_NE(m.find("5 errors"), std::string::npos) << m;
  EXPECT_NE(m.find("sources.prometheus.timout: unknown setting; did you mean \"timeout\"?"), std::string::npos) << m;
  EXPECT_NE(m.find("sources.prometheus.retries: must be a whole number in [0, 10], got 99"), std::string::npos) << m;
  EXPECT_NE(m.find("sources.prometheus.staleAfter: invalid duration \"soon\""), std::string::npos) << m;
  EXPECT_NE(m.find("sources.prometheus.insecureSkipVerify: must be"), std::string::npos) << m;
  EXPECT_NE(m.find("sources.prometheus.queries.kvCacheUsge: unknown setting; did you mean \"kvCacheUsage\"?"),
            std::string::npos)
      << m;

  j.erase("timout");
  j["retries"] = 3;
  j["staleAfter"] = "90s";
  j["insecureSkipVerify"] = false;
  j["queries"].erase("kvCacheUsge");
  auto parsed = parse_settings(j, kPath);
  ASSERT_FALSE(parsed.ok());
  std::vector<std::string> paths;
  for (const auto& e : parsed.errors) paths.push_back(e.path + ": " + e.message);
  ASSERT_EQ(paths.size(), 3u) << ::testing::PrintToString(paths);
  EXPECT_EQ(paths[0], "sources.prometheus.caFile: needs an https:// url");
  EXPECT_EQ(paths[1].rfind("sources.prometheus.labels.pod: \"bad-name\" is not a valid Prometheus label name", 0), 0u)
      << paths[1];
  EXPECT_EQ(paths[2].rfind("sources.prometheus.queries.waiting: unknown placeholder {{selectr}}", 0), 0u) << paths[2];
}

// What validation makes of the settings validates again to the same settings (the host may pass them twice).
TEST(Config, ValidatedSettingsValidateToThemselves) {
  json j = {{"url", "https://p/"}, {"window", "2m"}, {"queries", {{"arrivals", ""}}}, {"timeout", "1.5s"}};
  auto once = sdk::validate_settings(settings_schema(), j, kPath);
  ASSERT_TRUE(once.ok());
  auto twice = sdk::validate_settings(settings_schema(), once.values, kPath);
  ASSERT_TRUE(twice.ok());
  EXPECT_EQ(once.values, twice.values);
  auto c = parse_config(once.values, kPath);
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_EQ(c->timeout, Millis(1500));
  EXPECT_EQ(c->window, "2m");
  EXPECT_TRUE(c->templates[static_cast<std::size_t>(Signal::kArrivals)].empty());
  EXPECT_TRUE(c->custom_template[static_cast<std::size_t>(Signal::kArrivals)]);
  EXPECT_FALSE(c->custom_template[static_cast<std::size_t>(Signal::kWaiting)]);
}

TEST(Config, WindowsAreWholeForPromql) {
  auto c = parse_settings(json{{"url", "http://p"}, {"window", "1.5m"}}, kPath);
  ASSERT_EQ(c.errors.size(), 1u);
  EXPECT_EQ(c.errors[0].path, "sources.prometheus.window");
}

TEST(Config, CertAndKeyTogether) {
  auto c = parse_config(json{{"url", "https://p"}, {"certFile", "/c"}}, kPath);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().path, "sources.prometheus.keyFile");
}

TEST(Config, AuthorizationHeaderConflictsWithTokenFile) {
  auto c = parse_config(json{{"url", "https://p"}, {"tokenFile", "/t"}, {"headers", {{"Authorization", "x"}}}}, kPath);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().path, "sources.prometheus.headers.Authorization");
}

TEST(Config, ReplicaSignalsCannotAllBeDisabled) {
  auto c = parse_config(
      json{{"url", "http://p"}, {"queries", {{"kvCacheUsage", ""}, {"waiting", ""}, {"running", ""}}}}, kPath);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().path, "sources.prometheus.queries");
}

TEST(Config, NotAnObject) {
  auto c = parse_config(json("http://p"), kPath);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().path, kPath);
}

TEST(Config, Durations) {
  EXPECT_EQ(parse_duration("500ms"), Millis(500));
  EXPECT_EQ(parse_duration("1m30s"), Millis(90000));
  EXPECT_EQ(parse_duration("2h"), Millis(7200000));
  EXPECT_FALSE(parse_duration(""));
  EXPECT_FALSE(parse_duration("10"));
  EXPECT_FALSE(parse_duration("1.5s"));
  EXPECT_FALSE(parse_duration("s"));
  EXPECT_FALSE(parse_duration("99999999999999999s"));
}

TEST(Config, DidYouMean) {
  EXPECT_EQ(did_you_mean("tokenfile", {"tokenFile", "timeout"}), "; did you mean \"tokenFile\"?");
  EXPECT_EQ(did_you_mean("zzzzzz", {"tokenFile", "timeout"}), "");
}

}  // namespace
}  // namespace wva::prometheus
