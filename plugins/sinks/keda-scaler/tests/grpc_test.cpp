// The keda-scaler sink end to end: a gRPC client speaking KEDA's externalscaler.proto (the stubs generated
// from the same file) against the plugin on a free loopback port.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "externalscaler.grpc.pb.h"
#include "keda_scaler_plugin.h"
#include "prerequisite.h"
#include "wva/sdk/testing/fakes.h"

namespace wva::plugins::keda {
namespace {

using externalscaler::ExternalScaler;
using nlohmann::json;
using std::chrono::seconds;
using std::chrono::steady_clock;

constexpr auto kCallTimeout = seconds(10);  // every RPC and stream read of the tests is bounded by this

sdk::Decision decision(const std::string& ns, const std::string& variant, int desired, bool held = false) {
  sdk::Decision d;
  d.model = {ns, "meta/llama-3.1-8b"};
  d.variant = variant;
  d.va_name = variant;
  d.current = 1;
  d.desired = desired;
  d.held = held;
  return d;
}

externalscaler::ScaledObjectRef scaled_object(const std::string& variant, const std::string& ns = "llm") {
  externalscaler::ScaledObjectRef ref;
  ref.set_name(variant + "-so");
  ref.set_namespace_(ns);
  (*ref.mutable_scalermetadata())["scalerAddress"] = "wva-keda-scaler.wva-system:9091";
  if (!variant.empty()) (*ref.mutable_scalermetadata())["variantName"] = variant;
  return ref;
}

std::unique_ptr<grpc::ClientContext> bounded_context() {
  auto c = std::make_unique<grpc::ClientContext>();
  c->set_deadline(std::chrono::system_clock::now() + kCallTimeout);
  return c;
}

class ScalerTest : public ::testing::Test {
 protected:
  void start(json config = json{{"listen", "127.0.0.1:0"}}) {
    ASSERT_TRUE(sdk::testing::configure_as_host(sink_, config, "sinks.keda-scaler").empty());
    auto s = sink_.start(ctx_);
    ASSERT_TRUE(s.ok()) << s.error().to_string();
    ASSERT_TRUE(sink_.bound_port().has_value());
    port_ = *sink_.bound_port();
    ASSERT_GT(port_, 0);
    stub_ = ExternalScaler::NewStub(
        grpc::CreateChannel("127.0.0.1:" + std::to_string(port_), grpc::InsecureChannelCredentials()));
  }

  void publish(const std::vector<sdk::Decision>& ds, const std::string& pipeline = "default") {
    sdk::PublishBatch batch;
    batch.pipeline = pipeline;
    batch.time = ctx_.fake_clock().now();
    batch.decisions = ds;
    auto r = sink_.publish(batch);
    ASSERT_TRUE(r.ok()) << r.error().to_string();
  }

  grpc::Status get_metrics(const externalscaler::ScaledObjectRef& ref, externalscaler::GetMetricsResponse& out,
                           const std::string& metric = "") {
    externalscaler::GetMetricsRequest req;
    *req.mutable_scaledobjectref() = ref;
    req.set_metricname(metric.empty() ? "wva-desired-replicas-" + ref.scalermetadata().at("variantName") : metric);
    auto c = bounded_context();
    return stub_->GetMetrics(c.get(), req, &out);
  }

  // The desired replicas GetMetrics answers; fails the test on an error status.
  int metric_value(const std::string& variant) {
    externalscaler::GetMetricsResponse out;
    auto st = get_metrics(scaled_object(variant), out);
    EXPECT_TRUE(st.ok()) << st.error_message();
    if (!st.ok() || out.metricvalues_size() != 1) return -1;
    EXPECT_EQ(out.metricvalues(0).metricname(), "wva-desired-replicas-" + variant);
    EXPECT_DOUBLE_EQ(out.metricvalues(0).metricvaluefloat(), static_cast<double>(out.metricvalues(0).metricvalue()));
    return static_cast<int>(out.metricvalues(0).metricvalue());
  }

