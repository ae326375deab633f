#include "workload.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <ctime>
#include <fstream>
#include <limits>
#include <numbers>
#include <sstream>

namespace wva::emulator {

std::optional<double> parse_trace_timestamp(const std::string& s) {
  // YYYY-MM-DD HH:MM:SS[.fffffff][+00:00|Z]
  int Y, M, D, h, m;
  double sec;
  if (s.size() < 19) return std::nullopt;
  char dash1, dash2, colon1, colon2, sep;
  std::istringstream in(s.substr(0, 19));
  in >> Y >> dash1 >> M >> dash2 >> D;
  in.get(sep);
  in >> h >> colon1 >> m >> colon2 >> sec;
  if (!in || dash1 != '-' || dash2 != '-' || colon1 != ':' || colon2 != ':' || (sep != ' ' && sep != 'T'))
    return std::nullopt;
  double frac = 0;
  std::size_t i = 19;
  if (i < s.size() && s[i] == '.') {
    double scale = 0.1;
    ++i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
      frac += (s[i] - '0') * scale;
      scale /= 10;
      ++i;
    }
  }
  // Days from civil (Howard Hinnant's algorithm), so no time zone database is involved.
  const int y = Y - (M <= 2);
  const int era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (M + (M > 2 ? -3 : 9)) + 2) / 5 + D - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const long days = era * 146097L + static_cast<long>(doe) - 719468L;
  return static_cast<double>(days) * 86400.0 + h * 3600.0 + m * 60.0 + sec + frac;
}

sdk::Result<std::vector<TraceRow>> load_azure_trace(const std::string& file) {
  std::ifstream in(file);
  if (!in) return sdk::make_error(sdk::ErrorCode::kNotFound, "cannot open trace file " + file);
  return parse_azure_trace(in, file);
}

sdk::Result<std::vector<TraceRow>> parse_azure_trace(std::istream& in, const std::string& file) {
  std::vector<TraceRow> rows;
  std::string line;
  std::size_t lineno = 0;
  double t0 = 0;
  bool header_seen = false;
  while (std::getline(in, line)) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    if (!header_seen) {
      header_seen = true;
      if (line.rfind("TIMESTAMP", 0) == 0) continue;
    }
    const auto c1 = line.find(',');
    const auto c2 = c1 == std::string::npos ? c1 : line.find(',', c1 + 1);
    auto bad = [&](const std::string& why) {
      return sdk::make_error(sdk::ErrorCode::kInvalidConfig, file + ":" + std::to_string(lineno) + ": " + why);
    };
    if (c2 == std::string::npos) return bad("expected TIMESTAMP,ContextTokens,GeneratedTokens");
    auto ts = parse_trace_timestamp(line.substr(0, c1));
    if (!ts) return bad("bad timestamp \"" + line.substr(0, c1) + "\"");
    char* end = nullptr;
    const std::string a = line.substr(c1 + 1, c2 - c1 - 1), b = line.substr(c2 + 1);
    const long prompt = std::strtol(a.c_str(), &end, 10);
    constexpr long kMaxTokens = std::numeric_limits<std::int32_t>::max();
    if (a.empty() || *end != '\0' || prompt < 0 || prompt > kMaxTokens)
      return bad("bad ContextTokens \"" + a + "\" (a token count in [0, 2147483647])");
    const long output = std::strtol(b.c_str(), &end, 10);
    if (b.empty() || *end != '\0' || output < 0 || output > kMaxTokens)
      return bad("bad GeneratedTokens \"" + b + "\" (a token count in [0, 2147483647])");
    if (rows.empty()) t0 = *ts;
    const double t = *ts - t0;
    if (!rows.empty() && t < rows.back().t) return bad("timestamps go backwards");
    rows.push_back({t, static_cast<std::int32_t>(prompt), static_cast<std::int32_t>(output)});
  }
  if (rows.empty()) return sdk::make_error(sdk::ErrorCode::kNoData, "trace file " + file + " has no rows");
  return rows;
}

sdk::Result<Trace> load_mooncake_trace(const std::string& file) {
  std::ifstream in(file);
  if (!in) return sdk::make_error(sdk::ErrorCode::kNotFound, "cannot open trace file " + file);
  return parse_mooncake_trace(in, file);
}

