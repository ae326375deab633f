// Bearer-token authentication and authorization of scrapes, as controller-runtime's filtered metrics
// server (WithAuthenticationAndAuthorization) does it: a TokenReview says whose the token is, a
// SubjectAccessReview whether that user may `<verb>` the non-resource path (verb = the request's method
// in lower case). The answers:
//   no or non-Bearer Authorization header, or a token the API does not accept   401 Unauthorized
//   the TokenReview failed (API unreachable, timed out, error)                   401 Authentication failed
//   the SubjectAccessReview failed                                              500 Authorization ... failed
//   the user may not                                                             403 Authorization denied
// Reviews run on a small pool of worker threads (never on the serving loop), each bounded by
// `review_timeout`; at most `max_queued` wait (more get 503). Decisions (allowed, denied, unknown
// token) are cached for `cache_ttl` by SHA-256 of the token, path and verb, at most `cache_entries`;
// failures are never cached.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "scrape_server.h"
#include "wva/sdk/context.h"

namespace wva::plugins::metrics {

struct TokenAuthOptions {
  std::chrono::milliseconds review_timeout{5000};  // each review call
  std::chrono::milliseconds cache_ttl{60000};
  std::size_t cache_entries = 1024;
  std::size_t workers = 2;
  std::size_t max_queued = 64;
};

struct TokenAuthStats {
  std::uint64_t token_reviews = 0;
  std::uint64_t access_reviews = 0;
  std::uint64_t cache_hits = 0;
};

class TokenAuth {
 public:
  // nullopt: serve the request; a response: refuse with it.
  using Done = std::function<void(std::optional<ScrapeResponse>)>;
  using LogLine = std::function<void(sdk::LogLevel, const std::string&)>;

  TokenAuth(sdk::AccessReviewer& reviewer, TokenAuthOptions options, LogLine log);
  ~TokenAuth();  // joins the workers (a review in flight ends within review_timeout)
  TokenAuth(const TokenAuth&) = delete;
  TokenAuth& operator=(const TokenAuth&) = delete;

  // Calls `done` exactly once: at once (header missing, cached decision, queue full) on the calling
  // thread, otherwise from a worker.
  void check(const std::string& authorization_header, const std::string& path, const std::string& verb, Done done);

  TokenAuthStats stats() const;
  std::size_t cached() const;

 private:
  struct Job {
    std::string token, path, verb, key;
    Done done;
  };
  struct Cached {
    ScrapeResponse refusal;  // status 0: allowed
    std::chrono::steady_clock::time_point expires;
  };
  void work();
  std::optional<ScrapeResponse> review(const Job& job);  // nullopt: allowed
  bool lookup(const std::string& key, std::optional<ScrapeResponse>& out);
  void remember(const std::string& key, const std::optional<ScrapeResponse>& decision);

  sdk::AccessReviewer& reviewer_;
  TokenAuthOptions options_;
  LogLine log_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> queue_;
  std::map<std::string, Cached> cache_;
  TokenAuthStats stats_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

// "Bearer <token>" (scheme case-insensitive) -> token; nullopt for anything else.
std::optional<std::string> bearer_token(const std::string& authorization_header);

}  // namespace wva::plugins::metrics