  grpc::Status is_active(const externalscaler::ScaledObjectRef& ref, bool& active) {
    externalscaler::IsActiveResponse out;
    auto c = bounded_context();
    auto st = stub_->IsActive(c.get(), ref, &out);
    active = out.result();
    return st;
  }

  void TearDown() override { sink_.stop(); }

  sdk::testing::FakeContext ctx_{"keda-scaler"};
  KedaScalerSink sink_;
  int port_ = 0;
  std::unique_ptr<ExternalScaler::Stub> stub_;
};

TEST_F(ScalerTest, MetricSpecIsOneMetricWithTargetOne) {
  start();
  externalscaler::GetMetricSpecResponse out;
  auto c = bounded_context();
  // Before any decision: KEDA builds its HPA from the spec, which needs only a valid reference.
  auto st = stub_->GetMetricSpec(c.get(), scaled_object("llama-8b-h100"), &out);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_EQ(out.metricspecs_size(), 1);
  EXPECT_EQ(out.metricspecs(0).metricname(), "wva-desired-replicas-llama-8b-h100");
  EXPECT_EQ(out.metricspecs(0).targetsize(), 1);
  EXPECT_DOUBLE_EQ(out.metricspecs(0).targetsizefloat(), 1.0);
}

TEST_F(ScalerTest, MetricsAndActivityFollowPublishes) {
  start();
  publish({decision("llm", "a", 3), decision("llm", "b", 0)});
  EXPECT_EQ(metric_value("a"), 3);
  EXPECT_EQ(metric_value("b"), 0);
  bool active = false;
  ASSERT_TRUE(is_active(scaled_object("a"), active).ok());
  EXPECT_TRUE(active);
  ASSERT_TRUE(is_active(scaled_object("b"), active).ok());
  EXPECT_FALSE(active);

  publish({decision("llm", "a", 0), decision("llm", "b", 5)});
  EXPECT_EQ(metric_value("a"), 0);
  EXPECT_EQ(metric_value("b"), 5);
  ASSERT_TRUE(is_active(scaled_object("a"), active).ok());
  EXPECT_FALSE(active);
  ASSERT_TRUE(is_active(scaled_object("b"), active).ok());
  EXPECT_TRUE(active);

  // A held decision (the cycle failed) keeps what KEDA reads.
  publish({decision("llm", "a", 7, /*held=*/true), decision("llm", "b", 5)});
  EXPECT_EQ(metric_value("a"), 0);

  // The namespace may be set in the metadata instead of taken from the ScaledObject.
  auto ref = scaled_object("b", "keda");
  (*ref.mutable_scalermetadata())["namespace"] = "llm";
  externalscaler::GetMetricsResponse out;
  ASSERT_TRUE(get_metrics(ref, out).ok());
  EXPECT_EQ(out.metricvalues(0).metricvalue(), 5);

  // Counted by method and status.
  EXPECT_GE(ctx_.fake_metrics()
                .value(kRequestsMetric, {{"sink", "keda-scaler"}, {"method", "GetMetrics"}, {"code", "OK"}})
                .value_or(0),
            6.0);
}

TEST_F(ScalerTest, BeforeTheFirstPublishItIsUnavailableNotZero) {
  start();
  externalscaler::GetMetricsResponse out;
  auto st = get_metrics(scaled_object("a"), out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE) << st.error_message();
  EXPECT_NE(st.error_message().find("no decision for variant \"a\""), std::string::npos) << st.error_message();
  EXPECT_EQ(out.metricvalues_size(), 0);
  bool active = true;
  EXPECT_EQ(is_active(scaled_object("a"), active).error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(ScalerTest, UnknownVariantAndBadRequestsAreErrors) {
  start();
  publish({decision("llm", "llama-8b-h100", 2)});
  externalscaler::GetMetricsResponse out;
  auto st = get_metrics(scaled_object("llama-8b-h10"), out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_NE(st.error_message().find("did you mean \"llama-8b-h100\""), std::string::npos) << st.error_message();
  bool active = false;
  EXPECT_EQ(is_active(scaled_object("nope"), active).error_code(), grpc::StatusCode::NOT_FOUND);

  // No variantName: INVALID_ARGUMENT on every method, with the ScaledObject's name.
  auto bare = scaled_object("");
  bare.set_name("so");
  EXPECT_EQ(is_active(bare, active).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  externalscaler::GetMetricSpecResponse spec;
  auto c = bounded_context();
  st = stub_->GetMetricSpec(c.get(), bare, &spec);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("ScaledObject \"llm/so\""), std::string::npos) << st.error_message();
  EXPECT_NE(st.error_message().find("variantName is required"), std::string::npos) << st.error_message();

  // A metric name that is not the variant's.
  st = get_metrics(scaled_object("llama-8b-h100"), out, "s0-something-else");
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("wva-desired-replicas-llama-8b-h100"), std::string::npos) << st.error_message();
}

TEST_F(ScalerTest, StreamIsActivePushesTransitionsAfterPublish) {
  start();
  auto c = bounded_context();
  auto stream = stub_->StreamIsActive(c.get(), scaled_object("a"));
  externalscaler::IsActiveResponse msg;

  // Opened before any decision: the first message comes with the first publish.
  publish({decision("llm", "a", 2)});
  ASSERT_TRUE(stream->Read(&msg));
  EXPECT_TRUE(msg.result());

  // 1 -> 0, pushed by the publish (the stream waits on a notification, not on a poll of KEDA's).
  publish({decision("llm", "a", 3)});  // still active: no message
  auto t0 = steady_clock::now();
  publish({decision("llm", "a", 0)});
  ASSERT_TRUE(stream->Read(&msg));
  EXPECT_FALSE(msg.result()) << "a duplicate 'true' was sent for 2 -> 3";
  EXPECT_LT(steady_clock::now() - t0, seconds(5));

  // 0 -> 0 (held) sends nothing; 0 -> 1 does.
  publish({decision("llm", "a", 4, /*held=*/true)});
  publish({decision("llm", "a", 1)});
  ASSERT_TRUE(stream->Read(&msg));
  EXPECT_TRUE(msg.result()) << "the held decision changed the answer";

  c->TryCancel();
  stream->Finish();
}

TEST_F(ScalerTest, StreamSendsTheCurrentStateAtOnceAndEndsWhenTheVariantGoesAway) {
  start();
  publish({decision("llm", "a", 0), decision("llm", "b", 1)});
  auto c = bounded_context();
  auto stream = stub_->StreamIsActive(c.get(), scaled_object("a"));
  externalscaler::IsActiveResponse msg;
  ASSERT_TRUE(stream->Read(&msg));
  EXPECT_FALSE(msg.result());
  publish({decision("llm", "b", 1)});  // a's VariantAutoscaling is gone
  EXPECT_FALSE(stream->Read(&msg));
  auto st = stream->Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND) << st.error_message();
}

TEST_F(ScalerTest, StopEndsOpenStreamsPromptly) {
  start();
  publish({decision("llm", "a", 1)});
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<grpc::ClientReader<externalscaler::IsActiveResponse>>> streams;
  externalscaler::IsActiveResponse msg;
  for (int i = 0; i < 3; ++i) {
    contexts.push_back(bounded_context());
    streams.push_back(stub_->StreamIsActive(contexts.back().get(), scaled_object("a")));
    ASSERT_TRUE(streams.back()->Read(&msg)) << "stream " << i;  // open on the server
  }
  EXPECT_EQ(ctx_.fake_metrics().value(kStreamsMetric, {{"sink", "keda-scaler"}}).value_or(-1), 3.0);
  const auto t0 = steady_clock::now();
  sink_.stop();
  EXPECT_LT(steady_clock::now() - t0, seconds(3)) << "stop() waited for the streams";
  for (auto& s : streams) {
    EXPECT_FALSE(s->Read(&msg));
    auto st = s->Finish();
    // Completed, not an error: KEDA reconnects 2 s after a clean end and backs off to a minute after errors.
    EXPECT_EQ(st.error_code(), grpc::StatusCode::OK) << st.error_message();
  }
  EXPECT_FALSE(sink_.bound_port().has_value());
  // Stopped: the port no longer answers.
  bool active = false;
  auto c = std::make_unique<grpc::ClientContext>();
  c->set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
  externalscaler::IsActiveResponse out;
  EXPECT_FALSE(stub_->IsActive(c.get(), scaled_object("a"), &out).ok());
  (void)active;
}

TEST_F(ScalerTest, StreamsAreBounded) {
  start(json{{"listen", "127.0.0.1:0"}, {"maxStreams", 1}});
  publish({decision("llm", "a", 1)});
  externalscaler::IsActiveResponse msg;
  auto c1 = bounded_context();
  auto first = stub_->StreamIsActive(c1.get(), scaled_object("a"));
  ASSERT_TRUE(first->Read(&msg));
  auto c2 = bounded_context();
  auto second = stub_->StreamIsActive(c2.get(), scaled_object("a"));
  EXPECT_FALSE(second->Read(&msg));
  auto st = second->Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << st.error_message();
  // Unary calls still work while the stream is open.
  EXPECT_EQ(metric_value("a"), 1);
  c1->TryCancel();
  first->Finish();
}

TEST_F(ScalerTest, PublishBeforeStartIsAnError) {
  sdk::PublishBatch batch;
  batch.pipeline = "default";
  auto r = sink_.publish(batch);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().path, "sinks.keda-scaler");
}

TEST_F(ScalerTest, APortInUseIsAStartErrorWithThePath) {
  start();
  KedaScalerSink second;
  ASSERT_TRUE(
      sdk::testing::configure_as_host(second, json{{"listen", "127.0.0.1:" + std::to_string(port_)}}, "sinks.other")
          .empty());
  sdk::testing::FakeContext ctx2;
  auto r = second.start(ctx2);
  ASSERT_FALSE(r.ok()) << "bound a port the first instance holds";
  EXPECT_EQ(r.error().path, "sinks.other.listen");
  EXPECT_NE(r.error().message.find("cannot listen on 127.0.0.1:" + std::to_string(port_)), std::string::npos)
      << r.error().message;
}

// ---- TLS ----

struct TempDir {
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "wva-keda-XXXXXX").string();
    if (mkdtemp(tmpl.data())) path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path.empty()) std::filesystem::remove_all(path, ec);
  }
  std::filesystem::path path;
};

