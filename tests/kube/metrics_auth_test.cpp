// The metrics sink's token auth against FakeApiServer (standing for kube-apiserver's TokenReview and
// SubjectAccessReview endpoints, answered as its authenticators and RBAC would): the framework's
// KubeAccessReviewer on its own (request shapes, answers, failures, deadlines), then the sink over HTTPS
// with it (401 / 403 / 200, the cache, the API failing). Real HTTP and TLS on loopback.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <memory>

#include <nlohmann/json.hpp>

#include "cluster/kube/access_reviews.h"
#include "cluster/kube/kube_config.h"
#include "fake_apiserver.h"
#include "https_get.h"
#include "metrics_plugin.h"
#include "prerequisite.h"
#include "test_pki.h"
#include "wva/sdk/testing/fakes.h"

namespace wva::testing {
namespace {

using framework::kube::KubeAccessReviewer;
using framework::kube::KubeClient;
using nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kPrometheus = "system:serviceaccount:monitoring:prometheus";

std::shared_ptr<KubeClient> client_for(const FakeApiServer& server, const std::string& token) {
  framework::kube::Connection connection;
  connection.server = server.url();
  connection.token = token;
  return std::make_shared<KubeClient>(connection);
}

class ReviewsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.require_token("controller-token");
    server_.add_token("prom-token", kPrometheus, {"system:serviceaccounts", "system:serviceaccounts:monitoring"});
    server_.add_token("dev-token", "jane", {"developers"});
    server_.allow_non_resource(kPrometheus, "/metrics", "get");
  }
  FakeApiServer server_;
  KubeAccessReviewer reviewer_{client_for(server_, "controller-token")};
};

TEST_F(ReviewsTest, TokenReviewSaysWhoseATokenIs) {
  auto who = reviewer_.authenticate("prom-token", sdk::Deadline::in(5s));
  ASSERT_TRUE(who.ok()) << who.error().to_string();
  EXPECT_TRUE(who->authenticated);
  EXPECT_EQ(who->user, kPrometheus);
  EXPECT_EQ(who->groups.size(), 2u);
  auto nobody = reviewer_.authenticate("forged", sdk::Deadline::in(5s));
  ASSERT_TRUE(nobody.ok());
  EXPECT_FALSE(nobody->authenticated);
  EXPECT_EQ(nobody->error, "invalid bearer token");
  // The review went out as the API defines it, with the controller's own credentials.
  const auto requests = server_.requests();
  ASSERT_FALSE(requests.empty());
  const auto& last = requests.back();
  EXPECT_EQ(last.method, "POST");
  EXPECT_EQ(last.path, "/apis/authentication.k8s.io/v1/tokenreviews");
  EXPECT_EQ(last.authorization, "Bearer controller-token");
  const auto body = json::parse(last.body);
  EXPECT_EQ(body["kind"], "TokenReview");
  EXPECT_EQ(body["spec"]["token"], "forged");
}

TEST_F(ReviewsTest, SubjectAccessReviewAsksAboutTheNonResourcePath) {
  auto prom = reviewer_.authenticate("prom-token", sdk::Deadline::in(5s));
  ASSERT_TRUE(prom.ok());
  auto allowed = reviewer_.authorize(*prom, "/metrics", "get", sdk::Deadline::in(5s));
  ASSERT_TRUE(allowed.ok()) << allowed.error().to_string();
  EXPECT_TRUE(allowed->allowed);
  EXPECT_NE(allowed->reason.find("RBAC"), std::string::npos);
  const auto body = json::parse(server_.requests().back().body);
  EXPECT_EQ(body["kind"], "SubjectAccessReview");
  EXPECT_EQ(body["spec"]["user"], kPrometheus);
  EXPECT_EQ(body["spec"]["nonResourceAttributes"], (json{{"path", "/metrics"}, {"verb", "get"}}));
  EXPECT_EQ(body["spec"]["groups"].size(), 2u);

  EXPECT_FALSE(reviewer_.authorize(*prom, "/metrics", "head", sdk::Deadline::in(5s))->allowed);
  auto jane = reviewer_.authenticate("dev-token", sdk::Deadline::in(5s));
  ASSERT_TRUE(jane.ok());
  EXPECT_FALSE(reviewer_.authorize(*jane, "/metrics", "get", sdk::Deadline::in(5s))->allowed);
  // A group grant counts, as in RBAC.
  server_.allow_non_resource("developers", "/metrics", "get");
  EXPECT_TRUE(reviewer_.authorize(*jane, "/metrics", "get", sdk::Deadline::in(5s))->allowed);
}

