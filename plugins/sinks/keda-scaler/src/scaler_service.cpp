#include "scaler_service.h"

#include <fstream>
#include <map>
#include <utility>

#include "scaled_object.h"

namespace wva::plugins::keda {
namespace {

constexpr std::size_t kMaxPemBytes = 1u << 20;
constexpr int kMaxMessageBytes = 256 * 1024;  // a ScaledObjectRef is a few hundred bytes
constexpr int kExtraThreads = 16;             // for unary calls while maxStreams streams are open

grpc::Status to_status(const sdk::Error& e) {
  switch (e.code) {
    case sdk::ErrorCode::kInvalidConfig: return {grpc::StatusCode::INVALID_ARGUMENT, e.message};
    case sdk::ErrorCode::kNotFound: return {grpc::StatusCode::NOT_FOUND, e.message};
    case sdk::ErrorCode::kUnavailable:
    case sdk::ErrorCode::kNoData: return {grpc::StatusCode::UNAVAILABLE, e.message};
    default: return {grpc::StatusCode::INTERNAL, e.message};
  }
}

const char* code_name(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK: return "OK";
    case grpc::StatusCode::CANCELLED: return "CANCELLED";
    case grpc::StatusCode::INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case grpc::StatusCode::NOT_FOUND: return "NOT_FOUND";
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::UNAVAILABLE: return "UNAVAILABLE";
    default: return "INTERNAL";
  }
}

std::map<std::string, std::string> metadata_of(const externalscaler::ScaledObjectRef& ref) {
  return {ref.scalermetadata().begin(), ref.scalermetadata().end()};
}

// The variant the request names, then its value in the store.
sdk::Result<std::pair<VariantRef, VariantValue>> resolve(const DecisionStore& store,
                                                         const externalscaler::ScaledObjectRef& request) {
  auto ref = variant_ref(request.name(), request.namespace_(), metadata_of(request));
  if (!ref) return ref.error();
  auto value = store.lookup(*ref);
  if (!value) return value.error();
  return std::pair<VariantRef, VariantValue>(std::move(*ref), std::move(*value));
}

sdk::Result<std::string> read_pem(const std::string& file, const std::string& path, const char* what) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return sdk::make_error(sdk::ErrorCode::kNotFound, std::string("cannot read ") + what + " " + file, path);
  std::string text;
  text.resize(kMaxPemBytes + 1);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > kMaxPemBytes)
    return sdk::make_error(sdk::ErrorCode::kInvalidConfig, file + " is larger than 1 MiB", path);
  if (text.find("-----BEGIN ") == std::string::npos)
    return sdk::make_error(sdk::ErrorCode::kInvalidConfig, file + " holds no PEM block (-----BEGIN ...)", path);
  return text;
}

}  // namespace

ScalerService::ScalerService(const DecisionStore& store, int max_streams, sdk::MetricsRegistry* metrics,
                             std::string instance)
    : store_(store), max_streams_(max_streams), metrics_(metrics), instance_(std::move(instance)) {
  set_streams_gauge(0);
}

grpc::Status ScalerService::finish(const char* method, grpc::Status status) {
  if (metrics_) {
    try {
      metrics_->add_counter(kRequestsMetric, "gRPC calls the KEDA external scaler answered, by method and status",
                            {{"sink", instance_}, {"method", method}, {"code", code_name(status.error_code())}}, 1);
    } catch (...) {
      // a counter never fails a call
    }
  }
  return status;
}

void ScalerService::set_streams_gauge(int value) {
  if (!metrics_) return;
  try {
    metrics_->set_gauge(kStreamsMetric, "Open StreamIsActive streams of the KEDA external scaler",
                        {{"sink", instance_}}, static_cast<double>(value));
  } catch (...) {}
}

grpc::Status ScalerService::IsActive(grpc::ServerContext*, const externalscaler::ScaledObjectRef* request,
                                     externalscaler::IsActiveResponse* response) {
  auto r = resolve(store_, *request);
  if (!r) return finish("IsActive", to_status(r.error()));
  response->set_result(r->second.desired > 0);
  return finish("IsActive", grpc::Status::OK);
}

grpc::Status ScalerService::GetMetricSpec(grpc::ServerContext*, const externalscaler::ScaledObjectRef* request,
                                          externalscaler::GetMetricSpecResponse* response) {
  // The spec needs only a valid reference: KEDA asks for it when it builds the HPA, which may be before
  // WVA's first cycle. The values come from GetMetrics.
  auto ref = variant_ref(request->name(), request->namespace_(), metadata_of(*request));
  if (!ref) return finish("GetMetricSpec", to_status(ref.error()));
  auto* spec = response->add_metricspecs();
  spec->set_metricname(metric_name(ref->variant));
  spec->set_targetsize(1);
  spec->set_targetsizefloat(1.0);
  return finish("GetMetricSpec", grpc::Status::OK);
}

grpc::Status ScalerService::GetMetrics(grpc::ServerContext*, const externalscaler::GetMetricsRequest* request,
                                       externalscaler::GetMetricsResponse* response) {
  const auto& so = request->scaledobjectref();
  auto ref = variant_ref(so.name(), so.namespace_(), metadata_of(so));
  if (!ref) return finish("GetMetrics", to_status(ref.error()));
  const std::string expected = metric_name(ref->variant);
  if (!request->metricname().empty() && request->metricname() != expected)
    return finish("GetMetrics", {grpc::StatusCode::INVALID_ARGUMENT,
                                 "unknown metric \"" + request->metricname().substr(0, 300) +
                                     "\": the metric of variant \"" + ref->variant + "\" is \"" + expected + "\""});
  auto value = store_.lookup(*ref);
  if (!value) return finish("GetMetrics", to_status(value.error()));
  auto* m = response->add_metricvalues();
  m->set_metricname(expected);
  m->set_metricvalue(value->desired);
  m->set_metricvaluefloat(static_cast<double>(value->desired));
  return finish("GetMetrics", grpc::Status::OK);
}

