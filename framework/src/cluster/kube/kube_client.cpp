#include "cluster/kube/kube_client.h"

#include <curl/curl.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <memory>
#include <sstream>
#include <thread>
#include <vector>

namespace wva::framework::kube {
namespace {

using sdk::ErrorCode;
using sdk::make_error;

// Bodies above this are refused (a list page of 500 objects is far below it).
constexpr std::size_t kMaxBody = 256u << 20;
// One watch event line longer than this is a broken stream.
constexpr std::size_t kMaxLine = 64u << 20;

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using CurlHandle = std::unique_ptr<CURL, CurlDeleter>;
using Slist = std::unique_ptr<curl_slist, SlistDeleter>;

void append(Slist& list, const std::string& header) {
  curl_slist* next = curl_slist_append(list.get(), header.c_str());
  if (next) {
    (void)list.release();
    list.reset(next);
  }
}

struct Transfer {
  CURL* curl = nullptr;
  HttpResponse* response = nullptr;
  const std::function<bool(std::string_view)>* on_line = nullptr;  // null: buffer the body
  const std::atomic<bool>* stop = nullptr;
  std::string pending;  // a partial line of a stream
  bool too_large = false;
  bool stopped_by_reader = false;
};

std::size_t on_header(char* data, std::size_t size, std::size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(data, size * n);
  constexpr std::string_view kRetry = "retry-after:";
  if (line.size() > kRetry.size()) {
    std::string lower(line.substr(0, kRetry.size()));
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == kRetry) {
      try {
        t->response->retry_after = std::chrono::seconds(std::stol(std::string(line.substr(kRetry.size()))));
      } catch (...) {  // an HTTP-date: ignored, the caller backs off on its own
      }
    }
  }
  return size * n;
}

std::size_t on_body(char* data, std::size_t size, std::size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t bytes = size * n;
  long status = 0;
  curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
  if (!t->on_line || status != 200) {
    if (t->response->body.size() + bytes > kMaxBody) {
      t->too_large = true;
      return 0;
    }
    t->response->body.append(data, bytes);
    return bytes;
  }
  t->pending.append(data, bytes);
  std::size_t start = 0;
  for (std::size_t nl; (nl = t->pending.find('\n', start)) != std::string::npos; start = nl + 1) {
    std::string_view line(t->pending.data() + start, nl - start);
    if (!line.empty() && !(*t->on_line)(line)) {
      t->stopped_by_reader = true;
      return 0;
    }
  }
  t->pending.erase(0, start);
  if (t->pending.size() > kMaxLine) {
    t->too_large = true;
    return 0;
  }
  return bytes;
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  return t->stop && t->stop->load() ? 1 : 0;
}

std::string reason_phrase(long status) {
  switch (status) {
    case 400: return "BadRequest";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "NotFound";
    case 405: return "MethodNotAllowed";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 415: return "UnsupportedMediaType";
    case 422: return "Invalid";
    case 429: return "TooManyRequests";
    case 500: return "InternalError";
    case 503: return "ServiceUnavailable";
    case 504: return "Timeout";
  }
  return "";
}

}  // namespace

std::string url_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

sdk::Error api_error(const HttpResponse& response, const std::string& what) {
  std::string message;
  try {
    auto status = nlohmann::json::parse(response.body);
    if (status.is_object() && status.value("kind", "") == "Status") {
      message = status.value("reason", "");
      const std::string m = status.value("message", "");
      if (!m.empty()) message += (message.empty() ? "" : ": ") + m;
    }
  } catch (const std::exception&) {}
  if (message.empty()) {
    message = reason_phrase(response.status);
    std::string excerpt = response.body.substr(0, 200);
    for (auto& c : excerpt)
      if (static_cast<unsigned char>(c) < 0x20) c = ' ';
    if (!excerpt.empty()) message += (message.empty() ? "" : ": ") + excerpt;
  }
  std::string text = what + ": HTTP " + std::to_string(response.status) + (message.empty() ? "" : " " + message);
  ErrorCode code = ErrorCode::kUnavailable;
  switch (response.status) {
    case 404: code = ErrorCode::kNotFound; break;
    case 409: code = ErrorCode::kConflict; break;
    case 400:
    case 422: code = ErrorCode::kInvalidConfig; break;
    case 401: text += " (the API server rejected the credentials: check the token or client certificate)"; break;
    case 403: text += " (RBAC: the service account lacks this permission; see the chart's ClusterRole)"; break;
    default: break;
  }
  return make_error(code, text);
}