sdk::Result<Trace> parse_mooncake_trace(std::istream& in, const std::string& file) {
  constexpr std::size_t kMaxLine = 1 << 20;
  Trace trace;
  std::string line;
  std::size_t lineno = 0;
  double t0 = 0;
  while (std::getline(in, line)) {
    ++lineno;
    auto bad = [&](const std::string& why) {
      return sdk::make_error(sdk::ErrorCode::kInvalidConfig, file + ":" + std::to_string(lineno) + ": " + why);
    };
    if (line.size() > kMaxLine) return bad("line longer than 1 MiB");
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) return bad("not a JSON object");
    if (!j.is_object()) return bad("expected {\"timestamp\", \"input_length\", \"output_length\", \"hash_ids\"}");
    auto count = [&](const char* key) -> std::optional<std::int32_t> {
      const auto it = j.find(key);
      if (it == j.end() || !it->is_number()) return std::nullopt;
      const double v = it->get<double>();
      if (!(v >= 0) || v > std::numeric_limits<std::int32_t>::max() || v != std::floor(v)) return std::nullopt;
      return static_cast<std::int32_t>(v);
    };
    const auto ts = j.find("timestamp");
    if (ts == j.end() || !ts->is_number() || !(ts->get<double>() >= 0) || !std::isfinite(ts->get<double>()))
      return bad("\"timestamp\" must be a non-negative number of milliseconds");
    const auto prompt = count("input_length");
    if (!prompt) return bad("\"input_length\" must be a non-negative integer");
    const auto output = count("output_length");
    if (!output) return bad("\"output_length\" must be a non-negative integer");
    TraceRow row;
    const double t = ts->get<double>() / 1000;
    if (trace.rows.empty()) t0 = t;
    row.t = t - t0;
    if (!trace.rows.empty() && row.t < trace.rows.back().t) return bad("timestamps go backwards");
    row.prompt = *prompt;
    row.output = *output;
    row.block_begin = static_cast<std::uint32_t>(trace.block_hashes.size());
    if (const auto h = j.find("hash_ids"); h != j.end()) {
      if (!h->is_array()) return bad("\"hash_ids\" must be a list of block hashes");
      for (const auto& id : *h) {
        if (!id.is_number_unsigned() || id.get<std::uint64_t>() > std::numeric_limits<std::uint32_t>::max())
          return bad("\"hash_ids\" must hold integers in [0, 4294967295]");
        trace.block_hashes.push_back(static_cast<std::uint32_t>(id.get<std::uint64_t>()));
      }
      if (trace.block_hashes.size() > std::numeric_limits<std::uint32_t>::max() / 2)
        return bad("too many block hashes in one trace");
    }
    row.block_count = static_cast<std::uint32_t>(trace.block_hashes.size()) - row.block_begin;
    trace.rows.push_back(row);
  }
  if (trace.rows.empty()) return sdk::make_error(sdk::ErrorCode::kNoData, "trace file " + file + " has no rows");
  return trace;
}

sdk::Result<Trace> load_trace(const std::string& file) {
  std::ifstream in(file);
  if (!in) return sdk::make_error(sdk::ErrorCode::kNotFound, "cannot open trace file " + file);
  return parse_trace(in, file);
}

sdk::Result<Trace> parse_trace(std::istream& in, const std::string& file) {
  const auto start = in.tellg();
  char c = 0;
  while (in.get(c) && std::isspace(static_cast<unsigned char>(c))) {}
  const bool jsonl = in && c == '{';
  in.clear();
  in.seekg(start);
  if (jsonl) return parse_mooncake_trace(in, file);
  auto rows = parse_azure_trace(in, file);
  if (!rows.ok()) return rows.error();
  Trace trace;
  trace.rows = std::move(rows.value());
  return trace;
}

namespace {

class TraceStream final : public ArrivalStream {
 public:
  TraceStream(std::shared_ptr<const Trace> trace, TraceOptions o) : trace_(std::move(trace)), o_(o) {
    const auto& r = trace_->rows;
    first_ = static_cast<std::size_t>(
        std::lower_bound(r.begin(), r.end(), o_.skip, [](const TraceRow& row, double t) { return row.t < t; }) -
        r.begin());
    if (first_ >= r.size()) first_ = 0;
    const double span = r.back().t - r[first_].t;
    const std::size_t n = r.size() - first_;
    // One loop lasts the span plus one mean gap, so the loop seam looks like any other gap.
    loop_span_ = n > 1 ? span + span / static_cast<double>(n - 1) : 1.0;
    i_ = first_;
  }

