#include "scrape_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <list>
#include <map>
#include <vector>

namespace wva::plugins::metrics {

namespace {

using Clock = std::chrono::steady_clock;

bool set_nonblocking(int fd) {
  const int flags = fcntl(fd, F_GETFL, 0);
  return flags >= 0 && fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0;
}

std::string peer_address(const sockaddr_storage& addr) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (addr.ss_family == AF_INET)
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(addr).sin_addr, buf, sizeof buf);
  else if (addr.ss_family == AF_INET6)
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6&>(addr).sin6_addr, buf, sizeof buf);
  return buf;
}

const char* reason_phrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    default: return "Unknown";
  }
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

struct Connection {
  int fd = -1;
  std::string peer;
  bool writing = false;
  bool close_after_write = false;
  bool request_started = false;  // a byte of the current request arrived
  std::string in;
  std::string out;
  std::size_t out_offset = 0;
  std::size_t requests = 0;
  Clock::time_point deadline;
};

// A parsed request head, or the status to answer (and close) when it is malformed.
struct Head {
  int error_status = 0;
  ScrapeRequest request;
  bool keep_alive = true;
};

Head parse_head(const std::string& text) {
  Head h;
  std::vector<std::string> lines;
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto eol = text.find('\n', pos);
    if (eol == std::string::npos) eol = text.size();
    std::string line = text.substr(pos, eol - pos);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
    pos = eol + 1;
  }
  if (lines.empty()) return {400, {}, false};
  const std::string& first = lines[0];
  const auto sp1 = first.find(' ');
  const auto sp2 = sp1 == std::string::npos ? std::string::npos : first.find(' ', sp1 + 1);
  if (sp2 == std::string::npos) return {400, {}, false};
  h.request.method = first.substr(0, sp1);
  std::string target = first.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string version = first.substr(sp2 + 1);
  if (version != "HTTP/1.1" && version != "HTTP/1.0") return {400, {}, false};
  if (const auto q = target.find('?'); q != std::string::npos) target.resize(q);
  h.request.path = target;
  h.keep_alive = version == "HTTP/1.1";
  for (std::size_t i = 1; i < lines.size(); ++i) {
    if (lines[i].empty()) continue;
    const auto colon = lines[i].find(':');
    if (colon == std::string::npos) return {400, {}, false};
    const std::string name = lower(trim(lines[i].substr(0, colon)));
    const std::string value = lower(trim(lines[i].substr(colon + 1)));
    if (name == "connection") {
      if (value.find("close") != std::string::npos) h.keep_alive = false;
      else if (value.find("keep-alive") != std::string::npos) h.keep_alive = true;
    } else if ((name == "content-length" && value != "0") || name == "transfer-encoding") {
      return {400, {}, false};  // scrapes carry no body; refusing one keeps the framing simple and safe
    }
  }
  if (h.request.method != "GET" && h.request.method != "HEAD") h.error_status = 405;
  return h;
}

std::string render(const ScrapeResponse& r, bool keep_alive, bool head_only) {
  std::string out = "HTTP/1.1 " + std::to_string(r.status) + " " + reason_phrase(r.status) + "\r\n";
  out += "Content-Type: " + r.content_type + "\r\n";
  out += "Content-Length: " + std::to_string(r.body.size()) + "\r\n";
  if (r.status == 405) out += "Allow: GET, HEAD\r\n";
  out += keep_alive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n";
  if (!head_only) out += r.body;
  return out;
}

}  // namespace

ScrapeServer::ScrapeServer(Handler handler, ScrapeServerLimits limits)
    : handler_(std::move(handler)), limits_(limits) {}

ScrapeServer::~ScrapeServer() { stop(); }

