// An HTTP(S) GET with libcurl for tests: verifies the server against a CA file (or does not, when none
// is given), optionally sends a bearer token, bounded by a timeout.
#pragma once

#include <curl/curl.h>

#include <chrono>
#include <string>

namespace wva::testing {

struct HttpsReply {
  long status = 0;  // 0: no HTTP answer (see error)
  std::string body;
  std::string error;
};

inline HttpsReply https_get(const std::string& url, const std::string& ca_file, const std::string& token = {},
                            std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  HttpsReply reply;
  CURL* c = curl_easy_init();
  if (!c) return {0, "", "curl_easy_init failed"};
  char error[CURL_ERROR_SIZE] = {};
  curl_slist* headers = nullptr;
  if (!token.empty()) headers = curl_slist_append(headers, ("Authorization: Bearer " + token).c_str());
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
  if (!ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, ca_file.c_str());
  if (headers) curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(
      c, CURLOPT_WRITEFUNCTION, +[](char* data, std::size_t size, std::size_t n, void* user) {
        static_cast<std::string*>(user)->append(data, size * n);
        return size * n;
      });
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &reply.body);
  const CURLcode rc = curl_easy_perform(c);
  if (rc == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &reply.status);
  else reply.error = error[0] ? error : curl_easy_strerror(rc);
  curl_slist_free_all(headers);
  curl_easy_cleanup(c);
  return reply;
}

}  // namespace wva::testing
