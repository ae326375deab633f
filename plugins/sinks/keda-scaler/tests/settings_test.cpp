// Settings of the keda-scaler sink: defaults, every form of `listen`, TLS, limits, and errors with paths.
#include <gtest/gtest.h>

#include "settings.h"

namespace wva::plugins::keda {
namespace {

using nlohmann::json;

const std::string kPath = "sinks.keda-scaler";

// The one error `config` has (every error is reported: a test with one problem expects one).
sdk::Error error_of(const json& config) {
  auto r = parse_config(config, kPath);
  EXPECT_EQ(r.errors.size(), 1u) << config.dump();
  return r.errors.empty() ? sdk::Error{} : r.errors.front();
}

std::string all_errors(const json& config) {
  std::string out;
  for (const auto& e : parse_config(config, kPath).errors) out += e.to_string() + "\n";
  return out;
}

TEST(KedaScalerSettings, DefaultsArePlaintextOnLoopback) {
  for (const json& c : {json(), json::object()}) {
    auto r = parse_config(c, kPath);
    ASSERT_TRUE(r.ok()) << r.errors.front().to_string();
    EXPECT_EQ(r->listen.host, "127.0.0.1");
    EXPECT_EQ(r->listen.port, 9091);
    EXPECT_FALSE(r->tls.has_value());
    EXPECT_EQ(r->max_streams, 64);
  }
}

TEST(KedaScalerSettings, ListenForms) {
  struct Case {
    json value;
    std::string host;
    int port;
    std::string text;
  };
  for (const auto& c : std::vector<Case>{{":9091", "0.0.0.0", 9091, "0.0.0.0:9091"},
                                         {"127.0.0.1:0", "127.0.0.1", 0, "127.0.0.1:0"},
                                         {"[::1]:6000", "::1", 6000, "[::1]:6000"},
                                         {"localhost:7000", "localhost", 7000, "localhost:7000"},
                                         {9443, "0.0.0.0", 9443, "0.0.0.0:9443"}}) {
    auto r = parse_config(json{{"listen", c.value}}, kPath);
    ASSERT_TRUE(r.ok()) << c.value.dump() << ": " << r.errors.front().to_string();
    EXPECT_EQ(r->listen.host, c.host) << c.value.dump();
    EXPECT_EQ(r->listen.port, c.port) << c.value.dump();
    EXPECT_EQ(r->listen.to_string(), c.text);
  }
}

TEST(KedaScalerSettings, BadListenNamesThePath) {
  for (const json& bad : {json("9091"), json("host:"), json("host:65536"), json("::1:80"), json("a b:80"), json(-1),
                          json(true), json("h:8x")}) {
    auto e = error_of(json{{"listen", bad}});
    EXPECT_EQ(e.code, sdk::ErrorCode::kInvalidConfig);
    EXPECT_EQ(e.path, kPath + ".listen") << bad.dump() << ": " << e.to_string();
  }
}

TEST(KedaScalerSettings, TlsNeedsCertAndKey) {
  auto r = parse_config(json{{"tls", {{"certFile", "/etc/tls/tls.crt"}, {"keyFile", "/etc/tls/tls.key"}}}}, kPath);
  ASSERT_TRUE(r.ok()) << r.errors.front().to_string();
  ASSERT_TRUE(r->tls.has_value());
  EXPECT_EQ(r->tls->cert_file, "/etc/tls/tls.crt");
  EXPECT_EQ(r->tls->key_file, "/etc/tls/tls.key");
  EXPECT_FALSE(r->tls->client_ca_file.has_value());

  auto m = parse_config(json{{"tls", {{"certFile", "c"}, {"keyFile", "k"}, {"clientCAFile", "ca"}}}}, kPath);
  ASSERT_TRUE(m.ok()) << m.errors.front().to_string();
  EXPECT_EQ(m->tls->client_ca_file.value_or(""), "ca");

  auto e = error_of(json{{"tls", {{"certFile", "c"}}}});
  EXPECT_EQ(e.path, kPath + ".tls.keyFile");
  EXPECT_NE(e.message.find("required"), std::string::npos) << e.message;

  const std::string two = all_errors(json{{"tls", {{"certFile", ""}, {"keyFile", 3}}}});
  EXPECT_NE(two.find(kPath + ".tls.certFile: must be a string not empty"), std::string::npos) << two;
  EXPECT_NE(two.find(kPath + ".tls.keyFile: must be a string not empty, got 3"), std::string::npos) << two;

  e = error_of(json{{"tls", "yes"}});
  EXPECT_EQ(e.path, kPath + ".tls");
}

TEST(KedaScalerSettings, UnknownKeysGetADidYouMean) {
  auto e = error_of(json{{"listn", ":9091"}});
  EXPECT_EQ(e.path, kPath + ".listn");
  EXPECT_NE(e.message.find("did you mean \"listen\""), std::string::npos) << e.message;

  e = error_of(json{{"tls", {{"certFile", "c"}, {"keyFile", "k"}, {"clientCaFile", "ca"}}}});
  EXPECT_EQ(e.path, kPath + ".tls.clientCaFile");
  EXPECT_NE(e.message.find("did you mean \"clientCAFile\""), std::string::npos) << e.message;

  e = error_of(json{{"port", 1}});
  EXPECT_EQ(e.message, "unknown setting");
}

TEST(KedaScalerSettings, EveryErrorIsReportedWithItsPath) {
  // The schema's errors (the listen grammar is checked after them, by check_settings).
  auto r = parse_config(json{{"maxStreams", 0}, {"tls", {{"keyFile", "k"}}}, {"extra", 1}}, kPath);
  ASSERT_EQ(r.errors.size(), 3u);
  const std::string all = all_errors(json{{"maxStreams", 0}, {"tls", {{"keyFile", "k"}}}, {"extra", 1}});
  for (const char* p : {".maxStreams:", ".tls.certFile:", ".extra:"})
    EXPECT_NE(all.find(kPath + p), std::string::npos) << p << " missing in " << all;
}

TEST(KedaScalerSettings, MaxStreamsBounds) {
  EXPECT_EQ(parse_config(json{{"maxStreams", 1}}, kPath)->max_streams, 1);
  EXPECT_EQ(parse_config(json{{"maxStreams", kMaxStreamsLimit}}, kPath)->max_streams, kMaxStreamsLimit);
  for (const json& bad : {json(0), json(kMaxStreamsLimit + 1), json(2.5), json("8")})
    EXPECT_EQ(error_of(json{{"maxStreams", bad}}).path, kPath + ".maxStreams") << bad.dump();
}

TEST(KedaScalerSettings, NotAMapping) {
  auto e = error_of(json::array({1}));
  EXPECT_EQ(e.path, kPath);
  EXPECT_NE(e.message.find("must be a map of settings"), std::string::npos);
}

}  // namespace
}  // namespace wva::plugins::keda
