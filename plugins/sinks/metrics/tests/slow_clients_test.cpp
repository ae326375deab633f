// Issue 14, defect 5: /metrics stopped answering when 8 clients sent one header byte per second
// (cpp-httplib's 8-worker pool with a per-read timeout), and 200 idle connections pushed a scrape past
// 30 s. Real sockets on loopback: slow clients come from 127.0.0.2-9 (Linux routes all of 127/8 to lo),
// so the per-client limit does not simply turn them away. Bounds are generous; these check correctness
// (the scrape is answered, whole), not speed.
#include <gtest/gtest.h>
#include <httplib.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "http_exporter.h"
#include "wva/sdk/testing/fakes.h"

namespace wva::plugins::metrics {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

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

// Reads until the peer closes or `timeout` passes.
std::string read_all(int fd, std::chrono::milliseconds timeout) {
  std::string out;
  const auto until = Clock::now() + timeout;
  while (Clock::now() < until) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    char buf[4096];
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

// True when the server closed fd (EOF or reset) within `timeout`.
bool closed_by_server(int fd, std::chrono::milliseconds timeout) {
  const auto until = Clock::now() + timeout;
  while (Clock::now() < until) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    char buf[256];
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return true;
  }
  return false;
}

std::string raw_request(const std::string& source, int port, const std::string& request) {
  const int fd = connect_from(source, port);
  if (fd < 0) return "";
  send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string out = read_all(fd, 10s);
  close(fd);
  return out;
}

struct Exporter {
  sdk::testing::InMemoryMetrics registry;
  HttpExporter exporter{registry, "/metrics"};
  int port = 0;
  Exporter() {
    registry.set_gauge("wva_test_up", "a gauge the scrape must return", {}, 1);
    auto p = exporter.start(ListenAddress{"127.0.0.1", 0});
    EXPECT_TRUE(p.ok()) << p.error().to_string();
    port = p.ok() ? *p : 0;
  }
};

TEST(SlowClients, Defect5ScrapeIsAnsweredWhile256SlowClientsAreConnected) {
  Exporter e;
  ASSERT_GT(e.port, 0);
  std::vector<int> slow;
  for (int i = 0; i < 256; ++i) {
    const int fd = connect_from("127.0.0." + std::to_string(2 + i % 8), e.port);
    ASSERT_GE(fd, 0) << "connection " << i;
    if (i % 2 == 0) send(fd, "G", 1, MSG_NOSIGNAL);  // half trickle a request, half stay idle
    slow.push_back(fd);
  }
  // All 256 are held open by the server (bounded wait for the accepts).
  const auto until = Clock::now() + 10s;
  while (e.exporter.connections() < 256 && Clock::now() < until) std::this_thread::sleep_for(10ms);
  ASSERT_GE(e.exporter.connections(), 256u);
  // One more byte from each trickling client, then the scrape: answered, whole, while they wait.
  for (std::size_t i = 0; i < slow.size(); i += 2) send(slow[i], "E", 1, MSG_NOSIGNAL);
  httplib::Client client("127.0.0.1", e.port);
  client.set_connection_timeout(10, 0);
  client.set_read_timeout(10, 0);
  const auto t0 = Clock::now();
  auto res = client.Get("/metrics");
  const auto took = Clock::now() - t0;
  ASSERT_TRUE(res) << "no answer while slow clients are connected";
  EXPECT_EQ(res->status, 200);
  EXPECT_NE(res->body.find("wva_test_up 1"), std::string::npos) << res->body;
  EXPECT_LT(took, 5s) << "the scrape waited for the slow clients";
  for (int fd : slow) close(fd);
}

TEST(SlowClients, Defect5ARequestMustArriveWholeWithinTheDeadline) {
  sdk::testing::InMemoryMetrics registry;
  HttpExporter exporter(registry, "/metrics", ScrapeServerLimits{.request_deadline = 500ms, .idle_timeout = 300ms});
  auto port = exporter.start(ListenAddress{"127.0.0.1", 0});
  ASSERT_TRUE(port.ok());
  const int trickle = connect_from("127.0.0.2", *port);
  const int idle = connect_from("127.0.0.3", *port);
  ASSERT_GE(trickle, 0);
  ASSERT_GE(idle, 0);
  // One header byte every 50 ms never completes a request: each read succeeds, the deadline still ends it.
  const std::string request = "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ";
  bool closed = false;
  for (int i = 0; i < 200 && !closed; ++i) {  // at most ~10 s
    send(trickle, i < static_cast<int>(request.size()) ? &request[static_cast<std::size_t>(i)] : "a", 1, MSG_NOSIGNAL);
    closed = closed_by_server(trickle, 50ms);
  }
  EXPECT_TRUE(closed) << "a trickling client held its connection past the request deadline";
  EXPECT_TRUE(closed_by_server(idle, 10s)) << "an idle connection was kept past the idle timeout";
  close(trickle);
  close(idle);
}

TEST(SlowClients, Defect5OneClientCannotTakeEveryConnection) {
  sdk::testing::InMemoryMetrics registry;
  registry.set_gauge("wva_test_up", "a gauge", {}, 1);
  HttpExporter exporter(registry, "/metrics", ScrapeServerLimits{.max_connections_per_client = 16});
  auto port = exporter.start(ListenAddress{"127.0.0.1", 0});
  ASSERT_TRUE(port.ok());
  std::vector<int> hog;
  for (int i = 0; i < 40; ++i) {
    const int fd = connect_from("127.0.0.4", *port);
    ASSERT_GE(fd, 0);
    send(fd, "G", 1, MSG_NOSIGNAL);
    hog.push_back(fd);
  }
  // The oldest unfinished connections of that client were closed to make room: at most 16 stay.
  int open = 0;
  for (int fd : hog) open += closed_by_server(fd, 200ms) ? 0 : 1;
  EXPECT_LE(open, 16);
  EXPECT_GE(open, 1);
  // A scrape from the same address still gets in (it is the newest).
  const std::string reply =
      raw_request("127.0.0.4", *port, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(reply.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << reply;
  EXPECT_NE(reply.find("wva_test_up 1"), std::string::npos) << reply;
  for (int fd : hog) close(fd);
}

TEST(SlowClients, MalformedOversizedAndPipelinedRequests) {
  Exporter e;
  ASSERT_GT(e.port, 0);
  const std::string big = "GET /metrics HTTP/1.1\r\nX-Big: " + std::string(10000, 'a') + "\r\n\r\n";
  EXPECT_EQ(raw_request("127.0.0.1", e.port, big).rfind("HTTP/1.1 431 ", 0), 0u);
  EXPECT_EQ(
      raw_request("127.0.0.1", e.port, "POST /metrics HTTP/1.1\r\nConnection: close\r\n\r\n").rfind("HTTP/1.1 405 ", 0),
      0u);
  EXPECT_EQ(raw_request("127.0.0.1", e.port, "GET /metrics HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello")
                .rfind("HTTP/1.1 400 ", 0),
            0u);
  EXPECT_EQ(raw_request("127.0.0.1", e.port, "garbage\r\n\r\n").rfind("HTTP/1.1 400 ", 0), 0u);
  // Keep-alive with two pipelined requests: both answered, in order, on one connection.
  const std::string two = raw_request("127.0.0.1", e.port,
                                      "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                                      "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  const auto first = two.find("HTTP/1.1 200 OK");
  const auto second = two.find("HTTP/1.1 200 OK", first + 1);
  ASSERT_NE(second, std::string::npos) << two;
  EXPECT_NE(two.find("ok\n"), std::string::npos);
  EXPECT_NE(two.find("wva_test_up 1", second), std::string::npos) << two;
  // HEAD: headers only.
  const std::string head = raw_request("127.0.0.1", e.port, "HEAD /metrics HTTP/1.0\r\n\r\n");
  EXPECT_EQ(head.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << head;
  EXPECT_EQ(head.find("wva_test_up"), std::string::npos) << head;
}

}  // namespace
}  // namespace wva::plugins::metrics