sdk::Result<int> ScrapeServer::start(const std::string& host, int port) {
  stop();
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string port_text = std::to_string(port);
  if (int rc = getaddrinfo(host.c_str(), port_text.c_str(), &hints, &found); rc != 0 || !found)
    return sdk::make_error(sdk::ErrorCode::kUnavailable, "cannot resolve \"" + host + "\": " + gai_strerror(rc));
  int fd = -1, err = 0;
  for (addrinfo* a = found; a; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      err = errno;
      continue;
    }
    // SO_REUSEADDR only (restart while old connections sit in TIME_WAIT); never SO_REUSEPORT, which
    // would let a second process bind the same port and silently share the scrapes.
    int yes = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 && listen(fd, 1024) == 0 && set_nonblocking(fd)) break;
    err = errno;
    close(fd);
    fd = -1;
  }
  freeaddrinfo(found);
  if (fd < 0) return sdk::make_error(sdk::ErrorCode::kUnavailable, err ? std::strerror(err) : "cannot listen");
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
  const int bound_port = bound.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6&>(bound).sin6_port)
                                                     : ntohs(reinterpret_cast<sockaddr_in&>(bound).sin_port);
  int wake[2];
  if (pipe2(wake, O_CLOEXEC | O_NONBLOCK) != 0) {
    const int e = errno;
    close(fd);
    return sdk::make_error(sdk::ErrorCode::kInternal, std::string("pipe: ") + std::strerror(e));
  }
  listen_fd_ = fd;
  wake_read_ = wake[0];
  wake_write_ = wake[1];
  stopping_ = false;
  thread_ = std::thread([this] { loop(); });
  return bound_port;
}

void ScrapeServer::stop() noexcept {
  if (!thread_.joinable()) return;
  stopping_ = true;
  const char byte = 1;
  [[maybe_unused]] const auto n = write(wake_write_, &byte, 1);
  thread_.join();
  close(listen_fd_);
  close(wake_read_);
  close(wake_write_);
  listen_fd_ = wake_read_ = wake_write_ = -1;
}

