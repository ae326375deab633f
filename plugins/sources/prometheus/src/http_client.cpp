#include "http_client.h"

#include <curl/curl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <thread>

namespace wva::prometheus {
namespace {

using sdk::ErrorCode;
using sdk::make_error;
using Clock = std::chrono::steady_clock;

constexpr long kReadBufferBytes = 256 * 1024;

// Where a body goes while it arrives: a 200 answer into the streaming parser (never held whole), any
// other (an error page, small) into `other` for the error message.
struct WriteTarget {
  ChunkedResponseParser* parser;
  std::string* other;
  std::size_t limit;
  CURL* handle = nullptr;
  std::size_t bytes = 0;
  long status = -1;  // looked up at the first chunk
  bool too_large = false;
  bool parse_failed = false;
};

std::size_t on_write(char* data, std::size_t size, std::size_t n, void* user) {
  auto* t = static_cast<WriteTarget*>(user);
  const std::size_t bytes = size * n;
  if (t->bytes + bytes > t->limit) {
    t->too_large = true;
    return 0;  // aborts the transfer with CURLE_WRITE_ERROR
  }
  t->bytes += bytes;
  if (t->status < 0) {
    t->status = 0;
    if (t->handle) curl_easy_getinfo(t->handle, CURLINFO_RESPONSE_CODE, &t->status);
  }
  if (t->status != 200) {
    t->other->append(data, bytes);
    return bytes;
  }
  if (!t->parser->feed(std::string_view(data, bytes))) {
    t->parse_failed = true;
    return 0;  // the body is invalid already: no need to read the rest
  }
  return bytes;
}

struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using Slist = std::unique_ptr<curl_slist, SlistDeleter>;

// A short, printable excerpt of a body for error messages.
std::string excerpt(const std::string& body) {
  std::string out;
  for (char c : body.substr(0, 200)) out.push_back(static_cast<unsigned char>(c) < 0x20 ? ' ' : c);
  if (body.size() > 200) out += "...";
  return out;
}

std::string http_reason(long status, const std::string& body) {
  std::string msg = "HTTP " + std::to_string(status);
  auto parsed = parse_response(body);
  if (parsed && !parsed->success && (!parsed->error.empty() || !parsed->error_type.empty())) {
    msg += ": " + parsed->error_type + (parsed->error_type.empty() ? "" : ": ") + parsed->error;
  } else if (!body.empty()) {
    msg += ": " + excerpt(body);
  }
  return msg;
}

std::string seconds(std::chrono::steady_clock::duration d) {
  std::ostringstream s;
  s.precision(2);
  s << std::fixed << std::chrono::duration<double>(d).count() << "s";
  return s.str();
}

}  // namespace

std::string form_encode(const std::string& s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() * 3 / 2);
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else if (c == ' ') {
      out.push_back('+');
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

PrometheusClient::PrometheusClient(SourceConfig config) : config_(std::move(config)) {
  query_url_ = config_.url + "/api/v1/query";
  if (config_.server_name) {
    // Verify the certificate for, and send SNI and Host as, serverName while connecting to the URL's
    // host: rewrite the URL's host and tell curl where to really connect.
    CURLU* u = curl_url();
    if (u && curl_url_set(u, CURLUPART_URL, query_url_.c_str(), 0) == CURLUE_OK) {
      char* host = nullptr;
      char* port = nullptr;
      if (curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
          curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK) {
        connect_to_ = *config_.server_name + ":" + port + ":" + host + ":" + port;
        char* rewritten = nullptr;
        if (curl_url_set(u, CURLUPART_HOST, config_.server_name->c_str(), 0) == CURLUE_OK &&
            curl_url_get(u, CURLUPART_URL, &rewritten, 0) == CURLUE_OK) {
          query_url_ = rewritten;
        }
        curl_free(rewritten);
      }
      curl_free(host);
      curl_free(port);
    }
    curl_url_cleanup(u);
  }
  curl_ = curl_easy_init();
}

PrometheusClient::~PrometheusClient() {
  if (curl_) curl_easy_cleanup(static_cast<CURL*>(curl_));
}

int PrometheusClient::token_reads() const {
  std::lock_guard lock(mu_);
  return token_reads_;
}

sdk::Result<void> PrometheusClient::check_files() const {
  auto check = [](const std::optional<std::string>& file, const char* key) -> sdk::Result<void> {
    if (!file) return sdk::ok();
    if (::access(file->c_str(), R_OK) != 0)
      return make_error(ErrorCode::kNotFound, std::string(key) + " \"" + *file + "\" cannot be read", key);
    return sdk::ok();
  };
  for (auto [file, key] : {std::pair{&config_.ca_file, "caFile"}, std::pair{&config_.cert_file, "certFile"},
                           std::pair{&config_.key_file, "keyFile"}, std::pair{&config_.token_file, "tokenFile"}}) {
    auto r = check(*file, key);
    if (!r) return r;
  }
  return sdk::ok();
}

sdk::Result<void> PrometheusClient::refresh_token(bool force) {
  if (!config_.token_file) return sdk::ok();
  struct stat st {};
  if (::stat(config_.token_file->c_str(), &st) != 0)
    return make_error(ErrorCode::kNotFound, "tokenFile \"" + *config_.token_file + "\" cannot be read", "tokenFile");
  const bool changed =
      !token_mtime_ || token_mtime_->tv_sec != st.st_mtim.tv_sec || token_mtime_->tv_nsec != st.st_mtim.tv_nsec ||
      token_size_ != static_cast<std::uintmax_t>(st.st_size) || token_inode_ != static_cast<std::uint64_t>(st.st_ino);
  if (!force && !changed) return sdk::ok();
  std::ifstream in(*config_.token_file, std::ios::binary);
  if (!in)
    return make_error(ErrorCode::kNotFound, "tokenFile \"" + *config_.token_file + "\" cannot be read", "tokenFile");
  std::string token((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) token.pop_back();
  if (token.empty() || token.find_first_of("\r\n") != std::string::npos)
    return make_error(ErrorCode::kInvalidConfig,
                      "tokenFile \"" + *config_.token_file + "\" does not hold a single-line token", "tokenFile");
  token_ = std::move(token);
  token_mtime_ = st.st_mtim;
  token_size_ = static_cast<std::uintmax_t>(st.st_size);
  token_inode_ = static_cast<std::uint64_t>(st.st_ino);
  ++token_reads_;
  return sdk::ok();
}

PrometheusClient::Attempt PrometheusClient::perform(const std::string& form, std::chrono::milliseconds timeout,
                                                    ChunkedResponseParser& parser, std::string& other_body) {
  Attempt a;
  CURL* c = static_cast<CURL*>(curl_);
  if (!c) {
    a.transport_error = "libcurl could not be initialised";
    return a;
  }
  curl_easy_reset(c);  // keeps the connection cache
  WriteTarget target{&parser, &other_body, config_.max_response_bytes, c};
  Slist headers;
  auto add_header = [&](const std::string& h) {
    curl_slist* next = curl_slist_append(headers.get(), h.c_str());
    if (next) {
      (void)headers.release();
      headers.reset(next);
    }
  };
  add_header("Accept: application/json");
  // No "Expect: 100-continue" for long queries: one round trip less, and no 1 s wait on servers that do
  // not answer it.
  add_header("Expect:");
  if (!token_.empty()) add_header("Authorization: Bearer " + token_);
  for (const auto& [k, v] : config_.headers) add_header(k + ": " + v);
  curl_slist* connect_to = nullptr;
  if (!connect_to_.empty()) connect_to = curl_slist_append(nullptr, connect_to_.c_str());
  Slist connect_to_owner(connect_to);

  const long ms = std::max<long>(1, static_cast<long>(timeout.count()));
  curl_easy_setopt(c, CURLOPT_URL, query_url_.c_str());
  curl_easy_setopt(c, CURLOPT_POST, 1L);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, form.c_str());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(form.size()));
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_USERAGENT, "wva-prometheus-source/0.1");
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &on_write);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &target);
  // Larger reads than the default 16 KB: a tenth of the receive calls and callbacks for a large answer.
  curl_easy_setopt(c, CURLOPT_BUFFERSIZE, kReadBufferBytes);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, ms);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, ms);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);   // never send the token elsewhere
  curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");  // gzip when the server offers it
  curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, config_.insecure_skip_verify ? 0L : 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, config_.insecure_skip_verify ? 0L : 2L);
  if (config_.ca_file) curl_easy_setopt(c, CURLOPT_CAINFO, config_.ca_file->c_str());
  if (config_.cert_file) curl_easy_setopt(c, CURLOPT_SSLCERT, config_.cert_file->c_str());
  if (config_.key_file) curl_easy_setopt(c, CURLOPT_SSLKEY, config_.key_file->c_str());
  if (connect_to) curl_easy_setopt(c, CURLOPT_CONNECT_TO, connect_to);

  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  const CURLcode rc = curl_easy_perform(c);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, nullptr);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, nullptr);
  curl_easy_setopt(c, CURLOPT_CONNECT_TO, nullptr);
  a.too_large = target.too_large;
  a.parse_failed = target.parse_failed;
  a.bytes = target.bytes;
  if (rc != CURLE_OK && !a.parse_failed) {
    a.timed_out = rc == CURLE_OPERATION_TIMEDOUT;
    if (a.too_large) {
      a.transport_error = "response larger than maxResponseBytes (" + std::to_string(config_.max_response_bytes) + ")";
    } else {
      a.transport_error = std::string(curl_easy_strerror(rc)) + (errbuf[0] ? std::string(" (") + errbuf + ")" : "");
    }
    return a;
  }
  a.transport_ok = true;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a.status);
  return a;
}

