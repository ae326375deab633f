// Errors are values: every fallible SDK call returns Result<T>. No exception crosses a plugin boundary.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace wva::sdk {

enum class ErrorCode {
  kInvalidConfig,  // configuration rejected by validation
  kNotFound,       // an object (ConfigMap, Deployment, plugin file) does not exist
  kUnavailable,    // a dependency (Prometheus, API server) cannot be reached or answered an error
  kTimeout,        // the deadline passed
  kNoData,         // the query worked but returned nothing
  kConflict,       // optimistic-concurrency conflict (HTTP 409)
  kAbiMismatch,    // plugin built against another SDK ABI or toolchain
  kInternal,       // a bug or an unexpected exception
};

inline const char* to_string(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidConfig: return "invalid config";
    case ErrorCode::kNotFound: return "not found";
    case ErrorCode::kUnavailable: return "unavailable";
    case ErrorCode::kTimeout: return "timeout";
    case ErrorCode::kNoData: return "no data";
    case ErrorCode::kConflict: return "conflict";
    case ErrorCode::kAbiMismatch: return "ABI mismatch";
    case ErrorCode::kInternal: return "internal error";
  }
  return "unknown";
}

// An error with the config path (e.g. "pipelines.default.analyzers[1]") it concerns, when it has one.
struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
  std::string path;
  // A short CamelCase word for a condition's reason (e.g. a source's "PrometheusError"); empty: none.
  // Since SDK ABI 4.0.
  std::string reason = {};

  // "path: message", or just the message when there is no path.
  std::string to_string() const { return path.empty() ? message : path + ": " + message; }
};

inline Error make_error(ErrorCode code, std::string message, std::string path = {}) {
  return Error{code, std::move(message), std::move(path)};
}

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : state_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(state_); }
  const T& value() const& { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const { return std::get<1>(state_); }

  T value_or(T fallback) const { return ok() ? value() : std::move(fallback); }

 private:
  std::variant<T, Error> state_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return error_; }

 private:
  Error error_;
  bool ok_ = true;
};

inline Result<void> ok() { return {}; }

}  // namespace wva::sdk
