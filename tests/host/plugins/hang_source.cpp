// A source whose collect() hangs on command, for the deadline and restart tests of the real binary.
// Settings: `hangOnCall` (this instance's Nth collect() hangs; 0, the default, never), `releaseFile`
// (the hang ends once this file exists; polled every 10 ms, for 60 s at most, so the process always
// ends). Every other call answers every model with metrics in state ok and no replicas.
#include <chrono>
#include <filesystem>
#include <thread>

#include "wva/sdk/export.h"

namespace {

class HangSource : public wva::sdk::Plugin, public wva::sdk::Source {
 public:
  wva::sdk::Result<void> configure(const wva::sdk::Config& config, const std::string& path) override {
    if (config.contains("hangOnCall") &&
        (!config["hangOnCall"].is_number_integer() || config["hangOnCall"].get<long long>() < 0))
      return wva::sdk::make_error(wva::sdk::ErrorCode::kInvalidConfig, "must be a non-negative integer",
                                  path + ".hangOnCall");
    if (config.contains("releaseFile") && !config["releaseFile"].is_string())
      return wva::sdk::make_error(wva::sdk::ErrorCode::kInvalidConfig, "must be a file path", path + ".releaseFile");
    hang_on_ = static_cast<unsigned>(config.value("hangOnCall", 0LL));
    release_file_ = config.value("releaseFile", std::string());
    return wva::sdk::ok();
  }
  wva::sdk::Result<void> start(wva::sdk::PluginContext&) override { return wva::sdk::ok(); }
  void stop() noexcept override {}
  wva::sdk::Source* as_source() override { return this; }

  wva::sdk::Result<std::map<wva::sdk::ModelKey, wva::sdk::ModelMetrics>> collect(
      std::span<const wva::sdk::ModelView> models, wva::sdk::Deadline) override {
    if (++calls_ == hang_on_) {
      const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
      std::error_code ec;
      while (std::chrono::steady_clock::now() < until && !std::filesystem::exists(release_file_, ec))
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::map<wva::sdk::ModelKey, wva::sdk::ModelMetrics> out;
    for (const auto& m : models) out[m.key].state = wva::sdk::MetricsState::kOk;
    return out;
  }

 private:
  unsigned hang_on_ = 0;
  unsigned calls_ = 0;
  std::string release_file_;
};

}  // namespace

WVA_PLUGIN(HangSource, "test-hang-source", "1.0.0")
