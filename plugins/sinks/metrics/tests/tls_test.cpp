// HTTPS on the metrics endpoint with a real PKI (the openssl CLI, test_pki.h) and a real client (libcurl):
// verified scrapes, certificate rotation as kubelet does it (a symlink swap), refused pairs, and slow
// TLS clients. Bounds are generous; the tests check what is served, not speed.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <thread>

#include "http_exporter.h"
#include "https_get.h"
#include "metrics_plugin.h"
#include "prerequisite.h"
#include "test_pki.h"
#include "wva/sdk/testing/fakes.h"

namespace wva::plugins::metrics {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;
using testing::https_get;
using testing::Pki;
using Clock = std::chrono::steady_clock;

bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  const auto end = Clock::now() + timeout;
  while (Clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return pred();
}

// A mounted Secret as kubelet lays it out: tls.crt -> ..data/tls.crt, ..data -> ..<version>/; a
// rotation writes a new version folder and swaps ..data atomically (rename of a symlink).
class SecretVolume {
 public:
  explicit SecretVolume(fs::path dir) : dir_(std::move(dir)) {
    fs::create_directories(dir_);
    fs::create_symlink("..data/tls.crt", dir_ / "tls.crt");
    fs::create_symlink("..data/tls.key", dir_ / "tls.key");
  }
  void publish(const std::string& cert_file, const std::string& key_file) {
    const std::string version = "..v" + std::to_string(++versions_);
    fs::create_directories(dir_ / version);
    fs::copy_file(cert_file, dir_ / version / "tls.crt");
    fs::copy_file(key_file, dir_ / version / "tls.key");
    fs::create_symlink(version, dir_ / "..data_tmp");
    fs::rename(dir_ / "..data_tmp", dir_ / "..data");
  }
  std::string cert() const { return (dir_ / "tls.crt").string(); }
  std::string key() const { return (dir_ / "tls.key").string(); }

 private:
  fs::path dir_;
  int versions_ = 0;
};

class MetricsTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    WVA_REQUIRE(fs::exists(testing::kOpenssl)) << "the openssl CLI (Debian package openssl)";
    ASSERT_EQ(pki_.make_ca("ca1"), "");
    ASSERT_EQ(pki_.make_server("server1", "ca1"), "");
    ctx_.metrics().set_gauge("wva_test_up", "a test gauge", {}, 1);
  }
  json config(const std::string& cert, const std::string& key, const std::string& reload = "10s") {
    return {{"listen", "127.0.0.1:0"}, {"tls", {{"certFile", cert}, {"keyFile", key}, {"reloadInterval", reload}}}};
  }
  std::string url(const std::string& path = "/metrics") {
    return "https://127.0.0.1:" + std::to_string(*sink_.bound_port()) + path;
  }

  Pki pki_;
  sdk::testing::FakeContext ctx_{"metrics"};
  MetricsSink sink_;
};

TEST_F(MetricsTlsTest, ServesHttpsVerifiedByTheCaAndRefusesPlainHttp) {
  ASSERT_TRUE(sdk::testing::configure_as_host(sink_, config(pki_.file("server1.crt"), pki_.file("server1.key")),
                                              "sinks.metrics")
                  .empty());
  auto started = sink_.start(ctx_);
  ASSERT_TRUE(started.ok()) << started.error().to_string();
  auto reply = https_get(url(), pki_.file("ca1.crt"));
  ASSERT_EQ(reply.status, 200) << reply.error;
  EXPECT_NE(reply.body.find("wva_test_up 1"), std::string::npos) << reply.body;
  EXPECT_EQ(https_get(url("/healthz"), pki_.file("ca1.crt")).status, 200);
  // Another CA does not vouch for it; plain HTTP on the HTTPS port gets no HTTP answer.
  ASSERT_EQ(pki_.make_ca("other"), "");
  EXPECT_EQ(https_get(url(), pki_.file("other.crt")).status, 0);
  EXPECT_EQ(https_get("http://127.0.0.1:" + std::to_string(*sink_.bound_port()) + "/metrics", "").status, 0);
  EXPECT_TRUE(ctx_.fake_logger().contains("serving https://")) << ctx_.fake_logger().dump();
}