sdk::Result<QueryResponse> PrometheusClient::query(const std::string& promql, sdk::Deadline deadline,
                                                   QueryStats* stats) {
  SampleCollector collector;
  auto header = query(promql, deadline, collector, stats);
  if (!header) return header.error();
  return collector.into_response(std::move(header.value()));
}

sdk::Result<ResponseHeader> PrometheusClient::query(const std::string& promql, sdk::Deadline deadline,
                                                    SampleHandler& handler, QueryStats* stats,
                                                    std::optional<double> at) {
  std::lock_guard lock(mu_);
  const auto started = Clock::now();
  QueryStats local;
  QueryStats& st = stats ? *stats : local;
  st = QueryStats{};

  std::string form = "query=";
  form += form_encode(promql);
  if (at) {
    char time[40];  // Prometheus takes fractional seconds; its timestamps carry milliseconds
    std::snprintf(time, sizeof time, "%.3f", *at);
    form += "&time=";
    form += time;
  }
  for (const auto& [k, v] : config_.params) {
    form += '&';
    form += form_encode(k);
    form += '=';
    form += form_encode(v);
  }

  auto backoff = config_.backoff;
  bool token_forced = false;
  std::string last_error = "deadline passed before the first attempt";
  bool last_timed_out = true;
  const int max_attempts = config_.retries + 1;
  int failures = 0;
  while (true) {
    const auto remaining = deadline.remaining();
    if (remaining.count() <= 0) break;
    if (auto t = refresh_token(false); !t) return t.error();
    if (st.attempts > 0) handler.restart();  // series of a failed attempt may have been handed over
    // A parser per attempt, and no body kept across queries: the response is read while it arrives.
    ChunkedResponseParser parser(handler);
    std::string other_body;
    const auto transfer_started = Clock::now();
    Attempt a = perform(form, std::min<std::chrono::milliseconds>(config_.timeout, remaining), parser, other_body);
    ++st.attempts;
    st.http_status = a.status;
    st.response_bytes = a.bytes;
    st.elapsed = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started);
    bool retryable = false;
    if (!a.transport_ok) {
      last_error = a.transport_error;
      last_timed_out = a.timed_out;
      retryable = !a.too_large;
    } else if (a.status == 200) {
      ParseError perr;
      auto parsed = parser.finish(&perr);
      // The parse runs during the transfer: its time is the transfer's.
      st.parse_time = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - transfer_started);
      if (!parsed) return make_error(ErrorCode::kUnavailable, perr.to_string());
      if (!parsed->success)
        return make_error(ErrorCode::kUnavailable, "query failed: " + parsed->error_type +
                                                       (parsed->error_type.empty() ? "" : ": ") + parsed->error);
      return std::move(*parsed);
    } else if (a.status == 401 && config_.token_file && !token_forced) {
      // The token may have rotated between our stat and the server's check: re-read it once, now.
      token_forced = true;
      if (auto t = refresh_token(true); !t) return t.error();
      last_error = http_reason(a.status, other_body);
      last_timed_out = false;
      continue;
    } else {
      last_error = http_reason(a.status, other_body);
      last_timed_out = false;
      retryable = a.status == 429 || a.status >= 500;
    }
    ++failures;
    if (!retryable || failures >= max_attempts) {
      if (retryable && max_attempts > 1) last_error += " (after " + std::to_string(st.attempts) + " attempts)";
      return make_error(last_timed_out ? ErrorCode::kTimeout : ErrorCode::kUnavailable, last_error);
    }
    const auto left = deadline.remaining();
    if (left <= backoff) break;
    std::this_thread::sleep_for(backoff);
    backoff = std::min(backoff * 2, config_.max_backoff);
  }
  st.elapsed = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started);
  return make_error(ErrorCode::kTimeout, "deadline exceeded after " + std::to_string(st.attempts) + " attempt(s) in " +
                                             seconds(Clock::now() - started) + "; last error: " + last_error);
}

}  // namespace wva::prometheus