TEST_F(ReviewsTest, FailuresAreErrorsWithinTheDeadline) {
  server_.review_failure(503);
  auto failed = reviewer_.authenticate("prom-token", sdk::Deadline::in(5s));
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.error().message.find("503"), std::string::npos) << failed.error().message;

  server_.review_failure(503, 3s);  // a hung server: the call gives up at its deadline
  const auto start = std::chrono::steady_clock::now();
  auto late = reviewer_.authenticate("prom-token", sdk::Deadline::in(500ms));
  EXPECT_FALSE(late.ok());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2900ms);

  // The controller's own token refused: an error naming credentials, not a verdict on the scraper.
  server_.review_failure(0);
  KubeAccessReviewer stranger(client_for(server_, "wrong"));
  auto refused = stranger.authenticate("prom-token", sdk::Deadline::in(5s));
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("401"), std::string::npos);
}

TEST(FakeApiServerReviews, AreCreateOnly) {
  FakeApiServer server;
  auto client = client_for(server, "");
  auto get = client->request("GET", "/apis/authentication.k8s.io/v1/tokenreviews");
  ASSERT_TRUE(get.ok());
  EXPECT_EQ(get->status, 405);
  auto bad =
      client->request("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews",
                      R"({"apiVersion":"authorization.k8s.io/v1","kind":"SubjectAccessReview","spec":{"user":"x"}})",
                      "application/json");
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ(bad->status, 422);
}

// The metrics sink with the framework's reviewer, over HTTPS.
class ReviewingContext : public sdk::testing::FakeContext {
 public:
  explicit ReviewingContext(sdk::AccessReviewer* reviewer) : FakeContext("metrics"), reviewer_(reviewer) {}
  sdk::AccessReviewer* access_reviewer() override { return reviewer_; }

 private:
  sdk::AccessReviewer* reviewer_;
};

TEST_F(ReviewsTest, TheSinkAnswers401403200AndCachesTheDecisions) {
  WVA_REQUIRE(std::filesystem::exists(kOpenssl)) << "the openssl CLI (Debian package openssl)";
  Pki pki;
  ASSERT_EQ(pki.make_ca("ca"), "");
  ASSERT_EQ(pki.make_server("server", "ca"), "");
  ReviewingContext ctx(&reviewer_);
  ctx.metrics().set_gauge("inferno_desired_replicas", "desired", {{"variant_name", "v"}}, 3);
  plugins::metrics::MetricsSink sink;
  ASSERT_TRUE(sdk::testing::configure_as_host(
                  sink,
                  json{{"listen", "127.0.0.1:0"},
                       {"tls", {{"certFile", pki.file("server.crt")}, {"keyFile", pki.file("server.key")}}},
                       {"auth", {{"mode", "tokenReview"}, {"cacheTTL", "1m"}}}},
                  "sinks.metrics")
                  .empty());
  auto started = sink.start(ctx);
  ASSERT_TRUE(started.ok()) << started.error().to_string();
  const std::string url = "https://127.0.0.1:" + std::to_string(*sink.bound_port()) + "/metrics";

  EXPECT_EQ(https_get(url, pki.file("ca.crt")).status, 401);
  EXPECT_EQ(https_get(url, pki.file("ca.crt"), "forged").status, 401);
  EXPECT_EQ(https_get(url, pki.file("ca.crt"), "dev-token").status, 403);
  for (int i = 0; i < 5; ++i) {
    auto ok = https_get(url, pki.file("ca.crt"), "prom-token");
    ASSERT_EQ(ok.status, 200) << ok.error;
    EXPECT_NE(ok.body.find("inferno_desired_replicas{variant_name=\"v\"} 3"), std::string::npos) << ok.body;
  }
  // One TokenReview per token, one SubjectAccessReview per authenticated one: the cache held the rest.
  EXPECT_EQ(server_.count("POST", "tokenreviews"), 3u);
  EXPECT_EQ(server_.count("POST", "subjectaccessreviews"), 2u);

  // The API failing: a token not in the cache gets 401, and the sink keeps serving cached decisions.
  server_.review_failure(503);
  server_.add_token("new-token", kPrometheus);
  auto down = https_get(url, pki.file("ca.crt"), "new-token");
  EXPECT_EQ(down.status, 401);
  EXPECT_EQ(down.body, "Authentication failed\n");
  EXPECT_EQ(https_get(url, pki.file("ca.crt"), "prom-token").status, 200);
  EXPECT_TRUE(ctx.fake_logger().contains("TokenReview failed")) << ctx.fake_logger().dump();
  sink.stop();
}

}  // namespace
}  // namespace wva::testing
