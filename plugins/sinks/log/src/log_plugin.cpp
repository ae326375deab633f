#include "log_plugin.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <exception>
#include <vector>

#include <nlohmann/json.hpp>

#include "wva/sdk/util/json.h"

namespace wva::plugins::log_sink {

using sdk::ErrorCode;
using sdk::make_error;

std::string render_json(std::span<const sdk::Decision> decisions) { return sdk::dump_decisions(decisions) + "\n"; }

std::string render_text(std::span<const sdk::Decision> decisions) {
  constexpr std::size_t kColumns = 7;
  std::vector<std::array<std::string, kColumns>> rows;
  rows.reserve(decisions.size());
  for (const auto& d : decisions) {
    rows.push_back({d.model.ns, d.model.model_id, d.variant, d.accelerator.empty() ? "-" : d.accelerator,
                    "current=" + std::to_string(d.current), "desired=" + std::to_string(d.desired),
                    "analyzer=" + (d.analyzer.empty() ? std::string("-") : d.analyzer)});
  }
  std::array<std::size_t, kColumns> width{};
  for (const auto& row : rows)
    for (std::size_t c = 0; c < kColumns; ++c) width[c] = std::max(width[c], row[c].size());
  std::string out;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    for (std::size_t c = 0; c < kColumns; ++c) {
      out += rows[i][c];
      out.append(width[c] - rows[i][c].size() + 2, ' ');
    }
    out += "reason=" + decisions[i].reason;
    if (decisions[i].held) out += " (held: last good decision)";
    out += "\n";
  }
  return out;
}

LogSink::~LogSink() { close_file(); }

sdk::Result<void> LogSink::configure(const sdk::Config& config, const std::string& config_path) {
  try {
    Settings parsed = read_settings(config);
    std::lock_guard lock(mutex_);
    config_ = std::move(parsed);
    config_path_ = config_path;
    return sdk::ok();
  } catch (const std::exception& e) {
    return make_error(ErrorCode::kInternal, std::string("log sink: ") + e.what(), config_path);
  }
}

sdk::Result<void> LogSink::start(sdk::PluginContext& /*context*/) {
  try {
    std::lock_guard lock(mutex_);
    if (out_) return sdk::ok();  // already started
    if (config_.output == "stdout") {
      out_ = stdout;
    } else if (config_.output == "stderr") {
      out_ = stderr;
    } else {
      out_ = std::fopen(config_.output.c_str(), "a");
      if (!out_)
        return make_error(ErrorCode::kUnavailable,
                          "cannot open \"" + config_.output + "\" for append: " + std::strerror(errno),
                          config_path_.empty() ? "output" : config_path_ + ".output");
      owns_out_ = true;
    }
    return sdk::ok();
  } catch (const std::exception& e) {
    return make_error(ErrorCode::kInternal, std::string("log sink: ") + e.what(), config_path_);
  }
}

void LogSink::close_file() noexcept {
  if (out_ && owns_out_) std::fclose(out_);
  out_ = nullptr;
  owns_out_ = false;
}

void LogSink::stop() noexcept {
  std::lock_guard lock(mutex_);
  if (out_) std::fflush(out_);
  close_file();
}

sdk::Result<void> LogSink::publish(const sdk::PublishBatch& batch) {
  try {
    std::lock_guard lock(mutex_);
    const std::string text =
        config_.format == Format::kJson ? render_json(batch.decisions) : render_text(batch.decisions);
    if (!out_) return make_error(ErrorCode::kInternal, "log sink: publish before start", config_path_);
    if (text.empty()) return sdk::ok();
    if (std::fwrite(text.data(), 1, text.size(), out_) != text.size() || std::fflush(out_) != 0)
      return make_error(ErrorCode::kUnavailable, "cannot write to " + config_.output + ": " + std::strerror(errno),
                        config_path_.empty() ? "output" : config_path_ + ".output");
    return sdk::ok();
  } catch (const std::exception& e) {
    return make_error(ErrorCode::kInternal, std::string("log sink: ") + e.what(), config_path_);
  }
}

}  // namespace wva::plugins::log_sink
