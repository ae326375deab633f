#include "cluster/kube/access_reviews.h"

#include <exception>

namespace wva::framework::kube {
namespace {

using nlohmann::json;
using sdk::ErrorCode;
using sdk::make_error;

constexpr const char* kTokenReviews = "/apis/authentication.k8s.io/v1/tokenreviews";
constexpr const char* kSubjectAccessReviews = "/apis/authorization.k8s.io/v1/subjectaccessreviews";

// POSTs a review object and returns the parsed answer, or the transport/API error.
sdk::Result<json> post_review(KubeClient& client, const char* path, const json& body, sdk::Deadline deadline) {
  const auto budget = deadline.remaining();
  if (budget.count() <= 0)
    return make_error(ErrorCode::kTimeout, std::string("POST ") + path + ": no time left for the review");
  auto response = client.request("POST", path, body.dump(), "application/json", budget);
  if (!response) return response.error();
  if (response->status != 200 && response->status != 201) return api_error(*response, std::string("POST ") + path);
  try {
    return json::parse(response->body);
  } catch (const std::exception& e) {
    return make_error(ErrorCode::kUnavailable, std::string("POST ") + path + ": the answer is not JSON: " + e.what());
  }
}

}  // namespace

json token_review_request(const std::string& token) {
  return {{"apiVersion", "authentication.k8s.io/v1"}, {"kind", "TokenReview"}, {"spec", {{"token", token}}}};
}

sdk::Result<sdk::TokenIdentity> parse_token_review(const json& answer) {
  if (!answer.is_object() || !answer.contains("status") || !answer["status"].is_object())
    return make_error(ErrorCode::kUnavailable, "TokenReview answer has no status");
  const json& status = answer["status"];
  sdk::TokenIdentity out;
  out.authenticated = status.value("authenticated", false);
  out.error = status.value("error", "");
  if (auto user = status.find("user"); user != status.end() && user->is_object()) {
    out.user = user->value("username", "");
    out.uid = user->value("uid", "");
    if (auto g = user->find("groups"); g != user->end() && g->is_array())
      for (const auto& group : *g)
        if (group.is_string()) out.groups.push_back(group.get<std::string>());
    if (auto e = user->find("extra"); e != user->end() && e->is_object())
      for (const auto& [key, values] : e->items())
        if (values.is_array())
          for (const auto& v : values)
            if (v.is_string()) out.extra[key].push_back(v.get<std::string>());
  }
  // An authenticated answer without a user name cannot be authorized: treat it as not authenticated.
  if (out.authenticated && out.user.empty()) {
    out.authenticated = false;
    if (out.error.empty()) out.error = "TokenReview authenticated the token but named no user";
  }
  return out;
}

json subject_access_review_request(const sdk::TokenIdentity& who, const std::string& path, const std::string& verb) {
  json spec = {{"user", who.user}, {"nonResourceAttributes", {{"path", path}, {"verb", verb}}}};
  if (!who.uid.empty()) spec["uid"] = who.uid;
  if (!who.groups.empty()) spec["groups"] = who.groups;
  if (!who.extra.empty()) spec["extra"] = who.extra;
  return {{"apiVersion", "authorization.k8s.io/v1"}, {"kind", "SubjectAccessReview"}, {"spec", spec}};
}

sdk::Result<sdk::AccessDecision> parse_subject_access_review(const json& answer) {
  if (!answer.is_object() || !answer.contains("status") || !answer["status"].is_object())
    return make_error(ErrorCode::kUnavailable, "SubjectAccessReview answer has no status");
  const json& status = answer["status"];
  sdk::AccessDecision out;
  out.allowed = status.value("allowed", false) && !status.value("denied", false);
  out.reason = status.value("reason", "");
  // The authorizer could not decide (e.g. a webhook failed): an error, not a denial (as client-go's
  // delegating authorizer reports it).
  const std::string evaluation_error = status.value("evaluationError", "");
  if (!out.allowed && !evaluation_error.empty())
    return make_error(ErrorCode::kUnavailable, "SubjectAccessReview could not be evaluated: " + evaluation_error);
  return out;
}

sdk::Result<sdk::TokenIdentity> KubeAccessReviewer::authenticate(const std::string& token, sdk::Deadline deadline) {
  auto answer = post_review(*client_, kTokenReviews, token_review_request(token), deadline);
  if (!answer) return answer.error();
  return parse_token_review(*answer);
}

sdk::Result<sdk::AccessDecision> KubeAccessReviewer::authorize(const sdk::TokenIdentity& who, const std::string& path,
                                                               const std::string& verb, sdk::Deadline deadline) {
  auto answer = post_review(*client_, kSubjectAccessReviews, subject_access_review_request(who, path, verb), deadline);
  if (!answer) return answer.error();
  return parse_subject_access_review(*answer);
}

}  // namespace wva::framework::kube
