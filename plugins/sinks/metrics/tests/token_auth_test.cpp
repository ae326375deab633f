// Token auth of /metrics with an in-process AccessReviewer standing for the API server's TokenReview and
// SubjectAccessReview (tests/kube/metrics_auth_test.cpp runs the same against the fake API server over
// HTTP, and kube_e2e_tests with the real binary). Real HTTP on loopback.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "http_exporter.h"
#include "https_get.h"
#include "metrics_plugin.h"
#include "token_auth.h"
#include "wva/sdk/testing/fakes.h"

namespace wva::plugins::metrics {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
using testing::https_get;

// Answers like the API: known tokens authenticate, users in `allowed` may get /metrics. `down` makes
// every call fail as an unreachable server does; `hold` makes calls wait until released (or their
// deadline passes), as a hung server does.
class FakeReviewer : public sdk::AccessReviewer {
 public:
  sdk::Result<sdk::TokenIdentity> authenticate(const std::string& token, sdk::Deadline deadline) override {
    ++token_reviews;
    if (auto e = wait(deadline)) return *e;
    sdk::TokenIdentity who;
    std::lock_guard lock(mutex_);
    if (auto it = users.find(token); it != users.end()) {
      who.authenticated = true;
      who.user = it->second;
    } else {
      who.error = "invalid bearer token";
    }
    return who;
  }
  sdk::Result<sdk::AccessDecision> authorize(const sdk::TokenIdentity& who, const std::string& path,
                                             const std::string& verb, sdk::Deadline deadline) override {
    ++access_reviews;
    if (auto e = wait(deadline)) return *e;
    if (authorize_down) return sdk::make_error(sdk::ErrorCode::kUnavailable, "POST subjectaccessreviews: HTTP 500");
    std::lock_guard lock(mutex_);
    sdk::AccessDecision d;
    d.allowed = allowed.count(who.user) && path == "/metrics" && verb == "get";
    return d;
  }
  void hold_calls() {
    std::lock_guard lock(mutex_);
    hold = true;
  }
  void release() {
    {
      std::lock_guard lock(mutex_);
      hold = false;
    }
    cv_.notify_all();
  }

  std::map<std::string, std::string> users = {{"prom-token", "system:serviceaccount:monitoring:prometheus"},
                                              {"dev-token", "jane"}};
  std::set<std::string> allowed = {"system:serviceaccount:monitoring:prometheus"};
  std::atomic<bool> down{false}, authorize_down{false};
  std::atomic<int> token_reviews{0}, access_reviews{0};

 private:
  bool hold = false;
  std::optional<sdk::Error> wait(sdk::Deadline deadline) {
    std::unique_lock lock(mutex_);
    if (!cv_.wait_until(lock, deadline.at, [this] { return !hold; }))
      return sdk::make_error(sdk::ErrorCode::kTimeout, "POST tokenreviews: timed out");
    if (down) return sdk::make_error(sdk::ErrorCode::kUnavailable, "POST tokenreviews: connection refused");
    return std::nullopt;
  }
  std::mutex mutex_;
  std::condition_variable cv_;
};

class ReviewContext : public sdk::testing::FakeContext {
 public:
  explicit ReviewContext(sdk::AccessReviewer* reviewer) : FakeContext("metrics"), reviewer_(reviewer) {}
  sdk::AccessReviewer* access_reviewer() override { return reviewer_; }

 private:
  sdk::AccessReviewer* reviewer_;
};

class TokenAuthTest : public ::testing::Test {
 protected:
  void start(json auth = {{"mode", "tokenReview"}}) {
    ctx_.metrics().set_gauge("wva_test_up", "a test gauge", {}, 1);
    ASSERT_TRUE(sdk::testing::configure_as_host(sink_, json{{"listen", "127.0.0.1:0"}, {"auth", auth}}, "sinks.metrics")
                    .empty());
    auto r = sink_.start(ctx_);
    ASSERT_TRUE(r.ok()) << r.error().to_string();
  }
  testing::HttpsReply get(const std::string& token, const std::string& path = "/metrics") {
    return https_get("http://127.0.0.1:" + std::to_string(*sink_.bound_port()) + path, "", token);
  }
  void TearDown() override { sink_.stop(); }

  FakeReviewer reviewer_;
  ReviewContext ctx_{&reviewer_};
  MetricsSink sink_;
};

TEST_F(TokenAuthTest, AnswersAsControllerRuntimesFilteredMetricsServer) {
  start();
  auto none = get("");
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(none.body, "Unauthorized\n");
  EXPECT_EQ(reviewer_.token_reviews, 0);  // no token: no review
  EXPECT_EQ(get("forged").status, 401);
  auto denied = get("dev-token");
  EXPECT_EQ(denied.status, 403);
  EXPECT_EQ(denied.body, "Authorization denied for user jane\n");
  auto ok = get("prom-token");
  ASSERT_EQ(ok.status, 200) << ok.error;
  EXPECT_NE(ok.body.find("wva_test_up 1"), std::string::npos);
  // The health check and unknown paths need no token.
  EXPECT_EQ(get("", "/healthz").status, 200);
  EXPECT_EQ(get("", "/other").status, 404);
  EXPECT_TRUE(ctx_.fake_logger().contains("needs a bearer token")) << ctx_.fake_logger().dump();
}

TEST_F(TokenAuthTest, DecisionsAreCachedForTheTtl) {
  start({{"mode", "tokenReview"}, {"cacheTTL", "1m"}});
  for (int i = 0; i < 5; ++i) ASSERT_EQ(get("prom-token").status, 200);
  for (int i = 0; i < 3; ++i) ASSERT_EQ(get("dev-token").status, 403);
  for (int i = 0; i < 3; ++i) ASSERT_EQ(get("forged").status, 401);
  EXPECT_EQ(reviewer_.token_reviews, 3);   // one per token
  EXPECT_EQ(reviewer_.access_reviews, 2);  // one per authenticated token
}

TEST_F(TokenAuthTest, WithoutACacheEveryScrapeIsReviewed) {
  start({{"mode", "tokenReview"}, {"cacheTTL", "0"}});
  for (int i = 0; i < 3; ++i) ASSERT_EQ(get("prom-token").status, 200);
  EXPECT_EQ(reviewer_.token_reviews, 3);
  EXPECT_EQ(reviewer_.access_reviews, 3);
}

TEST_F(TokenAuthTest, ApiDownGives401AndFailuresAreNotCached) {
  start();
  reviewer_.down = true;
  auto r = get("prom-token");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.body, "Authentication failed\n");
  EXPECT_TRUE(ctx_.fake_logger().contains("connection refused")) << ctx_.fake_logger().dump();
  reviewer_.down = false;
  EXPECT_EQ(get("prom-token").status, 200);  // the failure was not remembered

