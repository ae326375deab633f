// The plugin instances of one pipelines.yaml: loaded, configured, started, stopped together.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cluster/cluster_backend.h"
#include "config/pipeline_config.h"
#include "host/loader.h"
#include "host/logger.h"
#include "wva/sdk/plugin.h"

namespace wva::framework {

// What every plugin context shares: the host's services.
struct HostServices {
  std::shared_ptr<spdlog::logger> log;
  const sdk::Clock* clock = nullptr;
  sdk::ClusterView* cluster = nullptr;
  sdk::MetricsRegistry* metrics = nullptr;
};

class InstanceContext final : public sdk::PluginContext {
 public:
  InstanceContext(const HostServices& services, std::string name);
  sdk::Logger& logger() override { return logger_; }
  const sdk::Clock& clock() override { return *services_.clock; }
  sdk::ClusterView& cluster() override { return *services_.cluster; }
  sdk::MetricsRegistry& metrics() override { return *services_.metrics; }
  std::string instance_name() const override { return name_; }

 private:
  HostServices services_;
  std::string name_;
  SpdLogger logger_;
};

struct PluginInstance {
  std::string name;    // instance name in pipelines.yaml
  std::string plugin;  // library name
  std::string path;    // config path, e.g. "analyzers.saturation"
  std::shared_ptr<sdk::Plugin> object;
  std::unique_ptr<InstanceContext> context;
  bool started = false;
};

class PluginSet {
 public:
  PluginSet() = default;
  ~PluginSet() { stop_all(); }
  PluginSet(const PluginSet&) = delete;
  PluginSet& operator=(const PluginSet&) = delete;

  // Loads every referenced library, checks each provides the kind its section needs, creates and
  // configures every instance. Returns every error found (with its config path); empty = success.
  std::vector<sdk::Error> build(const HostConfig& config, const std::vector<std::filesystem::path>& paths,
                                const HostServices& services);
  // For tests and embedding: an in-process instance (no library).
  void add(const std::string& section, std::string name, std::shared_ptr<sdk::Plugin> object,
           const HostServices& services);

  std::vector<sdk::Error> start_all();
  // Starts the instances of one section only ("sources", "analyzers", "sinks"), e.g. for a dry run.
  std::vector<sdk::Error> start_section(const std::string& section);
  void stop_all() noexcept;

  sdk::Source* source(const std::string& name) const;
  sdk::Analyzer* analyzer(const std::string& name) const;
  sdk::Sink* sink(const std::string& name) const;
  const std::vector<PluginInstance>& instances() const { return instances_; }

 private:
  const PluginInstance* find(const std::string& section, const std::string& name) const;
  std::map<std::filesystem::path, std::shared_ptr<PluginLibrary>> libraries_;
  std::vector<PluginInstance> instances_;
  std::map<std::string, std::size_t> index_;  // "section/name" -> instances_ index
};

}  // namespace wva::framework