bool run(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()) == 0; }

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

class TlsScalerTest : public ScalerTest {
 protected:
  void SetUp() override {
    WVA_REQUIRE(run("command -v openssl")) << "openssl CLI not found (Debian package openssl)";
    ASSERT_FALSE(dir_.path.empty());
    const std::string d = dir_.path.string();
    std::ofstream(dir_.path / "server.ext") << "subjectAltName=DNS:wva-keda-scaler.test\nextendedKeyUsage=serverAuth\n";
    std::ofstream(dir_.path / "client.ext") << "extendedKeyUsage=clientAuth\n";
    ASSERT_TRUE(run("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=wva-test-ca -keyout " + d +
                    "/ca.key -out " + d + "/ca.crt"));
    for (const char* who : {"server", "client"}) {
      const std::string n = d + "/" + who;
      ASSERT_TRUE(
          run("openssl req -newkey rsa:2048 -nodes -keyout " + n + ".key -subj /CN=" + who + " -out " + n + ".csr"));
      ASSERT_TRUE(run("openssl x509 -req -in " + n + ".csr -CA " + d + "/ca.crt -CAkey " + d +
                      "/ca.key -CAcreateserial -days 2 -out " + n + ".crt -extfile " + n + ".ext"));
    }
  }
  std::string file(const char* name) const { return (dir_.path / name).string(); }

