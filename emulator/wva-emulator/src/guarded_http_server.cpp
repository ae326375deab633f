#include "guarded_http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <optional>

namespace wva::emulator {

namespace {

using Clock = std::chrono::steady_clock;

// The peer's address and port (IPv4 or IPv6), as httplib reports them in Request::remote_addr/port.
bool peer_of(int sock, std::string& address, int& port) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (getpeername(sock, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return false;
  std::array<char, INET6_ADDRSTRLEN> text{};
  if (addr.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&addr);
    if (!inet_ntop(AF_INET, &in->sin_addr, text.data(), text.size())) return false;
    port = ntohs(in->sin_port);
  } else if (addr.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&addr);
    if (!inet_ntop(AF_INET6, &in6->sin6_addr, text.data(), text.size())) return false;
    port = ntohs(in6->sin6_port);
  } else {
    return false;
  }
  address = text.data();
  return true;
}

bool local_of(int sock, std::string& address, int& port) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (getsockname(sock, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return false;
  std::array<char, INET6_ADDRSTRLEN> text{};
  const void* src = addr.ss_family == AF_INET6
                        ? static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(&addr)->sin6_addr)
                        : static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(&addr)->sin_addr);
  if (!inet_ntop(addr.ss_family, src, text.data(), text.size())) return false;
  port = ntohs(addr.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port
                                          : reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
  address = text.data();
  return true;
}

// Milliseconds for poll(): the time left to `until`, at most `cap`, never negative.
int poll_ms(Clock::time_point until, std::chrono::milliseconds cap) {
  // Rounded up: a poll that wakes before `until` would read as a plain read timeout, not the deadline.
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(until - Clock::now());
  return static_cast<int>(std::clamp<std::chrono::milliseconds::rep>(left.count(), 0, cap.count()));
}

// A socket stream like httplib's own (buffered reads, per-operation timeouts), whose reads also stop at
// the current request's deadline.
class DeadlineSocketStream final : public httplib::Stream {
 public:
  DeadlineSocketStream(int sock, std::chrono::milliseconds read_timeout, std::chrono::milliseconds write_timeout,
                       std::string peer_address, int peer_port)
      : sock_(sock),
        read_timeout_(read_timeout),
        write_timeout_(write_timeout),
        peer_address_(std::move(peer_address)),
        peer_port_(peer_port) {}

  void set_deadline(Clock::time_point deadline) {
    deadline_ = deadline;
    deadline_passed_ = false;
  }
  bool deadline_passed() const { return deadline_passed_; }

  bool is_readable() const override {
    if (buffer_offset_ < buffer_size_) return true;
    if (Clock::now() >= deadline_) {  // however steadily the bytes come
      deadline_passed_ = true;
      return false;
    }
    const auto until = std::min(Clock::now() + read_timeout_, deadline_);
    pollfd p{sock_, POLLIN, 0};
    for (;;) {
      const int n = ::poll(&p, 1, poll_ms(until, read_timeout_));
      if (n > 0) return true;
      if (n < 0 && errno == EINTR) continue;
      if (n == 0 && Clock::now() < until) continue;  // woken early: the wait is not over
      if (n == 0 && Clock::now() >= deadline_) deadline_passed_ = true;
      return false;
    }
  }

  bool is_writable() const override {
    pollfd p{sock_, POLLOUT, 0};
    for (;;) {
      const int n = ::poll(&p, 1, static_cast<int>(write_timeout_.count()));
      if (n < 0 && errno == EINTR) continue;
      return n > 0 && (p.revents & (POLLERR | POLLHUP)) == 0;
    }
  }

  ssize_t read(char* ptr, size_t size) override {
    if (buffer_offset_ < buffer_size_) {
      const std::size_t n = std::min(size, buffer_size_ - buffer_offset_);
      std::memcpy(ptr, buffer_.data() + buffer_offset_, n);
      buffer_offset_ += n;
      return static_cast<ssize_t>(n);
    }
    if (!is_readable()) return -1;
    buffer_offset_ = buffer_size_ = 0;
    if (size >= buffer_.size()) return recv_some(ptr, size);
    const ssize_t got = recv_some(buffer_.data(), buffer_.size());
    if (got <= 0) return got;
    buffer_size_ = static_cast<std::size_t>(got);
    const std::size_t n = std::min(size, buffer_size_);
    std::memcpy(ptr, buffer_.data(), n);
    buffer_offset_ = n;
    return static_cast<ssize_t>(n);
  }

