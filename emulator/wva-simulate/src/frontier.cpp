#include "frontier.h"

#include <algorithm>
#include <cmath>
#include <iostream>
#include <limits>

namespace wva::simulate {

using nlohmann::json;

std::string fleet_text(const json& fleet) {
  std::string s;
  for (const auto& [v, n] : fleet.items()) {
    if (n.get<int>() == 0) continue;
    s += (s.empty() ? "" : " ") + v + "=" + std::to_string(n.get<int>());
  }
  return s.empty() ? "(none)" : s;
}

FrontierOutcome static_frontier(const Scenario& scenario, const RunEnv& env, double stop_at) {
  FrontierOutcome out;
  const auto& vs = scenario.variants;
  json points = json::array();
  if (vs.empty()) {
    out.errors.push_back("the scenario's emulator has no variants");
    return out;
  }
  const std::size_t n = vs.size();
  std::vector<int> prefix(n - 1, 0);
  double stop_cost = std::numeric_limits<double>::infinity();
  RunEnv quiet = env;
  quiet.progress = false;
  for (;;) {
    double prefix_cost = 0;
    for (std::size_t i = 0; i + 1 < n; ++i) prefix_cost += prefix[i] * vs[i].cost_per_replica_hour();
    for (int last = 0; last <= vs.back().max_replicas; ++last) {
      int pods = last;
      for (int c : prefix) pods += c;
      if (pods == 0) continue;
      const double cost_rate = prefix_cost + last * vs.back().cost_per_replica_hour();
      if (cost_rate > stop_cost + 1e-9) break;  // dearer than a fleet that already reached the top level
      PipelineSpec spec;
      spec.name = "static";
      std::map<std::string, int> fleet;
      for (std::size_t i = 0; i + 1 < n; ++i) fleet[vs[i].name] = prefix[i];
      fleet[vs.back().name] = last;
      spec.static_fleet = fleet;
      auto r = run_pipeline(scenario, spec, quiet);
      if (!r.run) {
        out.errors = r.errors;
        return out;
      }
      const json& t = (*r.run)["totals"];
      const double att = t["sloAttainment"].is_number() ? t["sloAttainment"].get<double>() : 0;
      points.push_back({{"fleet", fleet},
                        {"cost", t["cost"]},
                        {"costPerHour", cost_rate},
                        {"attainment", att},
                        {"wallSeconds", (*r.run)["wallSeconds"]}});
      if (env.progress)
        std::cerr << "wva simulate: static frontier: " << fleet_text(json(fleet)) << " attainment "
                  << std::round(att * 10000) / 100 << "%\n";
      if (att >= stop_at) {
        stop_cost = std::min(stop_cost, cost_rate);
        break;
      }
    }
    // Next prefix (odometer).
    std::size_t i = 0;
    for (; i + 1 < n; ++i) {
      if (++prefix[i] <= vs[i].max_replicas) break;
      prefix[i] = 0;
    }
    if (i + 1 >= n) break;
  }
  // Pareto: sorted by cost, keep a point when it beats every cheaper one's attainment.
  std::vector<std::size_t> order(points.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    const double ca = points[a]["costPerHour"], cb = points[b]["costPerHour"];
    if (ca != cb) return ca < cb;
    return points[a]["attainment"].get<double>() > points[b]["attainment"].get<double>();
  });
  json pareto = json::array();
  double best = -1;
  for (auto i : order) {
    const double a = points[i]["attainment"];
    if (a > best + 1e-12) pareto.push_back(points[i]), best = a;
  }
  json levels = json::array();
  for (double level : {0.5, 0.9, 0.95, 0.99, 0.999}) {
    json found = nullptr;
    for (const auto& p : pareto)
      if (p["attainment"].get<double>() >= level) {
        found = p;
        break;
      }
    levels.push_back({{"level", level},
                      {"fleet", found.is_null() ? json(nullptr) : found["fleet"]},
                      {"cost", found.is_null() ? json(nullptr) : found["cost"]}});
  }
  out.frontier = {{"points", points}, {"pareto", pareto}, {"levels", levels}, {"runs", points.size()}};
  return out;
}

json frontier_position(const json& totals, const json& frontier, double tolerance) {
  json pos = json::object();
  if (!totals["cost"].is_number() || !totals["sloAttainment"].is_number() || !frontier.contains("points")) return pos;
  const double cost = totals["cost"], att = totals["sloAttainment"];
  double best_at_cost = -1;
  json best_fleet = nullptr;
  json cheapest = nullptr;
  json static99 = nullptr;
  for (const auto& p : frontier["points"]) {
    if (!p["cost"].is_number()) continue;
    const double c = p["cost"], a = p["attainment"];
    if (c <= cost * (1 + 1e-9) && a > best_at_cost) best_at_cost = a, best_fleet = p["fleet"];
    if (a >= att - 1e-12 && (cheapest.is_null() || c < cheapest["cost"].get<double>())) cheapest = p;
    if (a >= 0.99 && (static99.is_null() || c < static99["cost"].get<double>())) static99 = p;
  }
  pos["bestStaticAttainmentAtCost"] = best_at_cost >= 0 ? json(best_at_cost) : json(nullptr);
  pos["bestStaticFleetAtCost"] = best_fleet;
  pos["dominated"] = best_at_cost >= 0 && best_at_cost > att + tolerance;
  if (!cheapest.is_null()) {
    pos["cheapestStaticAtAttainment"] = {{"fleet", cheapest["fleet"]}, {"cost", cheapest["cost"]}};
    pos["costRatio"] = cost / std::max(1e-12, cheapest["cost"].get<double>());
  }
  if (!static99.is_null()) {
    pos["static99"] = {{"fleet", static99["fleet"]},
                       {"cost", static99["cost"]},
                       {"policyReaches", att >= 0.99},
                       {"policyCostRatio", cost / std::max(1e-12, static99["cost"].get<double>())}};
  }
  return pos;
}

}  // namespace wva::simulate