  reviewer_.authorize_down = true;
  auto failed = get("dev-token");
  EXPECT_EQ(failed.status, 500);
  EXPECT_EQ(failed.body, "Authorization for user jane failed\n");
}

TEST_F(TokenAuthTest, AHungApiNeverStopsTheLoopAndTimesOutTheReview) {
  start({{"mode", "tokenReview"}, {"reviewTimeout", "1s"}});
  reviewer_.hold_calls();
  std::thread waiting([&] {
    auto r = get("prom-token");
    EXPECT_EQ(r.status, 401);  // the review timed out: authentication failed
  });
  // While the review hangs, the loop serves others.
  for (int i = 0; i < 5; ++i) EXPECT_EQ(get("", "/healthz").status, 200);
  waiting.join();
  reviewer_.release();
  EXPECT_EQ(get("prom-token").status, 200);
}

TEST(TokenAuthStandalone, TheCacheIsBounded) {
  FakeReviewer reviewer;
  for (int i = 0; i < 50; ++i) reviewer.users["t" + std::to_string(i)] = "u" + std::to_string(i);
  TokenAuthOptions options;
  options.cache_entries = 10;
  TokenAuth auth(reviewer, options, nullptr);
  for (int i = 0; i < 50; ++i) {
    std::promise<std::optional<ScrapeResponse>> answer;
    auth.check("Bearer t" + std::to_string(i), "/metrics", "get",
               [&](std::optional<ScrapeResponse> r) { answer.set_value(std::move(r)); });
    auto future = answer.get_future();
    ASSERT_EQ(future.wait_for(10s), std::future_status::ready);
    auto r = future.get();
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 403);
  }
  EXPECT_LE(auth.cached(), 10u);
}

TEST(TokenAuthStandalone, ParsesOnlyBearerTokens) {
  EXPECT_EQ(bearer_token("Bearer abc"), "abc");
  EXPECT_EQ(bearer_token("bearer abc"), "abc");
  EXPECT_EQ(bearer_token("Bearer  abc "), "abc");
  EXPECT_FALSE(bearer_token("Basic dXNlcjpwdw=="));
  EXPECT_FALSE(bearer_token("Bearer"));
  EXPECT_FALSE(bearer_token("Bearer "));
  EXPECT_FALSE(bearer_token("Bearer a b"));
  EXPECT_FALSE(bearer_token(""));
}

TEST(TokenAuthLocal, AskingForTokenAuthWithoutAnApiServerIsAClearStartError) {
  sdk::testing::FakeContext ctx("metrics");  // access_reviewer() is null, as in local mode
  MetricsSink sink;
  ASSERT_TRUE(sdk::testing::configure_as_host(
                  sink, json{{"listen", "127.0.0.1:0"}, {"auth", {{"mode", "tokenReview"}}}}, "sinks.metrics")
                  .empty());
  auto r = sink.start(ctx);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().path, "sinks.metrics.auth.mode");
  EXPECT_NE(r.error().message.find("without an API server"), std::string::npos) << r.error().message;
  EXPECT_FALSE(sink.bound_port().has_value());
}

}  // namespace
}  // namespace wva::plugins::metrics

namespace wva::plugins::metrics {
namespace {

// The server's side of a late answer: a request whose handler never answers gets 503 at
// handler_deadline; an answer after that, or after stop(), is ignored.
TEST(ScrapeServerAsync, AnAnswerNotGivenInTimeIs503AndLateAnswersAreIgnored) {
  std::mutex mutex;
  std::vector<ScrapeServer::Respond> held;
  ScrapeServerLimits limits;
  limits.handler_deadline = 300ms;
  ScrapeServer server(ScrapeServer::AsyncHandler([&](const ScrapeRequest& req, ScrapeServer::Respond respond) {
                        if (req.path == "/now") return respond({200, "text/plain", "now\n"});
                        std::lock_guard lock(mutex);
                        held.push_back(std::move(respond));
                      }),
                      limits);
  auto port = server.start("127.0.0.1", 0);
  ASSERT_TRUE(port.ok());
  const std::string base = "http://127.0.0.1:" + std::to_string(*port);
  auto late = https_get(base + "/never", "");
  EXPECT_EQ(late.status, 503);
  EXPECT_EQ(https_get(base + "/now", "").status, 200);
  std::lock_guard lock(mutex);
  ASSERT_EQ(held.size(), 1u);
  held[0]({200, "text/plain", "too late\n"});  // the connection was answered already: ignored
  EXPECT_EQ(https_get(base + "/now", "").status, 200);
  server.stop();
  held[0]({200, "text/plain", "after stop\n"});  // no loop to wake: ignored, no crash
}

}  // namespace
}  // namespace wva::plugins::metrics
