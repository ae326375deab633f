// A fake Prometheus HTTP API (cpp-httplib) on 127.0.0.1, port 0, for the HTTP-level tests.
#pragma once

#include <httplib.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace wva::prometheus::testing {

struct Received {
  std::string query;
  std::string authorization;
  std::string org_id;
  std::string dedup;
  std::string time;  // the evaluation time asked for; empty: the server's now
  std::string content_type;
  int remote_port = 0;
};

struct Reply {
  int status = 200;
  std::string body;
  std::chrono::milliseconds delay{0};
};

class FakePrometheus {
 public:
  // Replies come from the queue first, then from the handler (default: an empty vector).
  using Handler = std::function<Reply(const Received&)>;

  explicit FakePrometheus(std::unique_ptr<httplib::Server> server = std::make_unique<httplib::Server>())
      : server_(std::move(server)) {
    server_->Post("/api/v1/query", [this](const httplib::Request& req, httplib::Response& res) {
      Received r;
      r.query = req.get_param_value("query");
      r.authorization = req.get_header_value("Authorization");
      r.org_id = req.get_header_value("X-Scope-OrgID");
      r.dedup = req.get_param_value("dedup");
      r.time = req.get_param_value("time");
      r.content_type = req.get_header_value("Content-Type");
      r.remote_port = req.remote_port;
      Reply reply;
      {
        std::lock_guard lock(mu_);
        received_.push_back(r);
        if (!queue_.empty()) {
          reply = queue_.front();
          queue_.pop_front();
        } else if (handler_) {
          reply = handler_(r);
        } else {
          reply.body = R"({"status":"success","data":{"resultType":"vector","result":[]}})";
        }
      }
      if (reply.delay.count() > 0) {
        std::unique_lock lock(mu_);
        cv_.wait_for(lock, reply.delay, [this] { return stopping_; });
      }
      res.status = reply.status;
      res.set_content(reply.body, "application/json");
    });
    server_->set_keep_alive_max_count(1000);
    port_ = server_->bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_->listen_after_bind(); });
    for (int i = 0; i < 500 && !server_->is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }

  ~FakePrometheus() { stop(); }

  void stop() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    server_->stop();
    if (thread_.joinable()) thread_.join();
  }

  int port() const { return port_; }
  bool running() const { return server_->is_running(); }
  std::string url(const std::string& scheme = "http") const { return scheme + "://127.0.0.1:" + std::to_string(port_); }

  void push(Reply r) {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(r));
  }
  void set_handler(Handler h) {
    std::lock_guard lock(mu_);
    handler_ = std::move(h);
  }
  std::vector<Received> received() const {
    std::lock_guard lock(mu_);
    return received_;
  }
  void clear() {
    std::lock_guard lock(mu_);
    received_.clear();
  }

 private:
  std::unique_ptr<httplib::Server> server_;
  int port_ = -1;
  std::thread thread_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::deque<Reply> queue_;
  Handler handler_;
  std::vector<Received> received_;
};

}  // namespace wva::prometheus::testing
