// The cluster as the host sees it: the SDK's ClusterView plus what only the host needs.
// Backends: local (a folder of Kubernetes YAML) now; kube (REST + watch) later, same interface.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "wva/sdk/context.h"

namespace wva::framework {

class ClusterBackend : public sdk::ClusterView {
 public:
  // Brings the cache up to date (local: re-reads the folder when files changed; kube: drains watches).
  // Errors name the file/object and what is wrong; on error the previous good state is kept.
  virtual sdk::Result<void> refresh() = 0;
  // Human name for logs: "local:/path" or "kube:https://...".
  virtual std::string describe() const = 0;
  // Bumped whenever an object that shapes the model views changes (files, scale, Deployment status,
  // ConfigMaps). A VariantAutoscaling status patch does NOT bump it: the host writes those itself and
  // knows what it wrote. The host rebuilds its model views only when this changes.
  virtual std::uint64_t revision() const = 0;
  // `listener` is called (from any thread) when a VariantAutoscaling or one of the controller's ConfigMaps
  // changed, so the host can run a cycle soon instead of at the next interval. Default: never called
  // (the local backend is polled by refresh()).
  virtual void subscribe_changes(std::function<void()> listener) { (void)listener; }
  // The API server's TokenReview/SubjectAccessReview, lent to plugins; nullptr when there is no API
  // server (local, offline).
  virtual sdk::AccessReviewer* access_reviewer() { return nullptr; }
};

}  // namespace wva::framework
