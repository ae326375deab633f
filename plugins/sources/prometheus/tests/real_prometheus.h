// Starts the real `prometheus` binary (Debian package) on a free loopback port with a temporary TSDB,
// scraping the given targets every second; stops it at the end. Used by the integration tests.
#pragma once

#include <fcntl.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace wva::prometheus::testing {

inline std::optional<std::string> find_in_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string p = path ? path : "/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= p.size()) {
    const std::size_t end = p.find(':', start);
    const std::string dir = p.substr(start, end == std::string::npos ? std::string::npos : end - start);
    const std::string candidate = dir + "/" + name;
    if (!dir.empty() && ::access(candidate.c_str(), X_OK) == 0) return candidate;
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return std::nullopt;
}

// A port that was free a moment ago (bind to 0, read it, close).
inline int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return -1;
  }
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// The time a fake exporter's counters are written at. The fakes' counters grow as rate x the seconds since
// they started; each sample carries its own timestamp (milliseconds, as the text format allows, and
// Prometheus honours), so a scrape that reaches the exporter late on a loaded machine still stores each
// value at the time it was computed, and the rates Prometheus derives are the fakes' rates exactly.
struct ExpositionTime {
  double seconds = 0;  // since the exporter started, plus 100 (counters never start at 0)
  std::string stamp;   // " <milliseconds since the epoch>", to put before a sample's newline
};
inline ExpositionTime exposition_time(std::chrono::system_clock::time_point started) {
  const auto now = std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
  return {std::chrono::duration<double>(now - started).count() + 100.0,
          " " + std::to_string(now.time_since_epoch().count())};
}

class RealPrometheus {
 public:
  // targets: "127.0.0.1:port" strings scraped by one job with honor_labels (the exposition carries the
  // namespace and pod labels that Kubernetes service discovery would add).
  // rules: a Prometheus rule file's text, loaded through rule_files (evaluated every second) when not empty.
  RealPrometheus(const std::string& binary, const std::vector<std::string>& targets, const std::string& rules = "") {
    char tmpl[] = "/tmp/wva-prom-it-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    std::string list;
    for (const auto& t : targets) list += (list.empty() ? "'" : ", '") + t + "'";
    if (!rules.empty()) std::ofstream(dir_ / "rules.yml") << rules;
    {
      std::ofstream cfg(dir_ / "prometheus.yml");
      if (!rules.empty()) cfg << "rule_files: ['" << (dir_ / "rules.yml").string() << "']\n";
      cfg << "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
             "scrape_configs:\n"
             "  - job_name: vllm\n"
             "    honor_labels: true\n"
             "    static_configs: [{targets: ["
          << list << "]}]\n";
    }
    port_ = free_port();
    const std::string log = (dir_ / "prometheus.log").string();
    std::vector<std::string> args = {binary, "--config.file=" + (dir_ / "prometheus.yml").string(),
                                     "--storage.tsdb.path=" + (dir_ / "data").string(),
                                     "--web.listen-address=127.0.0.1:" + std::to_string(port_),
                                     "--web.enable-lifecycle"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    if (::posix_spawn(&pid_, binary.c_str(), &fa, nullptr, argv.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&fa);
  }

  ~RealPrometheus() {
    stop();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  bool started() const { return pid_ > 0; }
  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string log() const {
    std::ifstream in(dir_ / "prometheus.log");
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }

  // Polls /-/ready (answers within ~0.1 s of start).
  bool wait_ready(std::chrono::milliseconds budget) {
    const auto until = std::chrono::steady_clock::now() + budget;
    httplib::Client c("127.0.0.1", port_);
    c.set_connection_timeout(std::chrono::milliseconds(200));
    while (std::chrono::steady_clock::now() < until) {
      if (!alive()) return false;
      auto r = c.Get("/-/ready");
      if (r && r->status == 200) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  bool alive() {
    if (pid_ <= 0) return false;
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      return false;
    }
    return true;
  }

  // POST /-/quit, then SIGTERM, then SIGKILL; waits for the process (bounded).
  void stop() {
    if (pid_ <= 0) return;
    httplib::Client c("127.0.0.1", port_);
    c.set_connection_timeout(std::chrono::milliseconds(500));
    (void)c.Post("/-/quit");
    for (int sig : {0, SIGTERM, SIGKILL}) {
      if (sig) ::kill(pid_, sig);
      const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
      while (std::chrono::steady_clock::now() < until) {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
          pid_ = -1;
          return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
  }

 private:
  std::filesystem::path dir_;
  int port_ = -1;
  pid_t pid_ = -1;
};

}  // namespace wva::prometheus::testing
