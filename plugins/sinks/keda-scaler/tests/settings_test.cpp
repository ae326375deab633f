// Settings of the keda-scaler sink: defaults, every form of `listen`, TLS, limits, and errors with paths.
#include <gtest/gtest.h>

#include "settings.h"

namespace wva::plugins::keda {
namespace {

using nlohmann::json;

const std::string kPath = "sinks.keda-scaler";

sdk::Error error_of(const json& config) {
  auto r = parse_config(config, kPath);
  EXPECT_FALSE(r.ok()) << "accepted " << config.dump();
  return r.ok() ? sdk::Error{} : r.error();
}

TEST(ScalerConfig, DefaultsArePlaintextOnLoopback) {
  for (const json& c : {json(), json::object()}) {
    auto r = parse_config(c, kPath);
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    EXPECT_EQ(r->listen.host, "127.0.0.1");
    EXPECT_EQ(r->listen.port, 9091);
    EXPECT_FALSE(r->tls.has_value());
    EXPECT_EQ(r->max_streams, 64);
  }
}

TEST(ScalerConfig, ListenForms) {
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
    ASSERT_TRUE(r.ok()) << c.value.dump() << ": " << r.error().to_string();
    EXPECT_EQ(r->listen.host, c.host) << c.value.dump();
    EXPECT_EQ(r->listen.port, c.port) << c.value.dump();
    EXPECT_EQ(r->listen.to_string(), c.text);
  }
}

TEST(ScalerConfig, BadListenNamesThePath) {
  for (const json& bad : {json("9091"), json("host:"), json("host:65536"), json("::1:80"), json("a b:80"), json(-1),
                          json(true), json("h:8x")}) {
    auto e = error_of(json{{"listen", bad}});
    EXPECT_EQ(e.code, sdk::ErrorCode::kInvalidConfig);
    EXPECT_EQ(e.path, kPath + ".listen") << bad.dump() << ": " << e.to_string();
  }
}

TEST(ScalerConfig, TlsNeedsCertAndKey) {
  auto r = parse_config(json{{"tls", {{"certFile", "/etc/tls/tls.crt"}, {"keyFile", "/etc/tls/tls.key"}}}}, kPath);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  ASSERT_TRUE(r->tls.has_value());
  EXPECT_EQ(r->tls->cert_file, "/etc/tls/tls.crt");
  EXPECT_EQ(r->tls->key_file, "/etc/tls/tls.key");
  EXPECT_FALSE(r->tls->client_ca_file.has_value());

  auto m = parse_config(json{{"tls", {{"certFile", "c"}, {"keyFile", "k"}, {"clientCAFile", "ca"}}}}, kPath);
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  EXPECT_EQ(m->tls->client_ca_file.value_or(""), "ca");

  auto e = error_of(json{{"tls", {{"certFile", "c"}}}});
  EXPECT_EQ(e.path, kPath + ".tls.keyFile");
  EXPECT_NE(e.message.find("required"), std::string::npos) << e.message;

  e = error_of(json{{"tls", {{"certFile", ""}, {"keyFile", 3}}}});
  EXPECT_NE(e.message.find(kPath + ".tls.certFile: must not be empty"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find(kPath + ".tls.keyFile: must be a file path"), std::string::npos) << e.message;

  e = error_of(json{{"tls", "yes"}});
  EXPECT_EQ(e.path, kPath + ".tls");
}

TEST(ScalerConfig, UnknownKeysGetADidYouMean) {
  auto e = error_of(json{{"listn", ":9091"}});
  EXPECT_EQ(e.path, kPath + ".listn");
  EXPECT_NE(e.message.find("did you mean \"listen\""), std::string::npos) << e.message;

  e = error_of(json{{"tls", {{"certFile", "c"}, {"keyFile", "k"}, {"clientCaFile", "ca"}}}});
  EXPECT_EQ(e.path, kPath + ".tls.clientCaFile");
  EXPECT_NE(e.message.find("did you mean \"clientCAFile\""), std::string::npos) << e.message;

  e = error_of(json{{"port", 1}});
  EXPECT_NE(e.message.find("accepted: listen, tls, maxStreams"), std::string::npos) << e.message;
}

TEST(ScalerConfig, EveryErrorIsReportedWithItsPath) {
  auto e = error_of(json{{"listen", "nope"}, {"maxStreams", 0}, {"tls", {{"keyFile", "k"}}}, {"extra", 1}});
  EXPECT_EQ(e.path, kPath);
  EXPECT_NE(e.message.find("4 errors"), std::string::npos) << e.message;
  for (const char* p : {".listen:", ".maxStreams:", ".tls.certFile:", ".extra:"})
    EXPECT_NE(e.message.find(kPath + p), std::string::npos) << p << " missing in " << e.message;
}

TEST(ScalerConfig, MaxStreamsBounds) {
  EXPECT_EQ(parse_config(json{{"maxStreams", 1}}, kPath)->max_streams, 1);
  EXPECT_EQ(parse_config(json{{"maxStreams", kMaxStreamsLimit}}, kPath)->max_streams, kMaxStreamsLimit);
  for (const json& bad : {json(0), json(kMaxStreamsLimit + 1), json(2.5), json("8")})
    EXPECT_EQ(error_of(json{{"maxStreams", bad}}).path, kPath + ".maxStreams") << bad.dump();
}

TEST(ScalerConfig, NotAMapping) {
  auto e = error_of(json::array({1}));
  EXPECT_EQ(e.path, kPath);
  EXPECT_NE(e.message.find("expected a mapping"), std::string::npos);
}

}  // namespace
}  // namespace wva::plugins::keda
