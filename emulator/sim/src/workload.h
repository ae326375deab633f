// Request arrivals: Azure-format traces (time compression + looping) and rate profiles (constant, steps,
// ramps, sine, bursts; Poisson arrivals) with token-length distributions.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config_util.h"

namespace wva::emulator {

struct Arrival {
  double t = 0;  // s since the start of the simulation
  std::int32_t prompt = 0;
  std::int32_t output = 1;
};

class ArrivalStream {
 public:
  virtual ~ArrivalStream() = default;
  // The next arrival (non-decreasing times), or nullopt when the stream is over.
  virtual std::optional<Arrival> next() = 0;
};

// One row of an Azure LLM inference trace.
struct TraceRow {
  double t = 0;  // s since the first row
  std::int32_t prompt = 0;
  std::int32_t output = 0;
};

// Parses "2023-11-16 18:15:46.6805900" (also "...+00:00" and without fraction) to seconds since the
// epoch (UTC); nullopt when malformed.
std::optional<double> parse_trace_timestamp(const std::string& s);

// Reads an Azure CSV (TIMESTAMP,ContextTokens,GeneratedTokens); errors name file and line.
sdk::Result<std::vector<TraceRow>> load_azure_trace(const std::string& file);

struct TraceOptions {
  double speedup = 1;              // inter-arrival times divided by this (rate x speedup)
  bool loop = false;               // restart when the trace ends (shifted by its span plus one mean gap)
  double skip = 0;                 // start this many trace seconds in (before speedup)
  double start = 0;                // first arrival no earlier than this simulation time (s)
  std::optional<double> duration;  // stop after this many simulation seconds from `start`
};

std::unique_ptr<ArrivalStream> make_trace_stream(std::shared_ptr<const std::vector<TraceRow>> rows,
                                                 TraceOptions options);

// Token lengths.
struct TokenDist {
  enum class Kind { kConstant, kUniform, kNormal, kLogNormal, kExponential, kEmpirical };
  Kind kind = Kind::kConstant;
  double a = 1, b = 0;        // constant: a; uniform: [a,b]; normal/lognormal: mean a, stddev b; exp: mean a
  double min = 1, max = 1e9;  // clamp
  std::shared_ptr<const std::vector<std::int32_t>> samples;  // empirical (from a trace column)

  std::int32_t sample(std::mt19937_64& rng) const;
  double mean() const;
};

// `300` or {constant: 300} | {uniform: [100, 500]} | {normal: {mean, stddev}} | {lognormal: {mean, stddev}}
// | {exponential: {mean}}, each optionally with min / max.
std::optional<TokenDist> parse_token_dist(const nlohmann::json& j, const std::string& path, ConfigErrors& errors);

// Arrival rate over time, req/s.
struct RateProfile {
  enum class Kind { kConstant, kSteps, kRamps, kSine, kBursts };
  struct Point {
    double at = 0;
    double rate = 0;
  };
  Kind kind = Kind::kConstant;
  std::vector<Point> points;  // constant: one; steps: piecewise constant; ramps: piecewise linear
  double mean = 0, amplitude = 0, period = 1, phase = 0;       // sine (phase in s)
  double base = 0, peak = 0, every = 1, burst = 0, first = 0;  // bursts: peak for `burst` s every `every` s

  double rate_at(double t) const;
  double max_rate() const;
};

// {constant: 5} | {steps: [{at: 0s, rate: 5}, ...]} | {ramps: [{at, rate}, ...]}
// | {sine: {mean, amplitude, period, phase}} | {bursts: {base, peak, every, duration, start}}.
std::optional<RateProfile> parse_rate_profile(const nlohmann::json& j, const std::string& path, ConfigErrors& errors);

struct RateOptions {
  RateProfile profile;
  TokenDist input;
  TokenDist output;
  double scale = 1;  // multiplies the rate
  double start = 0;
  std::optional<double> duration;
  bool poisson = true;  // false: evenly spaced arrivals at the current rate
  std::uint64_t seed = 1;
};

std::unique_ptr<ArrivalStream> make_rate_stream(RateOptions options);

}  // namespace wva::emulator
