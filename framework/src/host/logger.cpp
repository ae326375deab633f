#include "host/logger.h"

#include <spdlog/sinks/stdout_sinks.h>

namespace wva::framework {

void SpdLogger::log(sdk::LogLevel level, std::string_view message) {
  spdlog::level::level_enum l = spdlog::level::info;
  switch (level) {
    case sdk::LogLevel::kDebug: l = spdlog::level::debug; break;
    case sdk::LogLevel::kInfo: l = spdlog::level::info; break;
    case sdk::LogLevel::kWarn: l = spdlog::level::warn; break;
    case sdk::LogLevel::kError: l = spdlog::level::err; break;
  }
  if (prefix_.empty()) sink_->log(l, "{}", message);
  else sink_->log(l, "[{}] {}", prefix_, message);
}

std::shared_ptr<spdlog::logger> make_stderr_logger(bool verbose) {
  auto logger = std::make_shared<spdlog::logger>("wva", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  logger->set_level(verbose ? spdlog::level::debug : spdlog::level::info);
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v", spdlog::pattern_time_type::utc);
  return logger;
}

}  // namespace wva::framework
