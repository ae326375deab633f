// The keda-scaler sink inside a running `wva run --local` (the quickstart's objects, the emulator's fixed
// per-pod metrics): a gRPC client speaking KEDA's proto reads a variant's desired replicas, the number
// `wva` printed for that cycle, and sees a changed decision within one cycle.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "externalscaler.grpc.pb.h"
#include "subprocess.h"

namespace {

namespace fs = std::filesystem;
using std::chrono::seconds;
using wva::testing::Process;

const std::string kWva = std::string(WVA_BUILD_DIR) + "/bin/wva";
const std::string kQuickstart = std::string(WVA_SOURCE_DIR) + "/examples/quickstart";

struct ScratchDir {
  fs::path path;
  explicit ScratchDir(const std::string& name) {
    path = fs::temp_directory_path() / ("wva-keda-" + name + "-" + std::to_string(getpid()));
    fs::remove_all(path);
    fs::create_directories(path);
    for (const auto& e : fs::directory_iterator(kQuickstart)) fs::copy(e.path(), path / e.path().filename());
  }
  ~ScratchDir() { fs::remove_all(path); }
  void write(const std::string& file, const std::string& text) const {
    std::ofstream(path / file, std::ios::binary) << text;
  }
};

// A loopback port nothing listens on right now.
int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    if (fd >= 0) close(fd);
    return 0;
  }
  close(fd);
  return ntohs(addr.sin_port);
}

// The quickstart's pipelines with the keda-scaler sink; `h100` is the per-pod metrics of llama-8b-h100.
std::string config(int port, const std::string& h100, const std::string& scaler_extra = "") {
  return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: wva-pipelines\n"
         "  namespace: workload-variant-autoscaler-system\ndata:\n  pipelines.yaml: |\n"
         "    sources:\n"
         "      emulator:\n"
         "        fixedMetrics:\n"
         "          llama-8b-h100: " +
         h100 +
         "\n"
         "          llama-8b-a100: [{kvCacheUsage: 0.50, waiting: 0, running: 10}, {kvCacheUsage: 0.50, waiting: 0, "
         "running: 10}]\n"
         "    analyzers:\n"
         "      saturation: {}\n"
         "    sinks:\n"
         "      status: {}\n"
         "      keda: {plugin: keda-scaler, listen: \"127.0.0.1:" +
         std::to_string(port) + "\"" + scaler_extra +
         "}\n"
         "    pipelines:\n"
         "      default:\n"
         "        selector: {}\n"
         "        interval: 2s\n"
         "        source: emulator\n"
         "        analyzers: [saturation]\n"
         "        sinks: [status, keda]\n";
}

const char* kBusy = "[{kvCacheUsage: 0.95, waiting: 12, running: 30}, {kvCacheUsage: 0.95, waiting: 12, running: 30}]";
const char* kIdle = "[{kvCacheUsage: 0.05, waiting: 0, running: 1}, {kvCacheUsage: 0.05, waiting: 0, running: 1}]";

// Desired replicas of llm/llama-8b-h100 in the last complete decisions line `wva` printed after `from`.
std::optional<int> printed_desired(const std::string& out, std::size_t from = 0) {
  std::optional<int> found;
  std::size_t pos = from;
  while (true) {
    const std::size_t eol = out.find('\n', pos);
    if (eol == std::string::npos) break;
    const auto doc = nlohmann::json::parse(out.substr(pos, eol - pos), nullptr, false);
    pos = eol + 1;
    if (doc.is_discarded() || !doc.contains("decisions")) continue;
    for (const auto& d : doc["decisions"])
      if (d.value("namespace", "") == "llm" && d.value("variant", "") == "llama-8b-h100")
        found = d.value("desired", -1);
  }
  return found;
}

externalscaler::ScaledObjectRef scaled_object() {
  externalscaler::ScaledObjectRef ref;
  ref.set_name("llama-8b-h100");
  ref.set_namespace_("llm");
  (*ref.mutable_scalermetadata())["variantName"] = "llama-8b-h100";
  (*ref.mutable_scalermetadata())["modelID"] = "meta/llama-3.1-8b";
  return ref;
}

