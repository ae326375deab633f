// sdk::Logger over spdlog, one per plugin instance, prefixed with the instance name.
#pragma once

#include <memory>
#include <string>

#include <spdlog/logger.h>

#include "wva/sdk/context.h"

namespace wva::framework {

class SpdLogger final : public sdk::Logger {
 public:
  SpdLogger(std::shared_ptr<spdlog::logger> sink, std::string prefix)
      : sink_(std::move(sink)), prefix_(std::move(prefix)) {}
  void log(sdk::LogLevel level, std::string_view message) override;

 private:
  std::shared_ptr<spdlog::logger> sink_;
  std::string prefix_;
};

// The process logger: stderr, "[time] [level] message". verbose adds debug lines.
std::shared_ptr<spdlog::logger> make_stderr_logger(bool verbose);

}  // namespace wva::framework
