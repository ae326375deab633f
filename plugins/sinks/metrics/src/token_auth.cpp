#include "token_auth.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>

namespace wva::plugins::metrics {
namespace {

using SteadyClock = std::chrono::steady_clock;

ScrapeResponse refusal(int status, std::string message) { return {status, "text/plain", std::move(message) + "\n"}; }

// The cache key: no token is kept in memory longer than its review.
std::string cache_key(const std::string& token, const std::string& path, const std::string& verb) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  std::string key;
  if (EVP_Digest(token.data(), token.size(), digest, &len, EVP_sha256(), nullptr) == 1) {
    key.assign(reinterpret_cast<const char*>(digest), len);
  } else {
    key = token;  // not reached with a working libcrypto; still correct, only less private
  }
  return key + '\n' + verb + ' ' + path;
}

}  // namespace

std::optional<std::string> bearer_token(const std::string& header) {
  constexpr std::size_t kScheme = 6;  // "bearer"
  if (header.size() <= kScheme + 1) return std::nullopt;
  std::string scheme = header.substr(0, kScheme);
  for (auto& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (scheme != "bearer" || header[kScheme] != ' ') return std::nullopt;
  const auto start = header.find_first_not_of(' ', kScheme);
  if (start == std::string::npos) return std::nullopt;
  std::string token = header.substr(start);
  while (!token.empty() && token.back() == ' ') token.pop_back();
  if (token.empty() || token.find(' ') != std::string::npos) return std::nullopt;
  return token;
}

TokenAuth::TokenAuth(sdk::AccessReviewer& reviewer, TokenAuthOptions options, LogLine log)
    : reviewer_(reviewer), options_(options), log_(std::move(log)) {
  for (std::size_t i = 0; i < std::max<std::size_t>(1, options_.workers); ++i)
    workers_.emplace_back([this] { work(); });
}

TokenAuth::~TokenAuth() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

void TokenAuth::check(const std::string& authorization_header, const std::string& path, const std::string& verb,
                      Done done) {
  auto token = bearer_token(authorization_header);
  if (!token) return done(refusal(401, "Unauthorized"));
  Job job{std::move(*token), path, verb, {}, std::move(done)};
  job.key = cache_key(job.token, path, verb);
  std::optional<ScrapeResponse> decision;
  {
    std::unique_lock lock(mutex_);
    if (!lookup(job.key, decision)) {
      if (queue_.size() >= options_.max_queued) {
        lock.unlock();
        return job.done(refusal(503, "too many token reviews pending; retry later"));
      }
      queue_.push_back(std::move(job));
      lock.unlock();
      wake_.notify_one();
      return;
    }
  }
  job.done(std::move(decision));
}

bool TokenAuth::lookup(const std::string& key, std::optional<ScrapeResponse>& out) {
  auto it = cache_.find(key);
  if (it == cache_.end()) return false;
  if (it->second.expires <= SteadyClock::now()) {
    cache_.erase(it);
    return false;
  }
  ++stats_.cache_hits;
  out = it->second.refusal.status == 0 ? std::nullopt : std::optional<ScrapeResponse>(it->second.refusal);
  return true;
}

void TokenAuth::remember(const std::string& key, const std::optional<ScrapeResponse>& decision) {
  const auto now = SteadyClock::now();
  if (cache_.size() >= options_.cache_entries) {
    for (auto it = cache_.begin(); it != cache_.end();)
      it = it->second.expires <= now ? cache_.erase(it) : std::next(it);
    if (cache_.size() >= options_.cache_entries) {  // still full: the entry closest to expiring goes
      auto soonest = std::min_element(cache_.begin(), cache_.end(),
                                      [](const auto& a, const auto& b) { return a.second.expires < b.second.expires; });
      if (soonest != cache_.end()) cache_.erase(soonest);
    }
  }
  if (options_.cache_entries == 0) return;
  cache_[key] = Cached{decision ? *decision : ScrapeResponse{0, "", ""}, now + options_.cache_ttl};
}

void TokenAuth::work() {
  for (;;) {
    Job job;
    std::optional<ScrapeResponse> decision;
    bool cached = false;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      job = std::move(queue_.front());
      queue_.pop_front();
      cached = lookup(job.key, decision);  // a review of the same token may have just finished
    }
    if (!cached) decision = review(job);
    job.token.clear();
    try {
      job.done(std::move(decision));
    } catch (...) {  // the server's Respond does not throw; a worker must survive whatever does
    }
  }
}

std::optional<ScrapeResponse> TokenAuth::review(const Job& job) {
  auto log = [this](sdk::LogLevel level, const std::string& line) {
    if (log_) log_(level, line);
  };
  {
    std::lock_guard lock(mutex_);
    ++stats_.token_reviews;
  }
  auto who = reviewer_.authenticate(job.token, sdk::Deadline::in(options_.review_timeout));
  if (!who) {
    log(sdk::LogLevel::kWarn, "metrics: token auth: TokenReview failed (answered 401): " + who.error().message);
    return refusal(401, "Authentication failed");  // not cached
  }
  if (!who->authenticated) {
    std::lock_guard lock(mutex_);
    auto out = refusal(401, "Unauthorized");
    remember(job.key, out);
    return out;
  }
  {
    std::lock_guard lock(mutex_);
    ++stats_.access_reviews;
  }
  auto decision = reviewer_.authorize(*who, job.path, job.verb, sdk::Deadline::in(options_.review_timeout));
  if (!decision) {
    log(sdk::LogLevel::kWarn, "metrics: token auth: SubjectAccessReview for " + who->user +
                                  " failed (answered 500): " + decision.error().message);
    return refusal(500, "Authorization for user " + who->user + " failed");  // not cached
  }
  std::optional<ScrapeResponse> out;
  if (!decision->allowed) {
    out = refusal(403, "Authorization denied for user " + who->user);
    log(sdk::LogLevel::kInfo, "metrics: token auth: " + who->user + " may not " + job.verb + " " + job.path +
                                  (decision->reason.empty() ? "" : ": " + decision->reason));
  }
  std::lock_guard lock(mutex_);
  remember(job.key, out);
  return out;
}

TokenAuthStats TokenAuth::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

std::size_t TokenAuth::cached() const {
  std::lock_guard lock(mutex_);
  return cache_.size();
}

}  // namespace wva::plugins::metrics
