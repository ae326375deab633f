// The static frontier of a scenario: fixed warm fleets (counts per variant, HPA off) searched in order of
// cost, and the cheapest one reaching each SLO-attainment level; and where a policy's run stands against
// it (dominated? what a static fleet of its cost reaches, what the cheapest static fleet of its
// attainment costs).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "run.h"
#include "scenario.h"

namespace wva::simulate {

struct FrontierOutcome {
  nlohmann::json frontier;  // {points: [{fleet, cost, attainment, ...}], pareto: [...], levels: [...], runs}
  std::vector<std::string> errors;
};

// Searches fleets: every count of each variant but the last up to its maxReplicas, and for each, the last
// variant's count upward until `stop_at` attainment is reached (or a fleet would cost more than the
// cheapest one that reached it). Attainment grows with a fleet, so this finds the cheapest fleet per level.
FrontierOutcome static_frontier(const Scenario& scenario, const RunEnv& env, double stop_at = 0.999);

// {bestStaticAttainmentAtCost, dominated, cheapestStaticAtAttainment: {fleet, cost}, costRatio, static99:
// {fleet, cost, policyCostRatio, policyReaches}}; tolerance in attainment (0.005 = half a point).
nlohmann::json frontier_position(const nlohmann::json& totals, const nlohmann::json& frontier,
                                 double tolerance = 0.005);

// "H100=3 H200=1"
std::string fleet_text(const nlohmann::json& fleet);

}  // namespace wva::simulate