grpc::Status ScalerService::StreamIsActive(grpc::ServerContext* context, const externalscaler::ScaledObjectRef* request,
                                           grpc::ServerWriter<externalscaler::IsActiveResponse>* writer) {
  auto ref = variant_ref(request->name(), request->namespace_(), metadata_of(*request));
  if (!ref) return finish("StreamIsActive", to_status(ref.error()));

  int open = streams_.load();
  do {
    if (open >= max_streams_)
      return finish("StreamIsActive", {grpc::StatusCode::RESOURCE_EXHAUSTED,
                                       "the WVA KEDA scaler already serves " + std::to_string(open) +
                                           " StreamIsActive streams (maxStreams)"});
  } while (!streams_.compare_exchange_weak(open, open + 1));
  set_streams_gauge(open + 1);
  struct Release {
    ScalerService* self;
    ~Release() { self->set_streams_gauge(--self->streams_); }
  } release{this};

  std::optional<bool> sent;
  std::uint64_t version = store_.version();
  // Bounded by the client (cancellation, checked every kStreamCancelCheck), the variant (gone: NOT_FOUND)
  // and the store (closed by stop()).
  while (true) {
    // A stream ended by stop() completes (OK): KEDA's push scaler reconnects 2 s after a stream that ended
    // cleanly, while any error status doubles its wait up to a minute and keeps it there; a restart or a
    // configuration reload would otherwise leave every push scaler a minute from its next 0 -> 1.
    if (store_.closed()) return finish("StreamIsActive", grpc::Status::OK);
    if (context->IsCancelled()) return finish("StreamIsActive", {grpc::StatusCode::CANCELLED, "client cancelled"});
    auto value = store_.lookup(*ref);
    if (value) {
      const bool active = value->desired > 0;
      if (!sent || *sent != active) {
        externalscaler::IsActiveResponse response;
        response.set_result(active);
        if (!writer->Write(response))
          return finish("StreamIsActive", {grpc::StatusCode::CANCELLED, "the client closed the stream"});
        sent = active;
      }
    } else if (value.error().code != sdk::ErrorCode::kUnavailable) {
      // Nothing decided yet (kUnavailable) waits for the first publish; anything else ends the stream.
      return finish("StreamIsActive", to_status(value.error()));
    }
    version = store_.wait_for_change(version, std::chrono::steady_clock::now() + kStreamCancelCheck);
  }
}

sdk::Result<TlsMaterial> read_tls(const TlsFiles& files, const std::string& tls_path) {
  TlsMaterial out;
  auto cert = read_pem(files.cert_file, tls_path + ".certFile", "certificate");
  if (!cert) return cert.error();
  out.cert_chain = std::move(*cert);
  auto key = read_pem(files.key_file, tls_path + ".keyFile", "private key");
  if (!key) return key.error();
  out.private_key = std::move(*key);
  if (files.client_ca_file) {
    auto ca = read_pem(*files.client_ca_file, tls_path + ".clientCAFile", "client CA");
    if (!ca) return ca.error();
    out.client_ca = std::move(*ca);
  }
  return out;
}

ScalerServer::~ScalerServer() { stop(std::chrono::milliseconds(0)); }

sdk::Result<std::unique_ptr<ScalerServer>> ScalerServer::start(const ScalerConfig& config,
                                                               const std::optional<TlsMaterial>& tls,
                                                               DecisionStore& store, sdk::MetricsRegistry* metrics,
                                                               const std::string& instance) {
  std::unique_ptr<ScalerServer> s(new ScalerServer());
  s->store_ = &store;
  store.reopen();
  s->service_ = std::make_unique<ScalerService>(store, config.max_streams, metrics, instance);

  std::shared_ptr<grpc::ServerCredentials> credentials;
  if (tls) {
    grpc::SslServerCredentialsOptions options(tls->client_ca
                                                  ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                                                  : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
    options.pem_key_cert_pairs.push_back({tls->private_key, tls->cert_chain});
    if (tls->client_ca) options.pem_root_certs = *tls->client_ca;
    credentials = grpc::SslServerCredentials(options);
  } else {
    credentials = grpc::InsecureServerCredentials();
  }

  grpc::ServerBuilder builder;
  int bound = 0;
  builder.AddListeningPort(config.listen.to_string(), credentials, &bound);
  builder.RegisterService(s->service_.get());
  builder.SetMaxReceiveMessageSize(kMaxMessageBytes);
  // A port another process (or instance) holds is an error, not silently shared.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  // Finds dead KEDA connections (an open stream would otherwise hold its thread until TCP gives up).
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 30000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
  grpc::ResourceQuota quota("wva-keda-scaler");
  quota.SetMaxThreads(config.max_streams + kExtraThreads);
  builder.SetResourceQuota(quota);
  s->server_ = builder.BuildAndStart();
  if (!s->server_ || bound == 0)
    return sdk::make_error(sdk::ErrorCode::kUnavailable,
                           "cannot listen on " + config.listen.to_string() +
                               " (address in use, not an address of this host, or a bad TLS certificate/key)");
  s->port_ = bound;
  return s;
}

void ScalerServer::stop(std::chrono::milliseconds grace) {
  if (stopped_) return;
  stopped_ = true;
  if (store_) store_->close();
  if (server_) {
    server_->Shutdown(std::chrono::system_clock::now() + grace);
    server_->Wait();
  }
}

}  // namespace wva::plugins::keda