// Idle handles kept: the informers list in parallel (5) and the host writes from one thread at a time.
constexpr std::size_t kMaxIdleHandles = 6;

struct KubeClient::IdleHandles {
  std::mutex mutex;
  std::vector<CurlHandle> handles;

  CurlHandle take() {
    {
      std::lock_guard lock(mutex);
      if (!handles.empty()) {
        CurlHandle h = std::move(handles.back());
        handles.pop_back();
        return h;
      }
    }
    return CurlHandle(curl_easy_init());
  }
  // After a successful transfer only (a failed one may leave a broken connection).
  void give_back(CurlHandle h) {
    // Its options point at the finished call's buffers and header list: back to the defaults (the open
    // connections, DNS and TLS session caches stay).
    curl_easy_reset(h.get());
    std::lock_guard lock(mutex);
    if (handles.size() < kMaxIdleHandles) handles.push_back(std::move(h));
  }
};

KubeClient::KubeClient(Connection connection)
    : connection_(std::move(connection)), idle_(std::make_unique<IdleHandles>()) {
  curl_global_init(CURL_GLOBAL_DEFAULT);  // reference counted and thread-safe in libcurl >= 7.84
  token_ = connection_.token;
}

KubeClient::~KubeClient() {
  idle_.reset();  // before curl_global_cleanup
  curl_global_cleanup();
}

sdk::Result<std::string> KubeClient::bearer_token() {
  std::lock_guard lock(token_mutex_);
  if (connection_.token_file.empty()) return token_;
  struct stat st {};
  if (::stat(connection_.token_file.c_str(), &st) != 0) {
    if (!token_.empty()) return token_;  // being rotated (atomic symlink swap): keep the last one
    return make_error(ErrorCode::kNotFound, "token file " + connection_.token_file + " cannot be read");
  }
  const std::pair<long, long> mtime{st.st_mtim.tv_sec, st.st_mtim.tv_nsec};
  if (token_mtime_ == mtime && !token_.empty()) return token_;
  std::ifstream in(connection_.token_file, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  std::string token = s.str();
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) token.pop_back();
  if (token.empty() || token.find_first_of("\r\n") != std::string::npos)
    return make_error(ErrorCode::kInvalidConfig,
                      "token file " + connection_.token_file + " holds no single-line token");
  token_ = std::move(token);
  token_mtime_ = mtime;
  return token_;
}

namespace {

// Sets everything a request needs on a fresh handle; the slist must outlive the transfer.
void configure(CURL* c, const Connection& conn, const std::string& url, const std::string& token, Slist& headers) {
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  if (!token.empty()) append(headers, "Authorization: Bearer " + token);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_USERAGENT, "wva/" WVA_VERSION);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);  // never send the token elsewhere
  curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
  if (!conn.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, conn.ca_file.c_str());
  if (!conn.ca_pem.empty()) {
    curl_blob blob{const_cast<char*>(conn.ca_pem.data()), conn.ca_pem.size(), CURL_BLOB_COPY};
    curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &blob);
  }
  if (!conn.client_cert_file.empty()) curl_easy_setopt(c, CURLOPT_SSLCERT, conn.client_cert_file.c_str());
  if (!conn.client_cert_pem.empty()) {
    curl_blob blob{const_cast<char*>(conn.client_cert_pem.data()), conn.client_cert_pem.size(), CURL_BLOB_COPY};
    curl_easy_setopt(c, CURLOPT_SSLCERT_BLOB, &blob);
    curl_easy_setopt(c, CURLOPT_SSLCERTTYPE, "PEM");
  }
  if (!conn.client_key_file.empty()) curl_easy_setopt(c, CURLOPT_SSLKEY, conn.client_key_file.c_str());
  if (!conn.client_key_pem.empty()) {
    curl_blob blob{const_cast<char*>(conn.client_key_pem.data()), conn.client_key_pem.size(), CURL_BLOB_COPY};
    curl_easy_setopt(c, CURLOPT_SSLKEY_BLOB, &blob);
    curl_easy_setopt(c, CURLOPT_SSLKEYTYPE, "PEM");
  }
  if (conn.insecure_skip_tls_verify) {
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
  }
}