  std::unique_ptr<ExternalScaler::Stub> tls_stub(bool with_client_cert) {
    grpc::SslCredentialsOptions o;
    o.pem_root_certs = slurp(dir_.path / "ca.crt");
    if (with_client_cert) {
      o.pem_private_key = slurp(dir_.path / "client.key");
      o.pem_cert_chain = slurp(dir_.path / "client.crt");
    }
    grpc::ChannelArguments args;
    args.SetSslTargetNameOverride("wva-keda-scaler.test");
    return ExternalScaler::NewStub(
        grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(port_), grpc::SslCredentials(o), args));
  }

  static grpc::Status call(ExternalScaler::Stub& stub, int& value) {
    externalscaler::GetMetricsRequest req;
    *req.mutable_scaledobjectref() = scaled_object("a");
    externalscaler::GetMetricsResponse out;
    auto c = std::make_unique<grpc::ClientContext>();
    c->set_deadline(std::chrono::system_clock::now() + seconds(5));
    auto st = stub.GetMetrics(c.get(), req, &out);
    value = out.metricvalues_size() ? static_cast<int>(out.metricvalues(0).metricvalue()) : -1;
    return st;
  }

  TempDir dir_;
};

TEST_F(TlsScalerTest, ServesOverTlsAndRefusesPlaintext) {
  start(json{{"listen", "127.0.0.1:0"}, {"tls", {{"certFile", file("server.crt")}, {"keyFile", file("server.key")}}}});
  publish({decision("llm", "a", 4)});
  int value = 0;
  auto st = call(*tls_stub(false), value);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(value, 4);
  EXPECT_FALSE(call(*stub_, value).ok()) << "a plaintext client was answered by the TLS server";
  EXPECT_TRUE(ctx_.fake_logger().contains("over TLS"));
}