  std::optional<Arrival> next() override {
    const auto& r = trace_->rows;
    if (i_ >= r.size()) {
      if (!o_.loop) return std::nullopt;
      i_ = first_;
      ++loops_;
    }
    const TraceRow& row = r[i_++];
    const double trace_t = row.t - r[first_].t + static_cast<double>(loops_) * loop_span_;
    const double t = o_.start + trace_t / o_.speedup;
    if (o_.duration && t >= o_.start + *o_.duration) {
      i_ = r.size();
      o_.loop = false;
      return std::nullopt;
    }
    Arrival a{t, row.prompt, std::max<std::int32_t>(1, row.output), {}};
    if (row.block_count > 0)
      a.blocks = {trace_->block_hashes.data() + row.block_begin, row.block_count, static_cast<std::uint32_t>(loops_),
                  o_.block_tokens};
    return a;
  }

 private:
  std::shared_ptr<const Trace> trace_;
  TraceOptions o_;
  std::size_t first_ = 0;
  std::size_t i_ = 0;
  std::uint64_t loops_ = 0;
  double loop_span_ = 1;
};

class RateStream final : public ArrivalStream {
 public:
  explicit RateStream(RateOptions o) : o_(std::move(o)), rng_(o_.seed), t_(o_.start) {
    max_rate_ = o_.profile.max_rate() * o_.scale;
  }

  std::optional<Arrival> next() override {
    if (max_rate_ <= 0) return std::nullopt;
    const double end = o_.duration ? o_.start + *o_.duration : std::numeric_limits<double>::infinity();
    // Thinning (Lewis-Shedler): candidates at the peak rate, kept with probability rate(t)/peak.
    for (int guard = 0; guard < 10'000'000; ++guard) {
      if (o_.poisson) {
        t_ += std::exponential_distribution<double>(max_rate_)(rng_);
      } else {
        const double r = o_.profile.rate_at(t_ - o_.start) * o_.scale;
        t_ += 1.0 / (r > 0 ? r : max_rate_);
      }
      if (t_ >= end) return std::nullopt;
      const double r = o_.profile.rate_at(t_ - o_.start) * o_.scale;
      if (!o_.poisson) {
        if (r <= 0) continue;
      } else if (std::uniform_real_distribution<double>(0, 1)(rng_) * max_rate_ >= r) {
        continue;
      }
      return Arrival{t_, o_.input.sample(rng_), std::max<std::int32_t>(1, o_.output.sample(rng_)), {}};
    }
    return std::nullopt;
  }

 private:
  RateOptions o_;
  std::mt19937_64 rng_;
  double t_;
  double max_rate_ = 0;
};

}  // namespace

std::unique_ptr<ArrivalStream> make_trace_stream(std::shared_ptr<const Trace> trace, TraceOptions options) {
  return std::make_unique<TraceStream>(std::move(trace), options);
}

std::unique_ptr<ArrivalStream> make_rate_stream(RateOptions options) {
  return std::make_unique<RateStream>(std::move(options));
}

std::int32_t TokenDist::sample(std::mt19937_64& rng) const {
  double v = a;
  switch (kind) {
    case Kind::kConstant: v = a; break;
    case Kind::kUniform: v = std::uniform_real_distribution<double>(a, b + 1)(rng); break;
    case Kind::kNormal: v = std::normal_distribution<double>(a, b)(rng); break;
    case Kind::kLogNormal: {
      // Parameters of the underlying normal from the distribution's own mean and stddev.
      const double s2 = std::log(1 + (b * b) / (a * a));
      v = std::lognormal_distribution<double>(std::log(a) - s2 / 2, std::sqrt(s2))(rng);
      break;
    }
    case Kind::kExponential: v = std::exponential_distribution<double>(1.0 / a)(rng); break;
    case Kind::kEmpirical:
      if (samples && !samples->empty())
        v = (*samples)[std::uniform_int_distribution<std::size_t>(0, samples->size() - 1)(rng)];
      break;
  }
  v = std::clamp(std::floor(v), min, max);
  return static_cast<std::int32_t>(v);
}

double TokenDist::mean() const {
  switch (kind) {
    case Kind::kConstant: return a;
    case Kind::kUniform: return (a + b) / 2;
    case Kind::kNormal:
    case Kind::kLogNormal:
    case Kind::kExponential: return a;
    case Kind::kEmpirical: {
      if (!samples || samples->empty()) return 0;
      double s = 0;
      for (auto x : *samples) s += x;
      return s / static_cast<double>(samples->size());
    }
  }
  return a;
}

