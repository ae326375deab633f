// The HTML report of `wva simulate --report DIR`: self-contained (inline SVG charts over time, no scripts),
// rendered from the report.json document; and the static frontier plot.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace wva::simulate {

// Self-contained HTML (inline SVG, no scripts) from a report.json document.
std::string render_report_html(const nlohmann::json& report);

// The static frontier and the policies' runs on it (cost x, SLO attainment y) as a standalone SVG;
// needs report["frontier"].
std::string render_frontier_svg(const nlohmann::json& report);

}  // namespace wva::simulate
