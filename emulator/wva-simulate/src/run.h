// Runs one pipeline of a scenario: the host with a virtual clock, the emulator as source and sink (HPA
// model), the pipeline's analyzers in between; or, for a static pipeline, a fixed warm fleet with the
// HPA model off. Nothing is written to disk except the emulator's report in `work` (read back at once).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "scenario.h"

namespace wva::simulate {

struct RunEnv {
  std::vector<std::filesystem::path> plugin_paths;
  std::string system_ns;
  std::filesystem::path work;  // scratch folder (the caller removes it)
  bool verbose = false;
  bool progress = true;  // progress lines on stderr every 2 s of wall time
};

struct RunOutcome {
  std::optional<nlohmann::json> run;  // {pipeline, description, cycles, ..., summary, series, totals}
  std::vector<std::string> errors;
};

RunOutcome run_pipeline(const Scenario& scenario, const PipelineSpec& pipeline, const RunEnv& env);

// Totals over a run's variants and its (first) model: cost, GPU-hours, mean pods, replica changes per
// hour, SLO attainment. Added to each run as "totals".
nlohmann::json run_totals(const nlohmann::json& summary, double duration_s, const Scenario& scenario);

}  // namespace wva::simulate