void ScrapeServer::loop() {
  std::list<Connection> conns;  // in accept order: the front is the oldest
  std::map<std::string, std::size_t> per_client;
  std::vector<pollfd> fds;
  std::vector<std::list<Connection>::iterator> polled;
  char buf[4096];

  auto close_conn = [&](std::list<Connection>::iterator it) {
    close(it->fd);
    if (auto pc = per_client.find(it->peer); pc != per_client.end() && --pc->second == 0) per_client.erase(pc);
    open_connections_ = conns.size() - 1;
    return conns.erase(it);
  };
  // Over a limit: the oldest connection (of `peer`, or any) still sending its request goes first.
  auto evict_one = [&](const std::string* peer) {
    for (auto it = conns.begin(); it != conns.end(); ++it)
      if (!it->writing && (!peer || it->peer == *peer)) {
        close_conn(it);
        return true;
      }
    return false;
  };
  auto respond = [&](Connection& c, const ScrapeResponse& r, bool keep_alive, bool head_only) {
    ++c.requests;
    if (c.requests >= limits_.max_requests_per_connection) keep_alive = false;
    c.out = render(r, keep_alive, head_only);
    c.out_offset = 0;
    c.writing = true;
    c.close_after_write = !keep_alive;
    c.deadline = Clock::now() + limits_.write_deadline;
  };
  // Answers the request whose head is complete in c.in, if any.
  auto try_request = [&](Connection& c) {
    std::size_t end = c.in.find("\r\n\r\n");
    std::size_t skip = 4;
    if (const auto lf = c.in.find("\n\n"); lf != std::string::npos && (end == std::string::npos || lf < end)) {
      end = lf;
      skip = 2;
    }
    if (end == std::string::npos) {
      if (c.in.size() > limits_.max_header_bytes)
        respond(c, {431, "text/plain", "request headers too large\n"}, false, false);
      return;
    }
    if (end > limits_.max_header_bytes) {
      respond(c, {431, "text/plain", "request headers too large\n"}, false, false);
      return;
    }
    const Head h = parse_head(c.in.substr(0, end));
    c.in.erase(0, end + skip);
    c.request_started = !c.in.empty();
    if (h.error_status == 400) return respond(c, {400, "text/plain", "bad request\n"}, false, false);
    if (h.error_status == 405) return respond(c, {405, "text/plain", "method not allowed\n"}, h.keep_alive, false);
    ScrapeResponse r;
    try {
      r = handler_(h.request);
    } catch (const std::exception& e) {
      r = {500, "text/plain", std::string("internal error: ") + e.what() + "\n"};
    } catch (...) {
      r = {500, "text/plain", "internal error\n"};
    }
    respond(c, r, h.keep_alive, h.request.method == "HEAD");
  };

  while (!stopping_) {
    const auto now = Clock::now();
    // Deadlines first: a request not whole in time, an idle keep-alive, a response not taken.
    for (auto it = conns.begin(); it != conns.end();) it = it->deadline <= now ? close_conn(it) : std::next(it);
    auto next_deadline = now + std::chrono::seconds(1);
    fds.clear();
    polled.clear();
    fds.push_back({wake_read_, POLLIN, 0});
    fds.push_back({listen_fd_, POLLIN, 0});
    for (auto it = conns.begin(); it != conns.end(); ++it) {
      fds.push_back({it->fd, static_cast<short>(it->writing ? POLLOUT : POLLIN), 0});
      polled.push_back(it);
      next_deadline = std::min(next_deadline, it->deadline);
    }
    const auto wait_ms = std::chrono::duration_cast<std::chrono::milliseconds>(next_deadline - now).count();
    const int ready = poll(fds.data(), fds.size(), static_cast<int>(std::max<long long>(1, wait_ms + 1)));
    if (ready < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[0].revents) break;  // stop()
    for (std::size_t i = 0; i < polled.size(); ++i) {
      const short ev = fds[i + 2].revents;
      if (!ev) continue;
      auto it = polled[i];
      Connection& c = *it;
      bool drop = (ev & (POLLERR | POLLNVAL)) != 0;
      if (!drop && c.writing && (ev & (POLLOUT | POLLHUP))) {
        const ssize_t n = send(c.fd, c.out.data() + c.out_offset, c.out.size() - c.out_offset, MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN && errno != EINTR) drop = true;
        if (n > 0) c.out_offset += static_cast<std::size_t>(n);
        if (!drop && c.out_offset == c.out.size()) {
          if (c.close_after_write) {
            drop = true;
          } else {
            c.writing = false;
            c.out.clear();
            c.deadline = Clock::now() + (c.request_started ? limits_.request_deadline : limits_.idle_timeout);
            try_request(c);  // a pipelined request may already be here
          }
        }
      } else if (!drop && !c.writing && (ev & (POLLIN | POLLHUP))) {
        const ssize_t n = recv(c.fd, buf, sizeof buf, 0);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
          drop = true;
        } else if (n > 0) {
          if (!c.request_started) {
            c.request_started = true;
            c.deadline = Clock::now() + limits_.request_deadline;  // the whole request from its first byte
          }
          c.in.append(buf, static_cast<std::size_t>(n));
          try_request(c);
        }
      }
      if (drop) close_conn(it);
    }
    if (fds[1].revents & POLLIN) {
      for (int accepted = 0; accepted < 256; ++accepted) {  // bounded per turn: deadlines still run
        sockaddr_storage addr{};
        socklen_t len = sizeof addr;
        const int fd = accept4(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
          // Out of descriptors: make room (the oldest unfinished request goes), else wait for the next turn.
          if ((errno == EMFILE || errno == ENFILE) && accepted == 0 && evict_one(nullptr)) continue;
          break;
        }
        const std::string peer = peer_address(addr);
        bool room = true;
        if (per_client[peer] >= limits_.max_connections_per_client) room = evict_one(&peer);
        if (room && conns.size() >= limits_.max_connections) room = evict_one(nullptr);
        if (!room) {
          close(fd);
          if (auto pc = per_client.find(peer); pc != per_client.end() && pc->second == 0) per_client.erase(pc);
          continue;
        }
        Connection c;
        c.fd = fd;
        c.peer = peer;
        c.deadline = Clock::now() + limits_.idle_timeout;
        conns.push_back(std::move(c));
        ++per_client[peer];
        open_connections_ = conns.size();
      }
    }
  }
  for (auto it = conns.begin(); it != conns.end();) it = close_conn(it);
  open_connections_ = 0;
}

}  // namespace wva::plugins::metrics
