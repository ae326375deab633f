// The store the scaler answers from: values per variant, held decisions, removal, errors, change waits.
#include <gtest/gtest.h>

#include <future>
#include <thread>
#include <vector>

#include "decision_store.h"
#include "wva/sdk/testing/fakes.h"

namespace wva::plugins::keda {
namespace {

using std::chrono::seconds;
using std::chrono::steady_clock;

sdk::Decision decision(const std::string& ns, const std::string& model, const std::string& variant, int desired,
                       bool held = false) {
  sdk::Decision d;
  d.model = {ns, model};
  d.variant = variant;
  d.va_name = variant;
  d.desired = desired;
  d.current = 1;
  d.held = held;
  return d;
}

ApplyStats publish(DecisionStore& store, const std::vector<sdk::Decision>& ds, const std::string& pipeline = "default",
                   bool partial = false) {
  sdk::PublishBatch batch;
  batch.pipeline = pipeline;
  batch.partial = partial;
  batch.time = sdk::testing::ManualClock::default_start();
  batch.decisions = ds;
  return store.apply(batch);
}

VariantRef ref(const std::string& ns, const std::string& variant) { return {ns, variant, std::nullopt}; }

TEST(DecisionStore, UnavailableBeforeTheFirstPublish) {
  DecisionStore store;
  auto r = store.lookup(ref("llm", "v"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, sdk::ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message.find("\"v\" in namespace \"llm\""), std::string::npos) << r.error().message;
}

TEST(DecisionStore, AnEmptyWholeBatchThatLeavesNothingIsUnavailableAgain) {
  // What the host publishes once when this replica stops leading: its answers are withdrawn, and KEDA
  // (whose Service may reach this replica) gets UNAVAILABLE as before the first publish, not NOT_FOUND.
  DecisionStore store;
  publish(store, {decision("llm", "m", "a", 3)});
  const auto before = store.version();
  publish(store, {});
  EXPECT_GT(store.version(), before) << "open streams are woken";
  auto r = store.lookup(ref("llm", "a"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, sdk::ErrorCode::kUnavailable) << r.error().message;
  // A partial empty batch withdraws nothing; a whole one with decisions publishes again.
  publish(store, {decision("llm", "m", "a", 2)});
  publish(store, {}, "default", /*partial=*/true);
  EXPECT_EQ(store.lookup(ref("llm", "a"))->desired, 2);
  // Another pipeline's values keep the store published: a variant gone from this one is NOT_FOUND.
  publish(store, {decision("llm", "m2", "b", 1)}, "other");
  publish(store, {});
  EXPECT_EQ(store.lookup(ref("llm", "a")).error().code, sdk::ErrorCode::kNotFound);
  EXPECT_EQ(store.lookup(ref("llm", "b"))->desired, 1);
}

TEST(DecisionStore, ServesTheLastDesiredPerVariant) {
  DecisionStore store;
  auto stats = publish(store, {decision("llm", "m", "a", 3), decision("llm", "m", "b", 0)});
  EXPECT_EQ(stats.set, 2u);
  EXPECT_EQ(store.lookup(ref("llm", "a"))->desired, 3);
  EXPECT_EQ(store.lookup(ref("llm", "b"))->desired, 0);
  EXPECT_EQ(store.lookup(ref("llm", "a"))->model_id, "m");
  publish(store, {decision("llm", "m", "a", 5), decision("llm", "m", "b", 1)});
  EXPECT_EQ(store.lookup(ref("llm", "a"))->desired, 5);
  EXPECT_EQ(store.lookup(ref("llm", "b"))->desired, 1);
}

TEST(DecisionStore, SameNameInAnotherNamespaceIsAnotherVariant) {
  DecisionStore store;
  publish(store, {decision("a", "m", "v", 2), decision("b", "m", "v", 7)});
  EXPECT_EQ(store.lookup(ref("a", "v"))->desired, 2);
  EXPECT_EQ(store.lookup(ref("b", "v"))->desired, 7);
}

TEST(DecisionStore, HeldDecisionsKeepTheLastValue) {
  DecisionStore store;
  publish(store, {decision("llm", "m", "a", 4)});
  auto stats = publish(store, {decision("llm", "m", "a", 1, /*held=*/true)});
  EXPECT_EQ(stats.kept, 1u);
  auto v = store.lookup(ref("llm", "a"));
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->desired, 4);
  EXPECT_TRUE(v->held);
  // A held decision for a variant the scaler has not seen is the host's own hold (its last decision, or
  // the current replicas): served as is.
  publish(store, {decision("llm", "m", "a", 4), decision("llm", "m", "new", 2, true)});
  EXPECT_EQ(store.lookup(ref("llm", "new"))->desired, 2);
  EXPECT_FALSE(store.lookup(ref("llm", "a"))->held);
}

TEST(DecisionStore, UnknownVariantIsNotFoundWithADidYouMean) {
  DecisionStore store;
  publish(store, {decision("llm", "m", "llama-8b-h100", 2), decision("llm", "m", "llama-8b-a100", 1)});
  auto r = store.lookup(ref("llm", "llama-8b-h10"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, sdk::ErrorCode::kNotFound);
  EXPECT_NE(r.error().message.find("did you mean \"llama-8b-h100\""), std::string::npos) << r.error().message;

  r = store.lookup(ref("llm", "other"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("variants in that namespace: llama-8b-a100, llama-8b-h100"), std::string::npos)
      << r.error().message;

  r = store.lookup(ref("elsewhere", "llama-8b-h100"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, sdk::ErrorCode::kNotFound);
  EXPECT_NE(r.error().message.find("no variant in that namespace"), std::string::npos) << r.error().message;
}

TEST(DecisionStore, ModelMismatchIsNotFound) {
  DecisionStore store;
  publish(store, {decision("llm", "meta/llama", "v", 2)});
  auto r = store.lookup({"llm", "v", std::string("other/model")});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, sdk::ErrorCode::kNotFound);
  EXPECT_NE(r.error().message.find("belongs to model \"meta/llama\""), std::string::npos) << r.error().message;
  EXPECT_TRUE(store.lookup({"llm", "v", std::string("meta/llama")}).ok());
}

TEST(DecisionStore, VariantsMissingFromTheirPipelinesBatchAreForgotten) {
  DecisionStore store;
  publish(store, {decision("llm", "m", "a", 1), decision("llm", "m", "b", 1)}, "p1");
  publish(store, {decision("llm", "n", "c", 1)}, "p2");
  auto stats = publish(store, {decision("llm", "m", "a", 1)}, "p1");
  EXPECT_EQ(stats.removed, 1u);
  EXPECT_EQ(store.lookup(ref("llm", "b")).error().code, sdk::ErrorCode::kNotFound);
  EXPECT_TRUE(store.lookup(ref("llm", "c")).ok()) << "another pipeline's variant is not removed";
  // An empty batch of p2 forgets c: its VariantAutoscaling is gone.
  publish(store, {}, "p2");
  EXPECT_EQ(store.lookup(ref("llm", "c")).error().code, sdk::ErrorCode::kNotFound);
}

TEST(DecisionStore, APartialBatchForgetsNothing) {
  DecisionStore store;
  publish(store, {decision("llm", "m", "a", 0), decision("llm", "n", "b", 3)});
  // The fast check of models at zero: only model m, back to 1.
  auto stats = publish(store, {decision("llm", "m", "a", 1)}, "default", /*partial=*/true);
  EXPECT_EQ(stats.removed, 0u);
  EXPECT_EQ(store.lookup(ref("llm", "a"))->desired, 1);
  EXPECT_EQ(store.lookup(ref("llm", "b"))->desired, 3) << "a model absent from a partial batch is not gone";
  publish(store, {decision("llm", "m", "a", 1)});
  EXPECT_EQ(store.lookup(ref("llm", "b")).error().code, sdk::ErrorCode::kNotFound) << "a full batch still forgets";
}

TEST(DecisionStore, SkipsDecisionsWithoutVariantOrWithNegativeReplicas) {
  DecisionStore store;
  auto stats = publish(store, {decision("llm", "m", "", 1), decision("llm", "m", "neg", -1)});
  EXPECT_EQ(stats.skipped, 2u);
  EXPECT_EQ(store.size(), 0u);
  EXPECT_EQ(store.lookup(ref("llm", "neg")).error().code, sdk::ErrorCode::kNotFound);
}

TEST(DecisionStore, VersionMovesOnlyOnChange) {
  DecisionStore store;
  const auto v0 = store.version();
  publish(store, {decision("llm", "m", "a", 1)});
  const auto v1 = store.version();
  EXPECT_NE(v1, v0);
  publish(store, {decision("llm", "m", "a", 1)});
  EXPECT_EQ(store.version(), v1) << "an identical publish is no change";
  publish(store, {decision("llm", "m", "a", 2)});
  EXPECT_NE(store.version(), v1);
}

TEST(DecisionStore, WaitForChangeWakesOnPublishAndOnClose) {
  DecisionStore store;
  const auto seen = store.version();
  auto waiter =
      std::async(std::launch::async, [&] { return store.wait_for_change(seen, steady_clock::now() + seconds(30)); });
  publish(store, {decision("llm", "m", "a", 1)});
  ASSERT_EQ(waiter.wait_for(seconds(10)), std::future_status::ready) << "publish did not wake the waiter";
  EXPECT_NE(waiter.get(), seen);

  const auto seen2 = store.version();
  auto closed =
      std::async(std::launch::async, [&] { return store.wait_for_change(seen2, steady_clock::now() + seconds(30)); });
  store.close();
  ASSERT_EQ(closed.wait_for(seconds(10)), std::future_status::ready) << "close did not wake the waiter";
  EXPECT_TRUE(store.closed());
  EXPECT_TRUE(store.lookup(ref("llm", "a")).ok()) << "close keeps the values";
  store.reopen();
  EXPECT_FALSE(store.closed());
}

TEST(DecisionStore, WaitForChangeTimesOut) {
  DecisionStore store;
  const auto seen = store.version();
  const auto start = steady_clock::now();
  EXPECT_EQ(store.wait_for_change(seen, start + std::chrono::milliseconds(20)), seen);
  EXPECT_GE(steady_clock::now() - start, std::chrono::milliseconds(20));
}

}  // namespace
}  // namespace wva::plugins::keda
