// cpp-httplib's server with the two bounds 0.11 lacks: a whole-request read deadline (0.11 times out
// each read, so a client sending a byte every few seconds held its connection, and a worker, forever)
// and a limit on connections per client address (one client could take every worker).
#pragma once

#include <httplib.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace wva::emulator {

struct ConnectionLimits {
  // A request (line, headers and body) must be read whole within this time of its first byte.
  std::chrono::milliseconds request_deadline{5000};
  // Open connections from one client address. Over it, the oldest of them not being answered (idle, or
  // still sending its request) is closed to make room; when every one is being answered, the new one is
  // closed at once.
  std::size_t max_per_client = 64;
};

// The open connections by client address, for the per-client limit. Thread-safe.
class ClientConnections {
 public:
  explicit ClientConnections(std::size_t max_per_client) : max_per_client_(max_per_client) {}

  // Registers a connection. False when it must be closed at once (its address is at the limit and every
  // connection of it is being answered); otherwise true, after shutting down the oldest connection of
  // that address that is not being answered when the address is at the limit.
  bool admit(int sock, const std::string& address, int port);
  // The request of the connection address:port has been read; its answer is being produced.
  void answering(const std::string& address, int port);
  // The connection's answer is written: it waits for, or reads, its next request.
  void waiting(int sock);
  // Before the socket is closed.
  void remove(int sock);

  std::uint64_t closed_for_room() const;
  std::uint64_t refused() const;

 private:
  struct Entry {
    std::string address;
    int port = 0;
    std::uint64_t order = 0;  // admission order: lower is older
    bool answering = false;
    bool evicted = false;  // shut down for room; its thread has not removed it yet
  };
  const std::size_t max_per_client_;
  mutable std::mutex mutex_;
  std::map<int, Entry> entries_;
  std::uint64_t next_order_ = 0;
  std::uint64_t closed_for_room_ = 0;
  std::uint64_t refused_ = 0;
};

class GuardedHttpServer : public httplib::Server {
 public:
  explicit GuardedHttpServer(ConnectionLimits limits) : limits_(limits), clients_(limits.max_per_client) {}

  // Handlers call this first: the request has been read whole, so the connection is being answered (it is
  // never closed for room while it is).
  void answering(const httplib::Request& req) { clients_.answering(req.remote_addr, req.remote_port); }

  std::uint64_t closed_by_deadline() const;
  const ClientConnections& clients() const { return clients_; }

 private:
  // httplib calls this on a worker thread for each accepted connection; it replaces 0.11's keep-alive
  // loop with one over a stream whose reads stop at the request's deadline.
  bool process_and_close_socket(socket_t sock) override;

  const ConnectionLimits limits_;
  ClientConnections clients_;
  mutable std::mutex mutex_;
  std::uint64_t closed_by_deadline_ = 0;
};

}  // namespace wva::emulator
