// The plugin instances of one pipelines.yaml: loaded, configured, started, stopped together.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
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
  sdk::AccessReviewer* access_reviewer = nullptr;  // null without an API server
};

class InstanceContext final : public sdk::PluginContext {
 public:
  // `config_path` (e.g. "analyzers.my-analyzer") locates a diagnostic reported without a path.
  InstanceContext(const HostServices& services, std::string name, std::string config_path = {});
  sdk::Logger& logger() override { return logger_; }
  const sdk::Clock& clock() override { return *services_.clock; }
  sdk::ClusterView& cluster() override { return *services_.cluster; }
  sdk::MetricsRegistry& metrics() override { return *services_.metrics; }
  std::string instance_name() const override { return name_; }
  sdk::AccessReviewer* access_reviewer() override { return services_.access_reviewer; }
  // Logs the diagnostic through the instance's logger and keeps it (each distinct one once, at most
  // kMaxDiagnostics) for diagnostics().
  void report(const sdk::Diagnostic& diagnostic) override;
  // What the instance reported, in order, paths filled in.
  std::vector<sdk::Diagnostic> diagnostics() const;

  static constexpr std::size_t kMaxDiagnostics = 1000;

 private:
  HostServices services_;
  std::string name_;
  std::string config_path_;
  SpdLogger logger_;
  mutable std::mutex diagnostics_mutex_;
  std::vector<sdk::Diagnostic> diagnostics_;
  std::set<std::pair<std::string, std::string>> seen_;  // (path, message)
};

// Makes a fresh object of an instance's plugin (its library's factory, or an in-process factory).
using PluginFactory = std::function<sdk::Result<std::shared_ptr<sdk::Plugin>>()>;

// What it takes to replace a hung instance by a fresh one: the same plugin, settings and context.
struct FreshInstanceRecipe {
  std::string section;  // "sources", "analyzers", "sinks", "combiners"
  std::string name;
  std::string path;  // config path, e.g. "analyzers.a"
  PluginFactory create;
  nlohmann::json config;  // as prepare_settings() made it: what configure() gets
  std::shared_ptr<InstanceContext> context;
  // Creates, checks the kind, configures and starts a fresh object (each step's error says which).
  sdk::Result<std::shared_ptr<sdk::Plugin>> make() const;
};

struct PluginInstance {
  std::string name;    // instance name in pipelines.yaml
  std::string plugin;  // library name
  std::string path;    // config path, e.g. "analyzers.a"
  std::shared_ptr<sdk::Plugin> object;
  std::shared_ptr<InstanceContext> context;  // shared with the next set when the instance survives a reload
  bool started = false;
  std::filesystem::path file;  // the library it came from (empty for in-process instances)
  nlohmann::json config;       // the settings as written in pipelines.yaml
  nlohmann::json settings;     // what configure() got: validated and defaulted (prepare_settings)
  // Kept from the previous set on a reload and still that set's to stop until take_over_from().
  bool inherited = false;
  PluginFactory create;  // empty: an in-process instance without a factory (cannot be restarted)
};

class PluginSet {
 public:
  PluginSet() = default;
  ~PluginSet() { stop_all(); }
  PluginSet(const PluginSet&) = delete;
  PluginSet& operator=(const PluginSet&) = delete;

  // Loads every referenced library, checks each provides the kind its section needs, creates every
  // instance, validates its settings against its plugin's schema (sdk::prepare_settings: every error of
  // every instance) and configures it. Returns every error found (with its config path); empty = success.
  // With `previous` (a reload), an instance whose section, name, library and settings are unchanged and
  // which runs in `previous` is kept as it is: not re-created, re-configured or re-started, so its state
  // and its listeners survive. It stays previous's to stop until take_over_from().
  std::vector<sdk::Error> build(const HostConfig& config, const std::vector<std::filesystem::path>& paths,
                                const HostServices& services, const PluginSet* previous = nullptr);
  // For tests and embedding: an in-process instance (no library); kept like above when `previous` runs
  // the same object under the same name.
  // With `factory`, a hung instance can be replaced by a fresh one (restart()).
  void add(const std::string& section, std::string name, std::shared_ptr<sdk::Plugin> object,
           const HostServices& services, const PluginSet* previous = nullptr, PluginFactory factory = {});
  // Commits a reload: the instances this set kept from `previous` become this set's (previous will not
  // stop them); previous's other instances are left for previous to stop.
  void take_over_from(PluginSet& previous);
  // Instances kept from the previous set (for logs and tests).
  std::size_t inherited_count() const;

  std::vector<sdk::Error> start_all();
  // Starts the instances of one section only ("sources", "analyzers", "sinks", "combiners"), e.g. for a dry
  // run.
  std::vector<sdk::Error> start_section(const std::string& section);
  // Stops every started instance, sinks first. An instance for which `skip("section/name", object)` is
  // true (a call into it is hung) is not stopped: stop() would wait on the hung call; it is left to the
  // thread that holds it.
  void stop_all(const std::function<bool(const std::string&, const sdk::Plugin*)>& skip = {}) noexcept;

  // How to make a fresh object of a running instance ("analyzers/q"); an error says why it cannot be.
  sdk::Result<FreshInstanceRecipe> recipe(const std::string& key) const;
  // Puts a fresh, started object in place of the instance's (`key` "analyzers/q") and returns the
  // object it replaces, which this set no longer stops (a hung call holds it); null when absent.
  std::shared_ptr<sdk::Plugin> replace(const std::string& key, std::shared_ptr<sdk::Plugin> fresh);
  // The object of an instance ("sources", name), to co-own it across a watched call; null when absent.
  std::shared_ptr<sdk::Plugin> object(const std::string& section, const std::string& name) const;

  sdk::Source* source(const std::string& name) const;
  sdk::Analyzer* analyzer(const std::string& name) const;
  sdk::Sink* sink(const std::string& name) const;
  sdk::Combiner* combiner(const std::string& name) const;
  const std::vector<PluginInstance>& instances() const { return instances_; }
  // Every instance's diagnostics (InstanceContext::report), in instance order.
  std::vector<sdk::Diagnostic> diagnostics() const;

 private:
  const PluginInstance* find(const std::string& section, const std::string& name) const;
  // The running instance of `previous` to keep for this one, or nullptr.
  static const PluginInstance* reusable(const PluginSet* previous, const std::string& section, const std::string& name,
                                        const std::shared_ptr<sdk::Plugin>* same_object,
                                        const std::filesystem::path& file, const nlohmann::json* config);
  void keep(const std::string& section, const PluginInstance& from);
  std::map<std::filesystem::path, std::shared_ptr<PluginLibrary>> libraries_;
  std::vector<PluginInstance> instances_;
  std::map<std::string, std::size_t> index_;  // "section/name" -> instances_ index
};

}  // namespace wva::framework
