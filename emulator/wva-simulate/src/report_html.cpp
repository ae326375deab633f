// The HTML report of `wva simulate`: summary tables, charts over time and the static frontier (inline
// SVG, no scripts).
#include <cmath>
#include <iomanip>
#include <optional>
#include <sstream>

#include "frontier.h"
#include "report_html.h"

namespace wva::simulate {

namespace {

using nlohmann::json;

std::string fmt(const json& v, int precision = 1, const char* suffix = "") {
  if (!v.is_number()) return "-";
  std::ostringstream out;
  out << std::fixed << std::setprecision(precision) << v.get<double>() << suffix;
  return out.str();
}

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

struct Line {
  std::string label;
  std::vector<double> t;
  std::vector<std::optional<double>> y;
};

constexpr const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                   "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"};

std::string num(double v, int precision = 2) {
  std::ostringstream out;
  out << std::setprecision(precision) << std::defaultfloat << v;
  return out.str();
}

// A line chart as inline SVG: time (minutes) on x, one polyline per series, a legend below.
std::string svg_chart(const std::string& title, const std::string& unit, const std::vector<Line>& lines) {
  const double W = 860, H = 240, L = 60, R = 20, T = 28, B = 36;
  double tmax = 0, ymax = 0;
  for (const auto& l : lines) {
    for (double t : l.t) tmax = std::max(tmax, t);
    for (const auto& y : l.y)
      if (y && std::isfinite(*y)) ymax = std::max(ymax, *y);
  }
  if (tmax <= 0) tmax = 1;
  if (ymax <= 0) ymax = 1;
  // A round upper bound: 1, 2 or 5 times a power of ten.
  const double mag = std::pow(10.0, std::floor(std::log10(ymax)));
  for (double f : {1.0, 2.0, 5.0, 10.0})
    if (f * mag >= ymax) {
      ymax = f * mag;
      break;
    }
  auto X = [&](double t) { return L + (W - L - R) * t / tmax; };
  auto Y = [&](double y) { return T + (H - T - B) * (1 - y / ymax); };
  std::ostringstream s;
  const double legend_h = 18.0 * static_cast<double>((lines.size() + 2) / 3);
  s << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << W << "\" height=\"" << H + legend_h
    << "\" viewBox=\"0 0 " << W << " " << H + legend_h << "\" font-family=\"sans-serif\" font-size=\"11\">\n";
  s << "<text x=\"" << L << "\" y=\"16\" font-size=\"13\" font-weight=\"bold\">" << html_escape(title) << " ("
    << html_escape(unit) << ")</text>\n";
  for (int i = 0; i <= 4; ++i) {
    const double y = ymax * i / 4;
    s << "<line x1=\"" << L << "\" x2=\"" << W - R << "\" y1=\"" << Y(y) << "\" y2=\"" << Y(y)
      << "\" stroke=\"#ddd\"/><text x=\"" << L - 6 << "\" y=\"" << Y(y) + 4 << "\" text-anchor=\"end\">" << num(y, 3)
      << "</text>\n";
  }
  for (int i = 0; i <= 6; ++i) {
    const double t = tmax * i / 6;
    s << "<text x=\"" << X(t) << "\" y=\"" << H - B + 16 << "\" text-anchor=\"middle\">" << num(t / 60, 3)
      << "</text>\n";
  }
  s << "<text x=\"" << (L + W - R) / 2 << "\" y=\"" << H - 4 << "\" text-anchor=\"middle\">minutes</text>\n";
  s << "<rect x=\"" << L << "\" y=\"" << T << "\" width=\"" << W - L - R << "\" height=\"" << H - T - B
    << "\" fill=\"none\" stroke=\"#999\"/>\n";
  for (std::size_t k = 0; k < lines.size(); ++k) {
    const auto& l = lines[k];
    const char* color = kColors[k % (sizeof kColors / sizeof *kColors)];
    std::string points;
    auto flush = [&] {
      if (!points.empty())
        s << "<polyline fill=\"none\" stroke=\"" << color << "\" stroke-width=\"1.5\" points=\"" << points << "\"/>\n";
      points.clear();
    };
    for (std::size_t i = 0; i < l.t.size() && i < l.y.size(); ++i) {
      if (!l.y[i] || !std::isfinite(*l.y[i])) {
        flush();  // a gap where the value is absent
        continue;
      }
      points += num(X(l.t[i]), 6) + "," + num(Y(*l.y[i]), 6) + " ";
    }
    flush();
    const double lx = L + static_cast<double>(k % 3) * 270, ly = H + 12 + 18.0 * static_cast<double>(k / 3);
    s << "<rect x=\"" << lx << "\" y=\"" << ly - 9 << "\" width=\"14\" height=\"4\" fill=\"" << color
      << "\"/><text x=\"" << lx + 20 << "\" y=\"" << ly - 3 << "\">" << html_escape(l.label) << "</text>\n";
  }
  s << "</svg>\n";
  return s.str();
}

std::vector<double> times(const json& series) {
  std::vector<double> t;
  for (const auto& v : series["t"]) t.push_back(v.get<double>());
  return t;
}

std::vector<std::optional<double>> values(const json& arr) {
  std::vector<std::optional<double>> out;
  for (const auto& v : arr) out.push_back(v.is_number() ? std::optional<double>(v.get<double>()) : std::nullopt);
  return out;
}

}  // namespace