TEST_F(MetricsTlsTest, RotationServesTheNewCertificateWithoutARestartAndKeepsTheLastGoodPair) {
  SecretVolume volume(pki_.dir() / "secret");
  volume.publish(pki_.file("server1.crt"), pki_.file("server1.key"));
  ASSERT_TRUE(
      sdk::testing::configure_as_host(sink_, config(volume.cert(), volume.key(), "100ms"), "sinks.metrics").empty());
  ASSERT_TRUE(sink_.start(ctx_).ok());
  const int port = *sink_.bound_port();
  ASSERT_EQ(https_get(url(), pki_.file("ca1.crt")).status, 200);

  // cert-manager renews from a new CA: once the swap is seen, only the new CA verifies the server.
  ASSERT_EQ(pki_.make_ca("ca2"), "");
  ASSERT_EQ(pki_.make_server("server2", "ca2"), "");
  volume.publish(pki_.file("server2.crt"), pki_.file("server2.key"));
  EXPECT_TRUE(eventually([&] { return https_get(url(), pki_.file("ca2.crt"), {}, 2s).status == 200; }, 15s));
  EXPECT_EQ(https_get(url(), pki_.file("ca1.crt")).status, 0);
  EXPECT_EQ(*sink_.bound_port(), port);  // the same server, not restarted
  EXPECT_TRUE(eventually([&] { return ctx_.fake_logger().contains("reloaded the certificate"); }, 5s));

  // A bad pair (a key that is not the certificate's) is refused and logged; the last good pair serves on.
  ASSERT_EQ(pki_.make_server("server3", "ca1"), "");
  volume.publish(pki_.file("server3.crt"), pki_.file("server2.key"));
  EXPECT_TRUE(eventually([&] { return ctx_.fake_logger().contains("kept the last good certificate"); }, 15s))
      << ctx_.fake_logger().dump();
  EXPECT_EQ(https_get(url(), pki_.file("ca2.crt")).status, 200);
}

TEST_F(MetricsTlsTest, AMissingOrBadFileIsAStartErrorNamingTheSetting) {
  ASSERT_TRUE(
      sdk::testing::configure_as_host(sink_, config(pki_.file("absent.crt"), pki_.file("server1.key")), "sinks.metrics")
          .empty());
  auto r = sink_.start(ctx_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().path, "sinks.metrics.tls.certFile");
  EXPECT_NE(r.error().message.find("absent.crt"), std::string::npos) << r.error().message;
  EXPECT_FALSE(sink_.bound_port().has_value());

  ASSERT_EQ(pki_.make_server("server2", "ca1"), "");
  ASSERT_TRUE(sdk::testing::configure_as_host(sink_, config(pki_.file("server1.crt"), pki_.file("server2.key")),
                                              "sinks.metrics")
                  .empty());
  r = sink_.start(ctx_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().path, "sinks.metrics.tls.keyFile");
  EXPECT_NE(r.error().message.find("does not match"), std::string::npos) << r.error().message;

  ASSERT_TRUE(sdk::testing::configure_as_host(sink_, config(pki_.file("server1.csr"), pki_.file("server1.key")),
                                              "sinks.metrics")
                  .empty());
  r = sink_.start(ctx_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().path, "sinks.metrics.tls.certFile");
}

// A TCP connection to 127.0.0.1:port from `source` (e.g. "127.0.0.2"); -1 when it fails.
int connect_from(const std::string& source, int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in src{};
  src.sin_family = AF_INET;
  inet_pton(AF_INET, source.c_str(), &src.sin_addr);
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0 ||
      connect(fd, reinterpret_cast<sockaddr*>(&dst), sizeof dst) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

bool closed_by_server(int fd, std::chrono::milliseconds timeout) {
  const auto until = Clock::now() + timeout;
  while (Clock::now() < until) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    char buf[256];
    if (recv(fd, buf, sizeof buf, 0) <= 0) return true;
  }
  return false;
}

TEST_F(MetricsTlsTest, StalledHandshakesDoNotStopAScrapeAndAreClosedAtTheirDeadline) {
  auto credentials = TlsCredentials::load({pki_.file("server1.crt"), pki_.file("server1.key")}, "tls");
  ASSERT_TRUE(credentials.ok()) << credentials.error().to_string();
  ExporterOptions options;
  options.tls = std::move(*credentials);
  options.limits.handshake_deadline = 1500ms;
  options.limits.max_connections_per_client = 8;
  options.limits.max_connections = 24;
  HttpExporter exporter(ctx_.metrics(), std::move(options));
  auto port = exporter.start({"127.0.0.1", 0});
  ASSERT_TRUE(port.ok());

  // 40 clients on 8 addresses start a handshake and stall: half send nothing, half the first bytes of
  // a ClientHello. Over the limits, the oldest stalled ones are closed to make room.
  std::vector<int> stalled;
  const char partial_hello[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00};
  for (int i = 0; i < 40; ++i) {
    const int fd = connect_from("127.0.0." + std::to_string(2 + i % 8), *port);
    ASSERT_GE(fd, 0);
    if (i % 2) send(fd, partial_hello, sizeof partial_hello, MSG_NOSIGNAL);
    stalled.push_back(fd);
  }
  const std::string url = "https://127.0.0.1:" + std::to_string(*port) + "/metrics";
  for (int scrape = 0; scrape < 3; ++scrape) {
    auto reply = https_get(url, pki_.file("ca1.crt"), {}, 10s);
    ASSERT_EQ(reply.status, 200) << reply.error;
    EXPECT_NE(reply.body.find("wva_test_up 1"), std::string::npos);
  }
  EXPECT_LE(exporter.connections(), 24u);
  // Past the handshake deadline every stalled connection has been closed by the server.
  for (int fd : stalled) {
    EXPECT_TRUE(closed_by_server(fd, 5s));
    close(fd);
  }
  EXPECT_GE(exporter.failed_handshakes(), 40u);
  EXPECT_TRUE(eventually([&] { return exporter.connections() == 0; }, 5s));
}

}  // namespace
}  // namespace wva::plugins::metrics
