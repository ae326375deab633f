#include "scrape_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <list>
#include <map>
#include <mutex>
#include <unordered_map>
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
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
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

enum class State {
  kHandshake,  // TLS handshake in progress
  kReading,    // waiting for (the rest of) a request
  kPending,    // the handler answers later; input is not read meanwhile
  kWriting,    // sending a response
};

struct Connection {
  int fd = -1;
  std::uint64_t id = 0;
  std::string peer;
  SSL* ssl = nullptr;   // null: plain HTTP
  short want = POLLIN;  // TLS: what the last SSL call waits for
  State state = State::kReading;
  bool close_after_write = false;
  bool request_started = false;  // a byte of the current request arrived
  bool pending_keep_alive = true;
  bool pending_head_only = false;
  std::string in;
  std::string out;
  std::size_t out_offset = 0;
  std::size_t requests = 0;
  Clock::time_point deadline;
};

// One read: bytes read (> 0), 0 when it must wait (c.want says for what), -1 when closed or failed.
long read_some(Connection& c, char* buf, std::size_t len) {
  if (!c.ssl) {
    const ssize_t n = recv(c.fd, buf, len, 0);
    if (n > 0) return n;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return 0;
    return -1;
  }
  ERR_clear_error();
  const int n = SSL_read(c.ssl, buf, static_cast<int>(len));
  if (n > 0) return n;
  switch (SSL_get_error(c.ssl, n)) {
    case SSL_ERROR_WANT_READ: c.want = POLLIN; return 0;
    case SSL_ERROR_WANT_WRITE: c.want = POLLOUT; return 0;
    default: ERR_clear_error(); return -1;
  }
}

// One write of what is left of c.out: as read_some.
long write_some(Connection& c) {
  const char* data = c.out.data() + c.out_offset;
  const std::size_t len = c.out.size() - c.out_offset;
  if (!c.ssl) {
    const ssize_t n = send(c.fd, data, len, MSG_NOSIGNAL);
    if (n >= 0) return n;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return 0;
    return -1;
  }
  ERR_clear_error();
  const int n = SSL_write(c.ssl, data, static_cast<int>(std::min<std::size_t>(len, 1u << 30)));
  if (n > 0) return n;
  switch (SSL_get_error(c.ssl, n)) {
    case SSL_ERROR_WANT_READ: c.want = POLLIN; return 0;
    case SSL_ERROR_WANT_WRITE: c.want = POLLOUT; return 0;
    default: ERR_clear_error(); return -1;
  }
}

// 1 when the handshake finished, 0 when it must wait, -1 when it failed.
int continue_handshake(Connection& c) {
  ERR_clear_error();
  const int r = SSL_accept(c.ssl);
  if (r == 1) return 1;
  switch (SSL_get_error(c.ssl, r)) {
    case SSL_ERROR_WANT_READ: c.want = POLLIN; return 0;
    case SSL_ERROR_WANT_WRITE: c.want = POLLOUT; return 0;
    default: ERR_clear_error(); return -1;
  }
}

short poll_events(const Connection& c) {
  switch (c.state) {
    case State::kHandshake: return c.want;
    case State::kReading: return c.ssl ? c.want : POLLIN;
    case State::kPending: return 0;  // errors and hang-ups are still reported
    case State::kWriting: return c.ssl ? c.want : POLLOUT;
  }
  return POLLIN;
}

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
    if (name == "authorization") {
      h.request.authorization = trim(lines[i].substr(colon + 1));  // case kept: tokens are case-sensitive
    } else if (name == "connection") {
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

struct ScrapeServer::Completions {
  std::mutex mutex;
  std::vector<std::pair<std::uint64_t, ScrapeResponse>> done;
  int wake_fd = -1;  // -1 once the loop is gone
};

ScrapeServer::ScrapeServer(Handler handler, ScrapeServerLimits limits)
    : handler_([handler = std::move(handler)](const ScrapeRequest& request, const Respond& respond) {
        respond(handler(request));
      }),
      limits_(limits) {}

ScrapeServer::ScrapeServer(AsyncHandler handler, ScrapeServerLimits limits)
    : handler_(std::move(handler)), limits_(limits) {}

ScrapeServer::~ScrapeServer() { stop(); }

void ScrapeServer::set_tls(std::shared_ptr<TlsCredentials> credentials, LogLine log) {
  tls_ = std::move(credentials);
  log_ = std::move(log);
}
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
  completions_ = std::make_shared<Completions>();
  completions_->wake_fd = wake_write_;
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
  {
    std::lock_guard lock(completions_->mutex);  // late answers find no loop to wake
    completions_->wake_fd = -1;
    completions_->done.clear();
  }
  close(listen_fd_);
  close(wake_read_);
  close(wake_write_);
  listen_fd_ = wake_read_ = wake_write_ = -1;
}