TEST_F(TlsScalerTest, ClientCaRequiresAClientCertificate) {
  start(json{
      {"listen", "127.0.0.1:0"},
      {"tls", {{"certFile", file("server.crt")}, {"keyFile", file("server.key")}, {"clientCAFile", file("ca.crt")}}}});
  publish({decision("llm", "a", 2)});
  int value = 0;
  EXPECT_FALSE(call(*tls_stub(false), value).ok()) << "answered a client without a certificate";
  auto st = call(*tls_stub(true), value);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(value, 2);
}

TEST_F(TlsScalerTest, MissingOrBadFilesAreStartErrorsWithThePath) {
  KedaScalerSink sink;
  ASSERT_TRUE(
      sdk::testing::configure_as_host(
          sink,
          json{{"listen", "127.0.0.1:0"}, {"tls", {{"certFile", file("absent.crt")}, {"keyFile", file("server.key")}}}},
          "sinks.keda")
          .empty());
  auto r = sink.start(ctx_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().path, "sinks.keda.tls.certFile");
  EXPECT_NE(r.error().message.find("absent.crt"), std::string::npos) << r.error().message;

  std::ofstream(dir_.path / "empty.key") << "not a key\n";
  ASSERT_TRUE(
      sdk::testing::configure_as_host(
          sink,
          json{{"listen", "127.0.0.1:0"}, {"tls", {{"certFile", file("server.crt")}, {"keyFile", file("empty.key")}}}},
          "sinks.keda")
          .empty());
  r = sink.start(ctx_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().path, "sinks.keda.tls.keyFile");
  EXPECT_NE(r.error().message.find("no PEM block"), std::string::npos) << r.error().message;
}

}  // namespace
}  // namespace wva::plugins::keda