std::optional<TokenDist> parse_token_dist(const nlohmann::json& j, const std::string& path, ConfigErrors& errors) {
  TokenDist d;
  if (j.is_number()) {
    auto v = get_number(j, path, errors);
    if (!v) return std::nullopt;
    if (*v < 1) {
      errors.add(path, "must be >= 1");
      return std::nullopt;
    }
    d.a = *v;
    d.min = 1;
    return d;
  }
  if (!j.is_object()) {
    errors.add(path, "must be a token count or a distribution like {lognormal: {mean: 1000, stddev: 500}}");
    return std::nullopt;
  }
  const std::size_t before = errors.size();
  check_keys(j, {"constant", "uniform", "normal", "lognormal", "exponential", "min", "max"}, path, errors);
  int kinds = 0;
  auto pos = [&](const nlohmann::json& v, const std::string& p) -> double {
    auto x = get_number(v, p, errors);
    if (x && *x <= 0) {
      errors.add(p, "must be > 0");
      return 1;
    }
    return x.value_or(1);
  };
  auto mean_sd = [&](const nlohmann::json& v, const std::string& p, bool need_sd) {
    if (!v.is_object()) {
      errors.add(p, "must be a map {mean" + std::string(need_sd ? ", stddev}" : "}"));
      return;
    }
    check_keys(v, need_sd ? std::vector<std::string>{"mean", "stddev"} : std::vector<std::string>{"mean"}, p, errors);
    if (v.contains("mean")) d.a = pos(v["mean"], p + ".mean");
    else errors.add(p + ".mean", "missing");
    if (need_sd) {
      if (v.contains("stddev")) {
        auto sd = get_number(v["stddev"], p + ".stddev", errors);
        if (sd && *sd < 0) errors.add(p + ".stddev", "must be >= 0");
        else if (sd) d.b = *sd;
      } else {
        errors.add(p + ".stddev", "missing");
      }
    }
  };
  if (j.contains("constant"))
    ++kinds, d.kind = TokenDist::Kind::kConstant, d.a = pos(j["constant"], path + ".constant");
  if (j.contains("uniform")) {
    ++kinds;
    d.kind = TokenDist::Kind::kUniform;
    const auto& u = j["uniform"];
    if (!u.is_array() || u.size() != 2) {
      errors.add(path + ".uniform", "must be [min, max]");
    } else {
      d.a = pos(u[0], path + ".uniform[0]");
      d.b = pos(u[1], path + ".uniform[1]");
      if (d.b < d.a) errors.add(path + ".uniform", "max must be >= min");
    }
  }
  if (j.contains("normal")) ++kinds, d.kind = TokenDist::Kind::kNormal, mean_sd(j["normal"], path + ".normal", true);
  if (j.contains("lognormal"))
    ++kinds, d.kind = TokenDist::Kind::kLogNormal, mean_sd(j["lognormal"], path + ".lognormal", true);
  if (j.contains("exponential"))
    ++kinds, d.kind = TokenDist::Kind::kExponential, mean_sd(j["exponential"], path + ".exponential", false);
  if (kinds != 1) errors.add(path, "needs exactly one of constant, uniform, normal, lognormal, exponential");
  if (j.contains("min")) d.min = std::max(1.0, pos(j["min"], path + ".min"));
  if (j.contains("max")) d.max = pos(j["max"], path + ".max");
  if (d.max < d.min) errors.add(path + ".max", "must be >= min");
  if (errors.size() != before) return std::nullopt;
  return d;
}

double RateProfile::rate_at(double t) const {
  switch (kind) {
    case Kind::kConstant: return points.empty() ? 0 : points.front().rate;
    case Kind::kSteps: {
      double r = 0;
      for (const auto& p : points) {
        if (p.at > t) break;
        r = p.rate;
      }
      return r;
    }
    case Kind::kRamps: {
      if (points.empty()) return 0;
      if (t <= points.front().at) return points.front().at <= 0 ? points.front().rate : 0;
      for (std::size_t i = 1; i < points.size(); ++i) {
        if (t < points[i].at) {
          const auto& a = points[i - 1];
          const auto& b = points[i];
          return a.rate + (b.rate - a.rate) * (t - a.at) / (b.at - a.at);
        }
      }
      return points.back().rate;
    }
    case Kind::kSine: return std::max(0.0, mean + amplitude * std::sin(2 * std::numbers::pi * (t + phase) / period));
    case Kind::kBursts: {
      if (t < first) return base;
      const double in = std::fmod(t - first, every);
      return in < burst ? peak : base;
    }
  }
  return 0;
}

