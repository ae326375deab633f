// No cluster at all: `wva validate --config FILE` checks a pipelines.yaml before it is applied, as
// `promtool check config` does. Lists are empty, and nothing can be written.
#pragma once

#include <string>

#include "cluster/cluster_backend.h"

namespace wva::framework {

class OfflineCluster final : public ClusterBackend {
 public:
  explicit OfflineCluster(std::string system_namespace) : system_namespace_(std::move(system_namespace)) {}

  std::string system_namespace() const override { return system_namespace_; }
  sdk::Result<std::vector<sdk::ObjectSnapshot>> list_shared(const std::string&, const std::string&) override {
    return std::vector<sdk::ObjectSnapshot>{};
  }
  sdk::Result<sdk::ObjectSnapshot> get_shared(const std::string&, const std::string&, const std::string&) override {
    return sdk::ObjectSnapshot{};
  }
  sdk::Result<void> patch_status(const std::string& kind, const std::string& ns, const std::string& name,
                                 const nlohmann::json&) override {
    return sdk::make_error(sdk::ErrorCode::kUnavailable, "offline: cannot patch " + kind + " " + ns + "/" + name);
  }
  sdk::Result<void> scale(const std::string& ns, const std::string& deployment, int) override {
    return sdk::make_error(sdk::ErrorCode::kUnavailable, "offline: cannot scale " + ns + "/" + deployment);
  }
  sdk::Result<void> refresh() override { return {}; }
  std::string describe() const override { return "offline (no cluster)"; }
  std::uint64_t revision() const override { return 0; }

 private:
  std::string system_namespace_;
};

}  // namespace wva::framework
