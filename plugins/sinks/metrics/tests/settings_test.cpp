#include <gtest/gtest.h>

#include "settings.h"

namespace wva::plugins::metrics {
namespace {

using nlohmann::json;

TEST(MetricsSettings, Defaults) {
  for (const json& c : {json(nullptr), json::object()}) {
    auto r = parse_config(c, "sinks.metrics");
    ASSERT_TRUE(r.ok()) << r.errors.front().to_string();
    ASSERT_TRUE(r->listen.has_value());
    EXPECT_EQ(r->listen->host, "0.0.0.0");
    EXPECT_EQ(r->listen->port, 8443);
    EXPECT_EQ(r->path, "/metrics");
  }
}

TEST(MetricsSettings, ListenForms) {
  auto a = parse_listen(json("127.0.0.1:8443"), "p");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ((*a)->host, "127.0.0.1");
  EXPECT_EQ((*a)->port, 8443);

  auto b = parse_listen(json(":9090"), "p");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ((*b)->host, "0.0.0.0");
  EXPECT_EQ((*b)->port, 9090);

  auto disabled = parse_listen(json("0"), "p");
  ASSERT_TRUE(disabled.ok());
  EXPECT_FALSE(disabled->has_value());
  auto disabled_int = parse_listen(json(0), "p");
  ASSERT_TRUE(disabled_int.ok());
  EXPECT_FALSE(disabled_int->has_value());

  auto any = parse_listen(json("127.0.0.1:0"), "p");
  ASSERT_TRUE(any.ok());
  ASSERT_TRUE(any->has_value());
  EXPECT_EQ((*any)->port, 0);

  auto v6 = parse_listen(json("[::1]:8443"), "p");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ((*v6)->host, "::1");
  EXPECT_EQ((*v6)->to_string(), "[::1]:8443");

  auto num = parse_listen(json(8443), "p");
  ASSERT_TRUE(num.ok());
  EXPECT_EQ((*num)->port, 8443);
}

TEST(MetricsSettings, BadListenValuesNameThePath) {
  for (const json& bad :
       {json("8443x"), json("host"), json(":"), json(":70000"), json(":-1"), json("::1:80"), json(true), json(70000)}) {
    auto r = parse_config(json{{"listen", bad}}, "sinks.metrics");
    ASSERT_EQ(r.errors.size(), 1u) << bad.dump();
    EXPECT_EQ(r.errors[0].code, sdk::ErrorCode::kInvalidConfig);
    EXPECT_EQ(r.errors[0].path, "sinks.metrics.listen") << bad.dump();
  }
}

TEST(MetricsSettings, PathAndUnknownKeys) {
  auto ok = parse_config(json{{"path", "/custom/metrics"}}, "s");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->path, "/custom/metrics");
  for (const json& bad : {json("metrics"), json("/a b"), json("/healthz"), json(3), json("/m?x=1")}) {
    auto r = parse_config(json{{"path", bad}}, "s");
    ASSERT_EQ(r.errors.size(), 1u) << bad.dump();
    EXPECT_EQ(r.errors[0].path, "s.path");
  }
  auto typo = parse_config(json{{"lisen", ":1"}}, "s");
  ASSERT_EQ(typo.errors.size(), 1u);
  EXPECT_EQ(typo.errors[0].to_string(), "s.lisen: unknown setting; did you mean \"listen\"?");
  auto list = parse_config(json::array(), "s");
  ASSERT_FALSE(list.ok());
  EXPECT_EQ(list.errors[0].path, "s");
}

TEST(MetricsSettings, TlsAndAuthDefaultOffAndParse) {
  auto defaults = parse_config(json::object(), "s");
  ASSERT_TRUE(defaults.ok());
  EXPECT_FALSE(defaults->tls.has_value());
  EXPECT_FALSE(defaults->auth.token_review);
  auto full =
      parse_config(json{{"tls", {{"certFile", "/c/tls.crt"}, {"keyFile", "/c/tls.key"}, {"reloadInterval", "30s"}}},
                        {"auth", {{"mode", "tokenReview"}, {"reviewTimeout", "2s"}, {"cacheTTL", "30s"}}}},
                   "s");
  ASSERT_TRUE(full.ok()) << full.errors.front().to_string();
  ASSERT_TRUE(full->tls.has_value());
  EXPECT_EQ(full->tls->cert_file, "/c/tls.crt");
  EXPECT_EQ(full->tls->key_file, "/c/tls.key");
  EXPECT_EQ(full->tls->reload_interval, std::chrono::seconds(30));
  EXPECT_TRUE(full->auth.token_review);
  EXPECT_EQ(full->auth.review_timeout, std::chrono::seconds(2));
  EXPECT_EQ(full->auth.cache_ttl, std::chrono::seconds(30));
  auto none = parse_config(json{{"auth", {{"mode", "none"}}}, {"tls", nullptr}}, "s");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->auth.token_review);
  EXPECT_FALSE(none->tls.has_value());
}

TEST(MetricsSettings, BadTlsAndAuthNameThePath) {
  const std::vector<std::pair<json, std::string>> cases = {
      {json{{"tls", {{"certFile", "/c"}}}}, "s.tls.keyFile"},
      {json{{"tls", {{"keyFile", "/k"}}}}, "s.tls.certFile"},
      {json{{"tls", {{"certFile", ""}, {"keyFile", "/k"}}}}, "s.tls.certFile"},
      {json{{"tls", {{"certFile", "/c"}, {"keyFile", "/k"}, {"reloadInterval", "1x"}}}}, "s.tls.reloadInterval"},
      {json{{"tls", {{"certFile", "/c"}, {"keyFile", "/k"}, {"reloadInterval", "10ms"}}}}, "s.tls.reloadInterval"},
      {json{{"tls", {{"certfile", "/c"}, {"keyFile", "/k"}}}}, "s.tls.certfile"},
      {json{{"tls", "/c"}}, "s.tls"},
      {json{{"auth", {{"mode", "token"}}}}, "s.auth.mode"},
      {json{{"auth", {{"mode", true}}}}, "s.auth.mode"},
      {json{{"auth", {{"reviewTimeout", "2m"}}}}, "s.auth.reviewTimeout"},
      {json{{"auth", {{"cacheTtl", "1m"}}}}, "s.auth.cacheTtl"},
  };
  for (const auto& [config, path] : cases) {
    auto r = parse_config(config, "s");
    ASSERT_FALSE(r.ok()) << config.dump();
    EXPECT_EQ(r.errors[0].code, sdk::ErrorCode::kInvalidConfig);
    EXPECT_EQ(r.errors[0].path, path) << config.dump() << ": " << r.errors[0].message;
  }
  auto typo = parse_config(json{{"auth", {{"cacheTtl", "1m"}}}}, "s");
  ASSERT_EQ(typo.errors.size(), 1u);
  EXPECT_EQ(typo.errors[0].message, "unknown setting; did you mean \"cacheTTL\"?");
  // Every error at once, each with its path.
  auto many = parse_config(json{{"tls", {{"certFile", ""}}}, {"auth", {{"mode", "token"}}}, {"lisen", 1}}, "s");
  EXPECT_EQ(many.errors.size(), 4u);  // lisen, tls.certFile, tls.keyFile, auth.mode
}

}  // namespace
}  // namespace wva::plugins::metrics