  ssize_t write(const char* ptr, size_t size) override {
    if (!is_writable()) return -1;
    for (;;) {
      const ssize_t n = ::send(sock_, ptr, size, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      return n;
    }
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    ip = peer_address_;
    port = peer_port_;
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    if (!local_of(sock_, ip, port)) {
      ip.clear();
      port = 0;
    }
  }
  socket_t socket() const override { return sock_; }

 private:
  ssize_t recv_some(char* ptr, std::size_t size) {
    for (;;) {
      const ssize_t n = ::recv(sock_, ptr, size, 0);
      if (n < 0 && errno == EINTR) continue;
      return n;
    }
  }

  const int sock_;
  const std::chrono::milliseconds read_timeout_;
  const std::chrono::milliseconds write_timeout_;
  const std::string peer_address_;
  const int peer_port_;
  Clock::time_point deadline_ = Clock::time_point::max();
  mutable bool deadline_passed_ = false;
  std::array<char, 4096> buffer_{};
  std::size_t buffer_offset_ = 0;
  std::size_t buffer_size_ = 0;
};

std::chrono::milliseconds to_ms(time_t sec, time_t usec) { return std::chrono::milliseconds(sec * 1000 + usec / 1000); }

}  // namespace

bool ClientConnections::admit(int sock, const std::string& address, int port) {
  std::lock_guard lock(mutex_);
  std::size_t open = 0;
  std::optional<std::map<int, Entry>::iterator> oldest_waiting;
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    if (it->second.address != address || it->second.evicted) continue;
    ++open;
    if (!it->second.answering && (!oldest_waiting || it->second.order < (*oldest_waiting)->second.order))
      oldest_waiting = it;
  }
  if (open >= max_per_client_) {
    if (!oldest_waiting) {
      ++refused_;
      return false;
    }
    // Its reads fail at once and its thread closes it (and removes it); the descriptor stays open until
    // then, so this never touches another connection's socket.
    ::shutdown((*oldest_waiting)->first, SHUT_RDWR);
    (*oldest_waiting)->second.evicted = true;
    ++closed_for_room_;
  }
  entries_[sock] = Entry{address, port, next_order_++, false, false};
  return true;
}

void ClientConnections::answering(const std::string& address, int port) {
  std::lock_guard lock(mutex_);
  for (auto& [sock, entry] : entries_)
    if (entry.port == port && entry.address == address) entry.answering = true;
}

void ClientConnections::waiting(int sock) {
  std::lock_guard lock(mutex_);
  if (auto it = entries_.find(sock); it != entries_.end()) it->second.answering = false;
}

void ClientConnections::remove(int sock) {
  std::lock_guard lock(mutex_);
  entries_.erase(sock);
}

std::uint64_t ClientConnections::closed_for_room() const {
  std::lock_guard lock(mutex_);
  return closed_for_room_;
}

std::uint64_t ClientConnections::refused() const {
  std::lock_guard lock(mutex_);
  return refused_;
}

std::uint64_t GuardedHttpServer::closed_by_deadline() const {
  std::lock_guard lock(mutex_);
  return closed_by_deadline_;
}

bool GuardedHttpServer::process_and_close_socket(socket_t sock) {
  std::string address;
  int port = 0;
  bool ok = false;
  if (peer_of(sock, address, port) && clients_.admit(sock, address, port)) {
    DeadlineSocketStream stream(sock, to_ms(read_timeout_sec_, read_timeout_usec_),
                                to_ms(write_timeout_sec_, write_timeout_usec_), address, port);
    // 0.11's keep-alive loop, with the idle wait in short steps so that stop() is not kept waiting.
    const auto idle_limit = std::chrono::seconds(keep_alive_timeout_sec_);
    for (std::size_t count = keep_alive_max_count_; count > 0 && svr_sock_ != INVALID_SOCKET; --count) {
      bool readable = false;
      for (const auto idle_since = Clock::now(); svr_sock_ != INVALID_SOCKET;) {
        pollfd p{sock, POLLIN, 0};
        const int n = ::poll(&p, 1, 100);
        if (n > 0) {
          readable = true;
          break;
        }
        if ((n < 0 && errno != EINTR) || Clock::now() - idle_since > idle_limit) break;
      }
      if (!readable) break;
      // The request's first bytes are here: all of it must follow within the deadline.
      stream.set_deadline(Clock::now() + limits_.request_deadline);
      bool connection_closed = false;
      ok = process_request(stream, count == 1, connection_closed, nullptr);
      clients_.waiting(sock);
      if (stream.deadline_passed()) {  // whatever httplib answered, the connection is closed
        std::lock_guard lock(mutex_);
        ++closed_by_deadline_;
        break;
      }
      if (!ok || connection_closed) break;
    }
  }
  clients_.remove(sock);
  ::shutdown(sock, SHUT_RDWR);
  ::close(sock);
  return ok;
}

}  // namespace wva::emulator