std::string render_report_html(const json& report) {
  std::ostringstream h;
  const std::string scenario = report.value("scenario", std::string("scenario"));
  h << "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>wva simulate: " << html_escape(scenario)
    << "</title>\n<style>body{font-family:sans-serif;margin:24px;color:#222}table{border-collapse:collapse;"
       "margin:8px 0 20px}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}th{background:#f4f4f4}"
       "td:first-child,th:first-child{text-align:left}h2{margin-top:28px}</style></head><body>\n";
  h << "<h1>wva simulate: " << html_escape(scenario) << "</h1>\n<p>" << fmt(report["durationSeconds"], 0)
    << " simulated seconds per pipeline; every pipeline sees the identical workload.</p>\n";
  h << "<h2>Summary</h2>\n<table><tr><th>pipeline</th><th>model</th><th>requests</th><th>completed</th><th>failed</th>"
       "<th>unfinished</th><th>SLO attainment</th><th>TTFT misses</th><th>ITL misses</th><th>TTFT p50 ms</th>"
       "<th>TTFT p99 ms</th><th>ITL p50 ms</th><th>ITL p99 ms</th><th>peak waiting</th></tr>\n";
  for (const auto& run : report["runs"])
    for (const auto& m : run["summary"]["models"])
      h << "<tr><td>" << html_escape(run["pipeline"].get<std::string>()) << "</td><td>"
        << html_escape(m["model"].get<std::string>()) << "</td><td>" << m["requests"] << "</td><td>" << m["completed"]
        << "</td><td>" << m["failed"] << "</td><td>" << m["unfinished"] << "</td><td>"
        << (m["sloAttainment"].is_number() ? fmt(m["sloAttainment"].get<double>() * 100, 2, "%") : "-") << "</td><td>"
        << m.value("ttftMisses", 0) << "</td><td>" << m.value("itlMisses", 0) << "</td><td>" << fmt(m["ttftP50Ms"])
        << "</td><td>" << fmt(m["ttftP99Ms"]) << "</td><td>" << fmt(m["itlP50Ms"], 2) << "</td><td>"
        << fmt(m["itlP99Ms"], 2) << "</td><td>" << m["peakWaiting"] << "</td></tr>\n";
  h << "</table>\n<table><tr><th>pipeline</th><th>variant</th><th>accelerator</th><th>GPU-hours</th><th>cost</th>"
       "<th>replica changes</th><th>max pods</th><th>final replicas</th></tr>\n";
  for (const auto& run : report["runs"])
    for (const auto& v : run["summary"]["variants"])
      h << "<tr><td>" << html_escape(run["pipeline"].get<std::string>()) << "</td><td>"
        << html_escape(v["name"].get<std::string>()) << "</td><td>" << html_escape(v["accelerator"].get<std::string>())
        << "</td><td>" << fmt(v["gpuHours"], 2) << "</td><td>" << fmt(v["cost"], 2) << "</td><td>"
        << v["replicaChanges"] << "</td><td>" << v["maxPods"] << "</td><td>" << v["finalReplicas"] << "</td></tr>\n";
  h << "</table>\n";

  std::vector<Line> rate, waiting, kv, ttft, cost, replicas;
  for (const auto& run : report["runs"]) {
    const std::string p = run["pipeline"].get<std::string>();
    const json& series = run["series"];
    const auto t = times(series);
    std::vector<std::optional<double>> cost_sum(t.size(), 0.0);
    for (const auto& [key, m] : series["models"].items()) {
      const std::string label = p + " " + key;
      rate.push_back({label, t, values(m["arrivalRate"])});
      waiting.push_back({label, t, values(m["waiting"])});
      kv.push_back({label, t, values(m["kvUsageMean"])});
      ttft.push_back({label, t, values(m["ttftP99Ms"])});
    }
    for (const auto& [key, v] : series["variants"].items()) {
      replicas.push_back({p + " " + key.substr(key.find('/') + 1), t, values(v["pods"])});
      const auto c = values(v["costPerHour"]);
      for (std::size_t i = 0; i < c.size() && i < cost_sum.size(); ++i) *cost_sum[i] += c[i].value_or(0);
    }
    cost.push_back({p, t, cost_sum});
  }
  h << "<h2>Over time</h2>\n";
  h << svg_chart("Arrival rate", "req/s", rate);
  h << svg_chart("Pods per variant", "starting + ready + terminating", replicas);
  h << svg_chart("Waiting requests", "router queue + pods' queues", waiting);
  h << svg_chart("KV-cache use, mean over ready pods", "fraction", kv);
  h << svg_chart("TTFT p99 per sample period", "ms", ttft);
  h << svg_chart("Cost rate", "per hour", cost);
  if (report.contains("frontier")) {
    h << "<h2>Against the static frontier</h2>\n" << render_frontier_svg(report);
    h << "<table><tr><th>attainment level</th><th>cheapest static fleet</th><th>cost</th></tr>\n";
    for (const auto& l : report["frontier"]["levels"])
      h << "<tr><td>" << fmt(l["level"].get<double>() * 100, 1, "%") << "</td><td>"
        << (l["fleet"].is_null() ? std::string("none reaches it") : html_escape(simulate::fleet_text(l["fleet"])))
        << "</td><td>" << fmt(l["cost"], 2) << "</td></tr>\n";
    h << "</table>\n";
  }
  h << "</body></html>\n";
  return h.str();
}

}  // namespace wva::simulate