double RateProfile::max_rate() const {
  switch (kind) {
    case Kind::kConstant:
    case Kind::kSteps:
    case Kind::kRamps: {
      double m = 0;
      for (const auto& p : points) m = std::max(m, p.rate);
      return m;
    }
    case Kind::kSine: return std::max(0.0, mean + std::abs(amplitude));
    case Kind::kBursts: return std::max(base, peak);
  }
  return 0;
}

std::optional<RateProfile> parse_rate_profile(const nlohmann::json& j, const std::string& path, ConfigErrors& errors) {
  if (!j.is_object() || j.size() != 1) {
    errors.add(path, "must have exactly one of constant, steps, ramps, sine, bursts");
    return std::nullopt;
  }
  const std::size_t before = errors.size();
  check_keys(j, {"constant", "steps", "ramps", "sine", "bursts"}, path, errors);
  if (errors.size() != before) return std::nullopt;
  RateProfile p;
  auto nonneg = [&](const nlohmann::json& v, const std::string& where) {
    auto x = get_number(v, where, errors);
    if (x && *x < 0) {
      errors.add(where, "must be >= 0");
      return 0.0;
    }
    return x.value_or(0);
  };
  auto field = [&](const nlohmann::json& obj, const char* key, const std::string& where, bool duration,
                   std::optional<double> fallback) -> double {
    if (!obj.contains(key)) {
      if (!fallback) errors.add(where + "." + key, "missing");
      return fallback.value_or(0);
    }
    if (duration) return get_seconds(obj[key], where + "." + key, errors).value_or(0);
    return nonneg(obj[key], where + "." + key);
  };
  const std::string key = j.begin().key();  // the one key (a copy: items() proxies are temporaries)
  const nlohmann::json& v = j.begin().value();
  const std::string kp = path + "." + key;
  if (key == "constant") {
    p.kind = RateProfile::Kind::kConstant;
    p.points.push_back({0, nonneg(v, kp)});
  } else if (key == "steps" || key == "ramps") {
    p.kind = key == "steps" ? RateProfile::Kind::kSteps : RateProfile::Kind::kRamps;
    if (!v.is_array() || v.empty()) {
      errors.add(kp, "must be a non-empty list of {at, rate}");
    } else {
      for (std::size_t i = 0; i < v.size(); ++i) {
        const std::string ip = kp + "[" + std::to_string(i) + "]";
        if (!v[i].is_object()) {
          errors.add(ip, "must be {at: <duration>, rate: <req/s>}");
          continue;
        }
        check_keys(v[i], {"at", "rate"}, ip, errors);
        RateProfile::Point pt{field(v[i], "at", ip, true, 0.0), field(v[i], "rate", ip, false, std::nullopt)};
        if (!p.points.empty() && pt.at <= p.points.back().at)
          errors.add(ip + ".at", "must be after the previous point");
        p.points.push_back(pt);
      }
    }
  } else if (key == "sine") {
    p.kind = RateProfile::Kind::kSine;
    if (!v.is_object()) {
      errors.add(kp, "must be {mean, amplitude, period[, phase]}");
    } else {
      check_keys(v, {"mean", "amplitude", "period", "phase"}, kp, errors);
      p.mean = field(v, "mean", kp, false, std::nullopt);
      p.amplitude = field(v, "amplitude", kp, false, std::nullopt);
      p.period = field(v, "period", kp, true, std::nullopt);
      p.phase = field(v, "phase", kp, true, 0.0);
      if (p.period <= 0 && v.contains("period")) errors.add(kp + ".period", "must be > 0");
    }
  } else {
    p.kind = RateProfile::Kind::kBursts;
    if (!v.is_object()) {
      errors.add(kp, "must be {base, peak, every, duration[, start]}");
    } else {
      check_keys(v, {"base", "peak", "every", "duration", "start"}, kp, errors);
      p.base = field(v, "base", kp, false, 0.0);
      p.peak = field(v, "peak", kp, false, std::nullopt);
      p.every = field(v, "every", kp, true, std::nullopt);
      p.burst = field(v, "duration", kp, true, std::nullopt);
      p.first = field(v, "start", kp, true, 0.0);
      if (p.every <= 0 && v.contains("every")) errors.add(kp + ".every", "must be > 0");
    }
  }
  if (errors.size() != before) return std::nullopt;
  return p;
}

}  // namespace wva::emulator
