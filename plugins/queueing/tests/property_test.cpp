// Property tests over seeded random inputs (deterministic, bounded in count).
#include <random>

#include <gtest/gtest.h>

#include "allocation.h"
#include "queue_model.h"

namespace wva::queueing {
namespace {

ServiceParams random_params(std::mt19937& rng) {
  std::uniform_real_distribution<double> alpha(2, 40), beta(0.001, 0.5), gamma(0, 20), delta(0.001, 0.2),
      tokens(1, 2000);
  std::uniform_int_distribution<int> batch(1, 512);
  return ServiceParams{alpha(rng), beta(rng), gamma(rng), delta(rng), batch(rng), tokens(rng), tokens(rng), 10};
}

TEST(Property, MaxRateIsMonotoneInEachSloAndMeetsIt) {
  std::mt19937 rng(20261127);
  int feasible_seen = 0;
  for (int trial = 0; trial < 60; ++trial) {
    auto m = QueueModel::make(random_params(rng));
    ASSERT_TRUE(m.ok());
    const double itl_lo = m->itl_ms(1), itl_hi = m->itl_ms(m->max_batch());
    const double ttft_lo = m->at(m->lambda_min()).ttft_ms;
    const double ttft_hi = m->at(m->lambda_max()).ttft_ms;
    // A ladder of SLOs spanning infeasible .. loose, for each SLO with the other fixed.
    for (int which = 0; which < 2; ++which) {
      double prev_rate = -1;
      bool prev_feasible = false;
      for (int step = 0; step <= 12; ++step) {
        const double f = -0.1 + 1.3 * step / 12.0;
        SloTargets slo;
        if (which == 0) {
          slo.ttft_ms = ttft_lo + f * (ttft_hi - ttft_lo);
          slo.itl_ms = itl_hi * 2;
        } else {
          slo.itl_ms = itl_lo + f * (itl_hi - itl_lo);
          slo.ttft_ms = ttft_hi * 2;
        }
        if (*slo.ttft_ms <= 0 || *slo.itl_ms <= 0) continue;
        auto r = max_rate(*m, slo);
        if (prev_feasible) {
          EXPECT_TRUE(r.feasible) << "feasibility must not be lost by loosening an SLO";
        }
        if (r.feasible) {
          ++feasible_seen;
          EXPECT_GE(r.rate, prev_rate) << "trial " << trial << " which " << which << " step " << step;
          EXPECT_LE(r.stats.ttft_ms, *slo.ttft_ms * (1 + 1e-12));
          EXPECT_LE(r.stats.itl_ms, *slo.itl_ms * (1 + 1e-12));
          EXPECT_GT(r.rate, 0);
          prev_rate = r.rate;
        } else {
          EXPECT_EQ(r.rate, 0);
          EXPECT_FALSE(r.reason.empty());
        }
        prev_feasible = r.feasible;
      }
    }
  }
  EXPECT_GT(feasible_seen, 500);
}

TEST(Property, LatencyGrowsWithArrivalRate) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 40; ++trial) {
    auto m = QueueModel::make(random_params(rng));
    ASSERT_TRUE(m.ok());
    double prev_ttft = 0, prev_itl = 0;
    for (int k = 0; k <= 20; ++k) {
      const double lambda = m->lambda_min() + (m->lambda_max() - m->lambda_min()) * k / 20.0;
      auto s = m->at(lambda);
      EXPECT_GE(s.ttft_ms, prev_ttft * (1 - 1e-9));
      EXPECT_GE(s.itl_ms, prev_itl * (1 - 1e-9));
      prev_ttft = s.ttft_ms;
      prev_itl = s.itl_ms;
    }
  }
}

TEST(Property, LimitedModeNeverAllocatesMoreGpusOfATypeThanExist) {
  std::mt19937 rng(42);
  const std::vector<std::string> types = {"H100", "H200", "A100"};
  for (auto policy :
       {BestEffort::kNone, BestEffort::kPriorityExhaustive, BestEffort::kPriorityRoundRobin, BestEffort::kRoundRobin})
    for (int trial = 0; trial < 50; ++trial) {
      std::map<std::string, int> capacity;
      for (const auto& t : types) capacity[t] = std::uniform_int_distribution<int>(0, 40)(rng);
      std::vector<ModelCandidates> models;
      const int n_models = std::uniform_int_distribution<int>(1, 12)(rng);
      for (int i = 0; i < n_models; ++i) {
        ModelCandidates m;
        m.id = "m" + std::to_string(i);
        m.priority = std::uniform_int_distribution<int>(1, 3)(rng);
        const int nv = std::uniform_int_distribution<int>(1, 3)(rng);
        for (int v = 0; v < nv; ++v) {
          m.types.push_back(types[static_cast<size_t>(v)]);
          m.gpus_per_replica.push_back(std::uniform_int_distribution<int>(1, 4)(rng));
        }
        const int nc = std::uniform_int_distribution<int>(1, 4)(rng);
        double value = 0;
        for (int c = 0; c < nc; ++c) {
          Allocation a;
          for (int v = 0; v < nv; ++v) {
            const int r = std::uniform_int_distribution<int>(0, 8)(rng);
            a.replicas.push_back(r);
            if (r > 0) a.gpus[m.types[static_cast<size_t>(v)]] += r * m.gpus_per_replica[static_cast<size_t>(v)];
          }
          value += std::uniform_real_distribution<double>(0, 5)(rng);
          a.value = value;
          m.candidates.push_back(a);
        }
        models.push_back(m);
      }
      auto results = allocate_limited(models, capacity, policy);
      ASSERT_EQ(results.size(), models.size());
      std::map<std::string, int> used;
      for (size_t i = 0; i < results.size(); ++i) {
        if (!results[i].allocated) continue;
        ASSERT_EQ(results[i].replicas.size(), models[i].types.size());
        for (size_t v = 0; v < results[i].replicas.size(); ++v)
          used[models[i].types[v]] += results[i].replicas[v] * models[i].gpus_per_replica[v];
      }
      for (const auto& [type, n] : used)
        EXPECT_LE(n, capacity[type]) << to_string(policy) << " trial " << trial << " type " << type;
    }
}

}  // namespace
}  // namespace wva::queueing