void ScrapeServer::loop() {
  std::list<Connection> conns;  // in accept order: the front is the oldest
  std::unordered_map<std::uint64_t, std::list<Connection>::iterator> by_id;
  std::map<std::string, std::size_t> per_client;
  std::vector<pollfd> fds;
  std::vector<std::list<Connection>::iterator> polled;
  std::vector<std::pair<std::uint64_t, ScrapeResponse>> answers;
  std::uint64_t next_id = 1;
  char buf[16384];  // a whole TLS record: no plaintext is left buffered inside OpenSSL unseen by poll()
  const std::shared_ptr<Completions> completions = completions_;

  auto close_conn = [&](std::list<Connection>::iterator it) {
    if (it->ssl) {
      if (it->state != State::kHandshake) SSL_shutdown(it->ssl);  // one close_notify, never waited for
      SSL_free(it->ssl);
      ERR_clear_error();
    }
    close(it->fd);
    by_id.erase(it->id);
    if (auto pc = per_client.find(it->peer); pc != per_client.end() && --pc->second == 0) per_client.erase(pc);
    open_connections_ = conns.size() - 1;
    return conns.erase(it);
  };
  // Over a limit: the oldest connection (of `peer`, or any) still in its handshake or sending its
  // request goes first.
  auto evict_one = [&](const std::string* peer) {
    for (auto it = conns.begin(); it != conns.end(); ++it)
      if ((it->state == State::kReading || it->state == State::kHandshake) && (!peer || it->peer == *peer)) {
        if (it->state == State::kHandshake) ++failed_handshakes_;
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
    c.state = State::kWriting;
    c.want = POLLOUT;
    c.close_after_write = !keep_alive;
    c.deadline = Clock::now() + limits_.write_deadline;
  };
  // Answers that handlers gave (on this thread or another) to connections still waiting for them.
  auto take_answers = [&] {
    {
      std::lock_guard lock(completions->mutex);
      answers.swap(completions->done);
    }
    for (auto& [id, response] : answers) {
      auto found = by_id.find(id);
      if (found == by_id.end() || found->second->state != State::kPending) continue;
      Connection& c = *found->second;
      respond(c, response, c.pending_keep_alive, c.pending_head_only);
    }
    answers.clear();
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
    c.state = State::kPending;
    c.pending_keep_alive = h.keep_alive;
    c.pending_head_only = h.request.method == "HEAD";
    c.deadline = Clock::now() + limits_.handler_deadline;
    Respond answer = [completions, id = c.id](ScrapeResponse r) {
      std::lock_guard lock(completions->mutex);
      if (completions->wake_fd < 0) return;
      completions->done.emplace_back(id, std::move(r));
      const char byte = 0;
      [[maybe_unused]] const auto n = write(completions->wake_fd, &byte, 1);  // a full pipe already wakes
    };
    try {
      handler_(h.request, answer);
    } catch (const std::exception& e) {
      answer({500, "text/plain", std::string("internal error: ") + e.what() + "\n"});
    } catch (...) {
      answer({500, "text/plain", "internal error\n"});
    }
    take_answers();  // a synchronous handler has answered already
  };
  // Moves a connection on as far as it can without waiting; false when it is to be closed.
  auto service = [&](Connection& c) {
    if (c.state == State::kHandshake) {
      const int r = continue_handshake(c);
      if (r < 0) {
        ++failed_handshakes_;
        return false;
      }
      if (r == 0) return true;
      c.state = State::kReading;
      c.want = POLLIN;
      c.deadline = Clock::now() + limits_.idle_timeout;
    }
    if (c.state == State::kReading) {
      for (int reads = 0; reads < 4 && c.state == State::kReading; ++reads) {  // bounded: others get a turn
        const long n = read_some(c, buf, sizeof buf);
        if (n < 0) return false;
        if (n == 0) break;
        if (!c.request_started) {
          c.request_started = true;
          c.deadline = Clock::now() + limits_.request_deadline;  // the whole request from its first byte
        }
        c.in.append(buf, static_cast<std::size_t>(n));
        try_request(c);
      }
    }
    if (c.state == State::kWriting) {
      const long n = write_some(c);
      if (n < 0) return false;
      c.out_offset += static_cast<std::size_t>(n);
      if (c.out_offset == c.out.size()) {
        if (c.close_after_write) return false;
        c.state = State::kReading;
        c.want = POLLIN;
        c.out.clear();
        c.deadline = Clock::now() + (c.request_started ? limits_.request_deadline : limits_.idle_timeout);
        try_request(c);  // a pipelined request may already be here
      }
    }
    return true;
  };

  while (!stopping_) {
    auto now = Clock::now();
    if (tls_)
      if (auto reload = tls_->maybe_reload(now); reload && log_)
        log_(reload->ok ? sdk::LogLevel::kInfo : sdk::LogLevel::kWarn, reload->message);
    // Deadlines first: a handshake or request not done in time, an idle keep-alive, a response not taken;
    // an answer not given in time is a 503.
    for (auto it = conns.begin(); it != conns.end();) {
      if (it->deadline > now) {
        ++it;
      } else if (it->state == State::kPending) {
        respond(*it, {503, "text/plain", "the request could not be answered in time\n"}, false, false);
        ++it;
      } else {
        if (it->state == State::kHandshake) ++failed_handshakes_;
        it = close_conn(it);
      }
    }
    auto next_deadline = now + std::chrono::seconds(1);
    fds.clear();
    polled.clear();
    fds.push_back({wake_read_, POLLIN, 0});
    fds.push_back({listen_fd_, POLLIN, 0});
    for (auto it = conns.begin(); it != conns.end(); ++it) {
      fds.push_back({it->fd, poll_events(*it), 0});
      polled.push_back(it);
      next_deadline = std::min(next_deadline, it->deadline);
    }
    now = Clock::now();
    const auto wait_ms = std::chrono::duration_cast<std::chrono::milliseconds>(next_deadline - now).count();
    const int ready = poll(fds.data(), fds.size(), static_cast<int>(std::max<long long>(1, wait_ms + 1)));
    if (ready < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[0].revents) {
      char drain[256];
      while (read(wake_read_, drain, sizeof drain) > 0) {}
      if (stopping_) break;
      take_answers();
    }
    for (std::size_t i = 0; i < polled.size(); ++i) {
      const short ev = fds[i + 2].revents;
      if (!ev) continue;
      auto it = polled[i];
      bool keep = (ev & (POLLERR | POLLNVAL)) == 0;
      if (keep && it->state == State::kPending) keep = (ev & POLLHUP) == 0;  // the client is gone
      else if (keep) keep = service(*it);
      if (!keep) close_conn(it);
    }
    // Answers that came while the connections above were served (their writes wait for POLLOUT).
    take_answers();
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
        SSL* ssl = nullptr;
        if (room && tls_) {
          // TLS writes its records (session tickets, then the response) in separate segments: without
          // TCP_NODELAY, Nagle holds the response until the client's delayed ACK (+40 ms a scrape).
          int one = 1;
          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          ssl = SSL_new(tls_->context());
          if (!ssl || SSL_set_fd(ssl, fd) != 1) {
            if (ssl) SSL_free(ssl);
            ERR_clear_error();
            room = false;
          } else {
            SSL_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
            SSL_set_accept_state(ssl);
          }
        }
        if (!room) {
          close(fd);
          if (auto pc = per_client.find(peer); pc != per_client.end() && pc->second == 0) per_client.erase(pc);
          continue;
        }
        Connection c;
        c.fd = fd;
        c.id = next_id++;
        c.peer = peer;
        c.ssl = ssl;
        c.state = ssl ? State::kHandshake : State::kReading;
        c.want = POLLIN;
        c.deadline = Clock::now() + (ssl ? limits_.handshake_deadline : limits_.idle_timeout);
        conns.push_back(std::move(c));
        by_id[conns.back().id] = std::prev(conns.end());
        ++per_client[peer];
        open_connections_ = conns.size();
      }
    }
  }
  for (auto it = conns.begin(); it != conns.end();) it = close_conn(it);
  open_connections_ = 0;
}

}  // namespace wva::plugins::metrics