sdk::Error transport_error(CURLcode code, const char* detail, const std::string& method, const std::string& server,
                           const std::string& path) {
  std::string msg = method + " " + server + path + ": " + (detail && *detail ? detail : curl_easy_strerror(code));
  if (code == CURLE_COULDNT_CONNECT || code == CURLE_COULDNT_RESOLVE_HOST)
    msg += " (is the API server reachable? check the kubeconfig's server)";
  return make_error(code == CURLE_OPERATION_TIMEDOUT ? ErrorCode::kTimeout : ErrorCode::kUnavailable, msg);
}

}  // namespace

sdk::Result<HttpResponse> KubeClient::request(const std::string& method, const std::string& path,
                                              const std::string& body, const std::string& content_type,
                                              std::chrono::milliseconds timeout, bool retry_throttled) {
  std::chrono::milliseconds waited{0};
  for (int throttled = 0;; ++throttled) {
    auto r = send_once(method, path, body, content_type, timeout);
    if (!r) return r;
    r->throttled = throttled;
    const bool again = r->status == 429 || (r->status >= 500 && r->retry_after && method == "GET");
    if (!retry_throttled || !again || throttled >= kThrottledRetries) return r;
    const std::chrono::milliseconds wait =
        std::min<std::chrono::milliseconds>(r->retry_after.value_or(std::chrono::seconds(1)), kThrottleWaitMax);
    if (waited + wait > timeout) return r;
    std::this_thread::sleep_for(wait);
    waited += wait;
  }
}

sdk::Result<HttpResponse> KubeClient::send_once(const std::string& method, const std::string& path,
                                                const std::string& body, const std::string& content_type,
                                                std::chrono::milliseconds timeout) {
  auto token = bearer_token();
  if (!token) return token.error();
  CurlHandle handle = idle_->take();
  if (!handle) return make_error(ErrorCode::kInternal, "libcurl could not be initialised");
  CURL* c = handle.get();
  HttpResponse response;
  Transfer t{c, &response};
  Slist headers;
  append(headers, "Accept: application/json");
  if (!content_type.empty()) append(headers, "Content-Type: " + content_type);
  const std::string url = connection_.server + path;
  configure(c, connection_, url, *token, headers);
  // gzip (what kube-apiserver offers) for large lists; never on a watch (it would buffer).
  curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "gzip");
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
  if (method == "GET") curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
  }
  const long ms = std::max<long>(1, static_cast<long>(timeout.count()));
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, ms);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, std::min<long>(ms, 10000));
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, &on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
  char detail[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, detail);
  const CURLcode rc = curl_easy_perform(c);
  if (t.too_large) return make_error(ErrorCode::kUnavailable, method + " " + path + ": response too large");
  if (rc != CURLE_OK) return transport_error(rc, detail, method, connection_.server, path);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &response.status);
  idle_->give_back(std::move(handle));
  return response;
}

sdk::Result<HttpResponse> KubeClient::stream(const std::string& path,
                                             const std::function<bool(std::string_view)>& on_line,
                                             const std::atomic<bool>& stop) {
  auto token = bearer_token();
  if (!token) return token.error();
  CurlHandle handle(curl_easy_init());
  if (!handle) return make_error(ErrorCode::kInternal, "libcurl could not be initialised");
  CURL* c = handle.get();
  HttpResponse response;
  Transfer t{c, &response, &on_line, &stop};
  Slist headers;
  append(headers, "Accept: application/json");
  const std::string url = connection_.server + path;
  configure(c, connection_, url, *token, headers);
  curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
  // A stream that goes silent (no event, no bookmark) for this long is a dead connection.
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 600L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, &on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, &on_progress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &t);
  char detail[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, detail);
  const CURLcode rc = curl_easy_perform(c);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &response.status);
  if (t.stopped_by_reader || (rc == CURLE_ABORTED_BY_CALLBACK && stop.load())) return response;
  if (t.too_large) return make_error(ErrorCode::kUnavailable, "GET " + path + ": watch event too large");
  if (rc != CURLE_OK) return transport_error(rc, detail, "GET", connection_.server, path);
  if (!t.pending.empty() && response.status == 200) on_line(t.pending);
  return response;
}

}  // namespace wva::framework::kube
