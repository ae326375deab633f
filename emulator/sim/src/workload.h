// Request arrivals: Azure-format traces (time compression + looping) and rate profiles (constant, steps,
// ramps, sine, bursts; Poisson arrivals) with token-length distributions.
#pragma once

#include <cstdint>
#include <istream>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config_util.h"

namespace wva::emulator {

// A prompt's KV blocks as a trace names them (Mooncake's hash_ids): one hash per `block_tokens` tokens
// of the prompt, equal hashes for equal prefixes. A pod that computed a prompt keeps its full blocks
// cached; a later prompt whose leading blocks are cached there skips computing them (vLLM's automatic
// prefix caching). `salt` tells the loops of a looped trace apart (a loop is new conversations).
struct PromptBlocks {
  const std::uint32_t* hashes = nullptr;  // into the trace, which outlives the world
  std::uint32_t count = 0;
  std::uint32_t salt = 0;
  std::int32_t block_tokens = 0;
};

struct Arrival {
  double t = 0;  // s since the start of the simulation
  std::int32_t prompt = 0;
  std::int32_t output = 1;
  PromptBlocks blocks;  // none unless the trace carries block hashes
};

class ArrivalStream {
 public:
  virtual ~ArrivalStream() = default;
  // The next arrival (non-decreasing times), or nullopt when the stream is over.
  virtual std::optional<Arrival> next() = 0;
};

// One request of a trace.
struct TraceRow {
  double t = 0;  // s since the first row
  std::int32_t prompt = 0;
  std::int32_t output = 0;
  std::uint32_t block_begin = 0;  // its prompt's block hashes: Trace::block_hashes[begin, begin + count)
  std::uint32_t block_count = 0;
};

struct Trace {
  std::vector<TraceRow> rows;
  std::vector<std::uint32_t> block_hashes;  // every row's, concatenated
};

// Parses "2023-11-16 18:15:46.6805900" (also "...+00:00" and without fraction) to seconds since the
// epoch (UTC); nullopt when malformed.
std::optional<double> parse_trace_timestamp(const std::string& s);

// Reads an Azure CSV (TIMESTAMP,ContextTokens,GeneratedTokens); errors name file and line.
sdk::Result<std::vector<TraceRow>> load_azure_trace(const std::string& file);

// Reads a Mooncake JSONL trace: one object per line, {"timestamp": ms from the start, "input_length",
// "output_length", "hash_ids": [block hashes]} (hash_ids optional); errors name file and line. Lines
// longer than 1 MiB are refused.
sdk::Result<Trace> load_mooncake_trace(const std::string& file);

// Either format, told by the file's first non-blank character ('{': JSONL).
sdk::Result<Trace> load_trace(const std::string& file);

// The same readers on a stream; `file` names it in errors.
sdk::Result<std::vector<TraceRow>> parse_azure_trace(std::istream& in, const std::string& file);
sdk::Result<Trace> parse_mooncake_trace(std::istream& in, const std::string& file);
sdk::Result<Trace> parse_trace(std::istream& in, const std::string& file);

struct TraceOptions {
  double speedup = 1;               // inter-arrival times divided by this (rate x speedup)
  bool loop = false;                // restart when the trace ends (shifted by its span plus one mean gap)
  double skip = 0;                  // start this many trace seconds in (before speedup)
  double start = 0;                 // first arrival no earlier than this simulation time (s)
  std::optional<double> duration;   // stop after this many simulation seconds from `start`
  std::int32_t block_tokens = 512;  // prompt tokens per block hash (Mooncake's traces: 512)
};

std::unique_ptr<ArrivalStream> make_trace_stream(std::shared_ptr<const Trace> trace, TraceOptions options);

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
