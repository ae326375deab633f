// KEDA's externalscaler.ExternalScaler gRPC service over a DecisionStore, and the server that hosts it.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include <grpcpp/grpcpp.h>

#include "decision_store.h"
#include "externalscaler.grpc.pb.h"
#include "settings.h"
#include "wva/sdk/context.h"
#include "wva/sdk/result.h"

namespace wva::plugins::keda {

inline constexpr const char* kRequestsMetric = "wva_keda_scaler_requests_total";
inline constexpr const char* kStreamsMetric = "wva_keda_scaler_streams";

// How often an open StreamIsActive checks whether its client went away, between notifications.
inline constexpr std::chrono::milliseconds kStreamCancelCheck{250};

// Every answer comes from the store; an unknown variant or one not decided yet is an error status with
// a message (INVALID_ARGUMENT, NOT_FOUND, UNAVAILABLE), never a value of 0.
class ScalerService final : public externalscaler::ExternalScaler::Service {
 public:
  // `metrics` (may be null) gets the request counter and the open-streams gauge, labelled sink=`instance`.
  ScalerService(const DecisionStore& store, int max_streams, sdk::MetricsRegistry* metrics, std::string instance);

  grpc::Status IsActive(grpc::ServerContext* context, const externalscaler::ScaledObjectRef* request,
                        externalscaler::IsActiveResponse* response) override;
  // Sends the current answer as soon as the variant has a decision, then one message per change (0 <-> 1)
  // right after the publish that makes it. Ends with NOT_FOUND when the variant goes away, UNAVAILABLE
  // when the scaler stops, CANCELLED when the client leaves; RESOURCE_EXHAUSTED past maxStreams.
  grpc::Status StreamIsActive(grpc::ServerContext* context, const externalscaler::ScaledObjectRef* request,
                              grpc::ServerWriter<externalscaler::IsActiveResponse>* writer) override;
  grpc::Status GetMetricSpec(grpc::ServerContext* context, const externalscaler::ScaledObjectRef* request,
                             externalscaler::GetMetricSpecResponse* response) override;
  grpc::Status GetMetrics(grpc::ServerContext* context, const externalscaler::GetMetricsRequest* request,
                          externalscaler::GetMetricsResponse* response) override;

  int open_streams() const { return streams_.load(); }

 private:
  grpc::Status finish(const char* method, grpc::Status status);
  void set_streams_gauge(int value);

  const DecisionStore& store_;
  const int max_streams_;
  sdk::MetricsRegistry* metrics_;
  const std::string instance_;
  std::atomic<int> streams_{0};
};

// PEM contents of the TLS files, read at start.
struct TlsMaterial {
  std::string cert_chain;
  std::string private_key;
  std::optional<std::string> client_ca;
};

// Reads the files of `files` (each at most 1 MiB, PEM). Errors name `tls_path`.certFile / keyFile / clientCAFile.
sdk::Result<TlsMaterial> read_tls(const TlsFiles& files, const std::string& tls_path);

class ScalerServer {
 public:
  ~ScalerServer();
  // Binds config.listen (port 0: a free one) with TLS when `tls` is set. kUnavailable when it cannot bind.
  static sdk::Result<std::unique_ptr<ScalerServer>> start(const ScalerConfig& config,
                                                          const std::optional<TlsMaterial>& tls, DecisionStore& store,
                                                          sdk::MetricsRegistry* metrics, const std::string& instance);
  int port() const { return port_; }
  const ScalerService& service() const { return *service_; }
  // Ends open streams (store closed), then shuts the server down, cancelling what is left after `grace`.
  // Idempotent.
  void stop(std::chrono::milliseconds grace = std::chrono::milliseconds(2000));

 private:
  ScalerServer() = default;
  DecisionStore* store_ = nullptr;
  std::unique_ptr<ScalerService> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  bool stopped_ = false;
};

}  // namespace wva::plugins::keda
