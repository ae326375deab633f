// The `log` sink: one publish = one JSON document or one aligned text line per decision.
//
// Settings: settings.h.
#pragma once

#include <cstdio>
#include <mutex>
#include <span>
#include <string>

#include "settings.h"
#include "wva/sdk/plugin.h"

namespace wva::plugins::log_sink {

// {"decisions":[{"namespace","model","variant","accelerator","current","desired","reason","analyzer"}...]}
// on one line, ending in '\n'. An unknown accelerator is null.
std::string render_json(std::span<const sdk::Decision> decisions);

// One line per decision, columns aligned across the batch; empty for an empty batch.
std::string render_text(std::span<const sdk::Decision> decisions);

class LogSink : public sdk::Plugin, public sdk::Sink {
 public:
  LogSink() = default;
  LogSink(const LogSink&) = delete;
  LogSink& operator=(const LogSink&) = delete;
  ~LogSink() override;

  // `config` is validated (settings_schema()): read, not checked.
  sdk::Result<void> configure(const sdk::Config& config, const std::string& config_path) override;
  std::optional<sdk::SettingsSchema> settings_schema() const override { return log_sink::settings_schema(); }
  sdk::Result<void> start(sdk::PluginContext& context) override;
  void stop() noexcept override;
  sdk::Result<void> publish(const sdk::PublishBatch& batch) override;

 private:
  void close_file() noexcept;

  Settings config_;
  std::string config_path_;
  std::mutex mutex_;          // one publish writes at a time, so documents never interleave
  std::FILE* out_ = nullptr;  // stdout, stderr or the opened file
  bool owns_out_ = false;
};

}  // namespace wva::plugins::log_sink