std::optional<int> served_desired(externalscaler::ExternalScaler::Stub& stub, std::string* error = nullptr) {
  externalscaler::GetMetricsRequest req;
  *req.mutable_scaledobjectref() = scaled_object();
  req.set_metricname("wva-desired-replicas-llama-8b-h100");
  externalscaler::GetMetricsResponse out;
  grpc::ClientContext c;
  c.set_deadline(std::chrono::system_clock::now() + seconds(5));
  auto st = stub.GetMetrics(&c, req, &out);
  if (!st.ok() || out.metricvalues_size() != 1) {
    if (error) *error = st.error_message();
    return std::nullopt;
  }
  return static_cast<int>(out.metricvalues(0).metricvalue());
}

TEST(KedaScalerInWva, AnswersTheDesiredReplicasWvaDecided) {
  const int port = free_port();
  ASSERT_GT(port, 0);
  ScratchDir dir("run");
  dir.write("30-config.yaml", config(port, kBusy));
  Process p({kWva, "run", "--local", dir.path.string(), "--output", "json", "--health-probe-bind-address", "0"});
  ASSERT_TRUE(p.wait_for_stdout("\"decisions\"", seconds(30))) << p.err;
  for (int i = 0; i < 20 && p.out.find('\n') == std::string::npos; ++i) p.pump(std::chrono::milliseconds(100));
  const auto busy = printed_desired(p.out);
  ASSERT_TRUE(busy.has_value()) << p.out;

  auto stub = externalscaler::ExternalScaler::NewStub(
      grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
  std::string error;
  const auto served = served_desired(*stub, &error);
  ASSERT_TRUE(served.has_value()) << error << "\n" << p.err;
  // The interval is 2 s: a later cycle may have published since, but with fixed metrics it decides the same.
  EXPECT_EQ(*served, *busy) << p.out;

  // A stream's first message is the current answer.
  {
    grpc::ClientContext c;
    c.set_deadline(std::chrono::system_clock::now() + seconds(10));
    auto stream = stub->StreamIsActive(&c, scaled_object());
    externalscaler::IsActiveResponse msg;
    ASSERT_TRUE(stream->Read(&msg)) << p.err;
    EXPECT_EQ(msg.result(), *busy > 0);
    c.TryCancel();
    stream->Finish();
  }

  // The load drops: the next cycles decide fewer replicas, and the scaler serves the new number.
  const std::size_t mark = p.out.size();
  dir.write("30-config.yaml", config(port, kIdle));
  std::optional<int> idle;
  const auto end = std::chrono::steady_clock::now() + seconds(30);
  while (std::chrono::steady_clock::now() < end) {
    p.pump(std::chrono::milliseconds(200));
    idle = printed_desired(p.out, mark);
    if (idle && *idle != *busy) break;
  }
  ASSERT_TRUE(idle.has_value() && *idle < *busy) << "the decision did not drop with the load:\n" << p.out << p.err;
  EXPECT_EQ(served_desired(*stub).value_or(-1), *idle) << p.out;

  // A reload that changes the sink's settings restarts it on the same port; the next cycle fills it again.
  const std::size_t err_mark = p.err.size();
  dir.write("30-config.yaml", config(port, kIdle, ", maxStreams: 8"));
  p.signal(SIGHUP);
  bool reloaded = false;
  for (int i = 0; i < 100 && !reloaded; ++i) {
    p.pump(std::chrono::milliseconds(200));
    reloaded = p.err.find("config: reloaded", err_mark) != std::string::npos;
  }
  ASSERT_TRUE(reloaded) << p.err;
  EXPECT_EQ(p.err.find("cannot listen", err_mark), std::string::npos) << p.err;
  EXPECT_NE(p.err.find("keda-scaler: serving", err_mark), std::string::npos) << "the sink was not restarted:\n"
                                                                             << p.err;
  std::optional<int> after;
  for (int i = 0; i < 100 && after != idle; ++i) {
    p.pump(std::chrono::milliseconds(100));
    after = served_desired(*stub);
  }
  EXPECT_EQ(after.value_or(-1), *idle) << p.err;

  p.signal(SIGTERM);
  EXPECT_EQ(p.wait(seconds(10)), 0) << p.err;
}

}  // namespace
