// sdk::AccessReviewer on the Kubernetes API: a TokenReview (authentication.k8s.io/v1) says whose a bearer
// token is, a SubjectAccessReview (authorization.k8s.io/v1, nonResourceAttributes) whether that user may
// `get /metrics`. The calls go out with the controller's own credentials (its service account needs
// `create` on tokenreviews and subjectaccessreviews). No caching here: the caller decides how long a
// decision holds. Thread-safe (KubeClient is).
#pragma once

#include <memory>
#include <string>

#include "cluster/kube/kube_client.h"
#include "wva/sdk/context.h"

namespace wva::framework::kube {

class KubeAccessReviewer final : public sdk::AccessReviewer {
 public:
  explicit KubeAccessReviewer(std::shared_ptr<KubeClient> client) : client_(std::move(client)) {}

  sdk::Result<sdk::TokenIdentity> authenticate(const std::string& token, sdk::Deadline deadline) override;
  sdk::Result<sdk::AccessDecision> authorize(const sdk::TokenIdentity& who, const std::string& path,
                                             const std::string& verb, sdk::Deadline deadline) override;

 private:
  std::shared_ptr<KubeClient> client_;
};

// The request bodies and the parsing of the answers, apart from the transport (unit-tested on their own).
nlohmann::json token_review_request(const std::string& token);
sdk::Result<sdk::TokenIdentity> parse_token_review(const nlohmann::json& answer);
nlohmann::json subject_access_review_request(const sdk::TokenIdentity& who, const std::string& path,
                                             const std::string& verb);
sdk::Result<sdk::AccessDecision> parse_subject_access_review(const nlohmann::json& answer);

}  // namespace wva::framework::kube