namespace wva::simulate {

std::string render_frontier_svg(const nlohmann::json& report) {
  using nlohmann::json;
  const double W = 720, H = 420, L = 64, R = 24, T = 34, B = 48;
  const json& f = report["frontier"];
  double cmax = 0, amin = 100;
  for (const auto& p : f["points"])
    if (p["cost"].is_number())
      cmax = std::max(cmax, p["cost"].get<double>()), amin = std::min(amin, 100 * p["attainment"].get<double>());
  for (const auto& r : report["runs"]) {
    const json& t = r["totals"];
    if (t["cost"].is_number()) cmax = std::max(cmax, t["cost"].get<double>());
    if (t["sloAttainment"].is_number()) amin = std::min(amin, 100 * t["sloAttainment"].get<double>());
  }
  if (cmax <= 0) cmax = 1;
  cmax *= 1.05;
  amin = std::max(0.0, std::floor(amin / 10) * 10);
  if (amin >= 100) amin = 90;
  auto X = [&](double c) { return L + (W - L - R) * c / cmax; };
  auto Y = [&](double a) { return T + (H - T - B) * (1 - (a - amin) / (100 - amin)); };
  std::ostringstream s;
  s << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << W << "\" height=\"" << H << "\" viewBox=\"0 0 " << W
    << " " << H << "\" font-family=\"sans-serif\" font-size=\"11\">\n";
  s << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  s << "<text x=\"" << L << "\" y=\"18\" font-size=\"13\" font-weight=\"bold\">"
    << html_escape(report.value("scenario", std::string())) << ": SLO attainment vs cost</text>\n";
  for (int i = 0; i <= 5; ++i) {
    const double a = amin + (100 - amin) * i / 5;
    s << "<line x1=\"" << L << "\" x2=\"" << W - R << "\" y1=\"" << Y(a) << "\" y2=\"" << Y(a)
      << "\" stroke=\"#e4e4e4\"/><text x=\"" << L - 6 << "\" y=\"" << Y(a) + 4 << "\" text-anchor=\"end\">" << num(a, 3)
      << "%</text>\n";
    const double c = cmax * i / 5;
    s << "<text x=\"" << X(c) << "\" y=\"" << H - B + 16 << "\" text-anchor=\"middle\">" << num(c, 3) << "</text>\n";
  }
  s << "<text x=\"" << (L + W - R) / 2 << "\" y=\"" << H - 12 << "\" text-anchor=\"middle\">cost of the run</text>\n";
  s << "<rect x=\"" << L << "\" y=\"" << T << "\" width=\"" << W - L - R << "\" height=\"" << H - T - B
    << "\" fill=\"none\" stroke=\"#999\"/>\n";
  for (const auto& p : f["points"]) {
    if (!p["cost"].is_number()) continue;
    const double a = 100 * p["attainment"].get<double>();
    if (a < amin) continue;
    s << "<circle cx=\"" << X(p["cost"]) << "\" cy=\"" << Y(a) << "\" r=\"2.5\" fill=\"#bbb\"><title>"
      << html_escape(simulate::fleet_text(p["fleet"])) << "</title></circle>\n";
  }
  // The frontier as a staircase: the best static attainment at or below each cost.
  std::string stairs;
  double prev_a = -1;
  for (const auto& p : f["pareto"]) {
    if (!p["cost"].is_number()) continue;
    const double a = std::max(amin, 100 * p["attainment"].get<double>());
    if (prev_a >= 0) stairs += num(X(p["cost"]), 6) + "," + num(Y(prev_a), 6) + " ";
    stairs += num(X(p["cost"]), 6) + "," + num(Y(a), 6) + " ";
    prev_a = a;
  }
  if (prev_a >= 0) stairs += num(X(cmax), 6) + "," + num(Y(prev_a), 6);
  s << "<polyline fill=\"none\" stroke=\"#555\" stroke-width=\"1.5\" points=\"" << stairs << "\"/>\n";
  std::size_t k = 0;
  double legend_y = T + 14;
  for (const auto& r : report["runs"]) {
    if (r.value("static", false)) continue;
    const json& t = r["totals"];
    if (!t["cost"].is_number() || !t["sloAttainment"].is_number()) continue;
    const char* color = kColors[k++ % (sizeof kColors / sizeof *kColors)];
    const double a = std::max(amin, 100 * t["sloAttainment"].get<double>());
    s << "<circle cx=\"" << X(t["cost"]) << "\" cy=\"" << Y(a) << "\" r=\"5\" fill=\"" << color << "\"/>\n";
    s << "<circle cx=\"" << W - R - 150 << "\" cy=\"" << legend_y - 4 << "\" r=\"5\" fill=\"" << color
      << "\"/><text x=\"" << W - R - 140 << "\" y=\"" << legend_y << "\">"
      << html_escape(r["pipeline"].get<std::string>()) << "</text>\n";
    legend_y += 16;
  }
  s << "<text x=\"" << W - R - 150 << "\" y=\"" << legend_y << "\" fill=\"#555\">line: static frontier</text>\n";
  s << "</svg>\n";
  return s.str();
}

}  // namespace wva::simulate
