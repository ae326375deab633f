#include "cli/cli.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <optional>
#include <sstream>

#include <boost/program_options.hpp>

#include "cli/external_command.h"
#include "cli/kube_backend.h"
#include "cli/reserved_stdout.h"
#include "cli/signals.h"
#include "cluster/kube/leader_elector.h"
#include "cluster/kube/shard_elector.h"
#include "cluster/local_cluster.h"
#include "cluster/offline_cluster.h"
#include "config/duration.h"
#include "config/input_limits.h"
#include "host/clock.h"
#include "host/host.h"
#include "host/loader.h"
#include "host/probe_server.h"
#include "host/sharding.h"
#include "wva/sdk/util/json.h"

namespace po = boost::program_options;

namespace wva::framework {

namespace {

constexpr const char* kUsage = R"(wva: the Workload-Variant-Autoscaler

usage:
  wva run      [--local DIR | --kubeconfig FILE [--context NAME]] [--watch-namespace NS]...
               [--config FILE] [--once] [--duration D] [--interval D] [--output text|json]
               [--plugin-path DIR]... [--status-file FILE] [--leader-elect] [--health-probe-bind-address A]
               [--shards N [--shard-index I]]
  wva validate [--local DIR | --kubeconfig FILE [--context NAME]] [--config FILE] [--plugin-path DIR]...
  wva plugins  [--plugin-path DIR]... [--describe NAME [--markdown]]
  wva simulate SCENARIO.yaml [--report DIR] [--output text|json] [--static-frontier] [--pipeline NAME]...
  wva version

`wva simulate` runs the wva-simulate program (installed beside wva, or in ../libexec/wva/) with the
same arguments: a simulation driver built on the host's virtual clock (exit 127 when it is missing).

Durations: 500ms, 15s, 2m, 1h. RECONCILIATION_INTERVAL sets the default interval (60s).
POD_NAMESPACE sets the controller's namespace (default workload-variant-autoscaler-system).
Without --local: the in-cluster service account in a pod, else --kubeconfig, KUBECONFIG, ~/.kube/config.
LOG_LEVEL (debug|info|warn|error) sets the log level.
Run `wva <command> --help` for the options of a command.
)";

std::string system_namespace() {
  const char* ns = std::getenv("POD_NAMESPACE");
  return ns && *ns ? ns : "workload-variant-autoscaler-system";
}

void print_errors(const std::vector<sdk::Error>& errors) {
  for (const auto& e : errors) {
    // A multi-line error (e.g. several bad manifests) prints one line per problem.
    std::istringstream lines(e.to_string());
    for (std::string line; std::getline(lines, line);) std::cerr << escape_control(line) << '\n';
  }
}

std::vector<std::filesystem::path> to_paths(const std::vector<std::string>& v) { return {v.begin(), v.end()}; }

void print_text(const std::vector<sdk::Decision>& decisions, std::ostream& out) {
  out << std::left << std::setw(20) << "NAMESPACE" << std::setw(28) << "MODEL" << std::setw(22) << "VARIANT"
      << std::setw(10) << "ACCEL" << std::setw(8) << "CURRENT" << std::setw(8) << "DESIRED"
      << "REASON\n";
  for (const auto& d : decisions)
    out << std::left << std::setw(20) << d.model.ns << std::setw(28) << d.model.model_id << std::setw(22) << d.variant
        << std::setw(10) << (d.accelerator.empty() ? "-" : d.accelerator) << std::setw(8) << d.current << std::setw(8)
        << d.desired << (d.analyzer.empty() ? "" : "[" + d.analyzer + "] ") << d.reason << '\n';
}

// {"<ns>/<name>": <status>} of every VariantAutoscaling, written atomically (temp file + rename) so a
// reader never sees half a document. For local mode, where the cluster is in memory.
void write_status_file(ClusterBackend& cluster, const std::string& path, spdlog::logger& log) {
  auto vas = cluster.list("VariantAutoscaling", "");
  if (!vas.ok()) {
    log.error("--status-file: {}", vas.error().to_string());
    return;
  }
  nlohmann::ordered_json doc = nlohmann::ordered_json::object();
  for (const auto& va : *vas) {
    const auto& meta = va.value("metadata", nlohmann::json::object());
    doc[meta.value("namespace", "default") + "/" + meta.value("name", "")] =
        va.value("status", nlohmann::json::object());
  }
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << doc.dump(2) << '\n';
    if (!out) {
      log.error("--status-file: cannot write {}", tmp);
      return;
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) log.error("--status-file: cannot rename {} to {}: {}", tmp, path, ec.message());
}

// Options shared by run and validate.
struct CommonOptions {
  std::string local;
  std::string config;
  std::vector<std::string> plugin_paths;
  bool verbose = false;
  KubeFlags kube;
  std::string sync_timeout_text;
};

void add_common(po::options_description& desc, CommonOptions& o) {
  desc.add_options()("local", po::value(&o.local), "run against a folder of Kubernetes YAML instead of a cluster")(
      "config", po::value(&o.config), "pipelines.yaml file (default: ConfigMap wva-pipelines)")(
      "plugin-path", po::value(&o.plugin_paths)->composing(), "extra folder with lib<name>.so plugins (repeatable)")(
      "verbose,v", po::bool_switch(&o.verbose), "debug logging")(
      "kubeconfig", po::value(&o.kube.kubeconfig), "kubeconfig file (default: in-cluster, KUBECONFIG, ~/.kube/config)")(
      "context", po::value(&o.kube.context), "kubeconfig context (default: current-context)")(
      "watch-namespace", po::value(&o.kube.watch_namespaces)->composing(),
      "watch only this namespace (repeatable; default: all namespaces)")(
      "sync-timeout", po::value(&o.sync_timeout_text),
      "how long to wait for the first sync of the caches (default 2m)");
}

sdk::Result<std::shared_ptr<ClusterBackend>> make_cluster(const CommonOptions& o,
                                                          std::shared_ptr<spdlog::logger> log = nullptr,
                                                          const std::function<bool()>& cancelled = {}) {
  if (o.local.empty()) {
    KubeFlags flags = o.kube;
    if (!o.sync_timeout_text.empty()) {
      auto d = parse_duration(o.sync_timeout_text);
      if (!d.ok() || d.value().count() <= 0)
        return sdk::make_error(sdk::ErrorCode::kInvalidConfig,
                               "--sync-timeout: " + (d.ok() ? std::string("must be > 0") : d.error().message));
      flags.sync_timeout = d.value();
    }
    if (!log) log = make_stderr_logger(o.verbose);
    auto kube = connect_kube(flags, system_namespace(), log, cancelled);
    if (!kube) return kube.error();
    return std::shared_ptr<ClusterBackend>(kube.value());
  }
  auto cluster = std::make_shared<LocalCluster>(o.local, system_namespace());
  if (auto r = cluster->load(); !r.ok()) return r.error();
  return std::shared_ptr<ClusterBackend>(cluster);
}

HostOptions host_options(const CommonOptions& o) {
  HostOptions h;
  if (!o.config.empty()) h.config_file = std::filesystem::path(o.config);
  h.plugin_paths = to_paths(o.plugin_paths);
  h.base_dir = !o.config.empty() ? std::filesystem::path(o.config).parent_path() : std::filesystem::path(o.local);
  h.worker_threads = std::max(2u, std::thread::hardware_concurrency());
  return h;
}

bool parse(int argc, char** argv, po::options_description& desc, po::variables_map& vm,
           po::positional_options_description* positional = nullptr) {
  try {
    po::command_line_parser parser(argc, argv);
    parser.options(desc);
    if (positional) parser.positional(*positional);
    po::store(parser.run(), vm);
    po::notify(vm);
    return true;
  } catch (const po::error& e) {
    std::cerr << "wva: " << e.what() << "\n" << desc;
    return false;
  }
}

// A thread still inside a plugin (a call abandoned past its deadline): returning from main would run static
// destructors and unload what it uses under it. Leave at once, output flushed.
void leave_if_hung(const Host& host, spdlog::logger& log) {
  const auto hung = host.hung_instances();
  if (hung.empty()) return;
  std::string names;
  for (const auto& h : hung) names += (names.empty() ? "" : ", ") + h;
  log.warn("exiting with {} plugin call(s) still hung ({})", hung.size(), names);
  log.flush();
  std::cout << std::flush;
  std::_Exit(0);
}

int cmd_run(int argc, char** argv) {
  CommonOptions common;
  bool once = false, leader_elect = false;
  std::string duration_text, interval_text, output = "text", status_file, probe_address = ":8081";
  std::string lease_duration_text = "15s", renew_deadline_text = "10s", retry_period_text = "2s";
  std::string lease_name = "workload-variant-autoscaler-leader";
  long long shards = 1, shard_index = -1;
  po::options_description desc("wva run options");
  add_common(desc, common);
  desc.add_options()("once", po::bool_switch(&once), "run one cycle of every pipeline and exit")(
      "duration", po::value(&duration_text), "stop after this long (default: until SIGTERM/SIGINT)")(
      "interval", po::value(&interval_text), "cycle interval for every pipeline (overrides pipelines.yaml)")(
      "output", po::value(&output), "text or json")(
      "status-file", po::value(&status_file),
      "after every cycle, write the VariantAutoscaling statuses (what the status sink wrote) to this JSON file")(
      "leader-elect", po::bool_switch(&leader_elect), "only the replica holding the Lease publishes (kube backend)")(
      "leader-elect-lease-name", po::value(&lease_name), "the Lease (in the controller's namespace)")(
      "leader-elect-lease-duration", po::value(&lease_duration_text), "Lease duration (default 15s)")(
      "leader-elect-renew-deadline", po::value(&renew_deadline_text),
      "leader gives up after failing to renew this long (10s)")(
      "leader-elect-retry-period", po::value(&retry_period_text), "how often to try to acquire/renew (2s)")(
      "shards", po::value(&shards),
      "spread the models over N shards by fnv1a64(namespace/modelID) mod N; with --shard-index this replica "
      "owns one of them, with --leader-elect the replicas share them out on Leases <lease-name>-shard-<i>")(
      "shard-index", po::value(&shard_index), "with --shards N: the one shard (0..N-1) this replica owns")(
      "health-probe-bind-address", po::value(&probe_address),
      "/healthz and /readyz listen here (default :8081; \"0\" turns the probes off)")("help,h", "this help");
  po::variables_map vm;
  if (!parse(argc, argv, desc, vm)) return 2;
  if (vm.count("help")) {
    std::cout << desc;
    return 0;
  }
  if (output != "text" && output != "json") {
    std::cerr << "wva run: --output must be text or json, not \"" << output << "\"\n";
    return 2;
  }
  std::optional<std::chrono::milliseconds> duration, interval, lease_duration, renew_deadline, retry_period;
  for (auto [text, target, flag] :
       {std::tuple{&duration_text, &duration, "--duration"}, std::tuple{&interval_text, &interval, "--interval"},
        std::tuple{&lease_duration_text, &lease_duration, "--leader-elect-lease-duration"},
        std::tuple{&renew_deadline_text, &renew_deadline, "--leader-elect-renew-deadline"},
        std::tuple{&retry_period_text, &retry_period, "--leader-elect-retry-period"}}) {
    if (text->empty()) continue;
    auto d = parse_duration(*text);
    if (!d.ok() || d.value().count() <= 0) {
      std::cerr << "wva run: " << flag << ": " << (d.ok() ? "must be > 0" : d.error().message) << "\n";
      return 2;
    }
    *target = d.value();
  }

  // Before any plugin is loaded: from here on, only the JSON documents reach stdout.
  std::optional<ReservedStdout> json_out;
  if (output == "json") json_out.emplace();
  StopSignal stop;
  SignalWatcher signals([&stop](int sig) {
    if (sig == SIGHUP) {
      stop.request_reload();
    } else if (sig != SIGUSR1 && sig != SIGUSR2) {  // SIGUSR1/2 are ignored on purpose
      stop.request();
    }
  });
  if (leader_elect && !(*renew_deadline < *lease_duration && *retry_period < *renew_deadline)) {
    std::cerr << "wva run: leader election needs retry period < renew deadline < lease duration\n";
    return 2;
  }
  if (leader_elect && !common.local.empty()) {
    std::cerr << "wva run: --leader-elect needs the Kubernetes API (not --local)\n";
    return 2;
  }
  const bool static_shard = vm.count("shard-index") > 0;
  if (shards < 1 || shards > static_cast<long long>(kMaxShards)) {
    std::cerr << "wva run: --shards must be between 1 and " << kMaxShards << ", not " << shards << "\n";
    return 2;
  }
  if (static_shard && (shard_index < 0 || shard_index >= shards)) {
    std::cerr << "wva run: --shard-index must be between 0 and " << shards - 1 << " (--shards " << shards << "), not "
              << shard_index << "\n";
    return 2;
  }
  if (static_shard && leader_elect) {
    std::cerr << "wva run: --shard-index (a fixed shard) and --leader-elect exclude each other: with --leader-elect, "
                 "--shards N shares the shards out among the replicas on Leases\n";
    return 2;
  }
  const bool auto_shards = leader_elect && shards > 1;
  if (shards > 1 && !static_shard && !leader_elect) {
    std::cerr << "wva run: --shards " << shards
              << " needs --shard-index I (this replica owns shard I) or --leader-elect (the replicas share the "
                 "shards out on Leases)\n";
    return 2;
  }
  if (auto_shards && once) {
    std::cerr << "wva run: --once cannot hold shard Leases; use --shard-index I to run one cycle of one shard\n";
    return 2;
  }
  if (auto_shards && kube::member_lease_name(lease_name, "").size() > 253) {
    std::cerr << "wva run: --leader-elect-lease-name is too long for the shard Leases (at most "
              << 253 - (kube::member_lease_name(lease_name, "").size() - lease_name.size()) << " characters)\n";
    return 2;
  }
  auto log = make_stderr_logger(common.verbose);
  apply_log_level_env(*log, common.verbose);
  // Probes answer while the caches sync: /healthz ok, /readyz says why not yet.
  std::atomic<bool> config_loaded{false};
  std::shared_ptr<kube::KubeCluster> kube_cluster;
  std::mutex kube_mutex;
  std::unique_ptr<ProbeServer> probes;
  std::chrono::milliseconds stall_limit{120000};
  if (!once && probe_address != "0") {
    probes = std::make_unique<ProbeServer>(
        [&]() -> std::string {
          {
            std::lock_guard lock(kube_mutex);
            if (common.local.empty() && (!kube_cluster || !kube_cluster->synced())) return "caches not synced";
          }
          return config_loaded ? "" : "no valid configuration loaded";
        },
        stall_limit);
    if (auto r = probes->start(probe_address); !r) {
      print_errors({r.error()});
      return 1;
    }
    log->info("probes: /healthz and /readyz on port {}", probes->port());
  }
  auto cluster = make_cluster(common, log, [&stop] { return stop.requested(); });
  if (!cluster.ok()) {
    print_errors({cluster.error()});
    return 1;
  }
  {
    std::lock_guard lock(kube_mutex);
    kube_cluster = std::dynamic_pointer_cast<kube::KubeCluster>(cluster.value());
  }
  auto options = host_options(common);
  options.interval = interval;
  std::unique_ptr<kube::LeaderElector> elector;
  std::unique_ptr<kube::ShardElector> shard_elector;
  if (static_shard && shards > 1) {
    options.shards = static_cast<std::size_t>(shards);
    options.owns_shard = [mine = static_cast<std::size_t>(shard_index)](std::size_t s) { return s == mine; };
  }
  if (auto_shards) {
    kube::ShardElectionOptions se;
    se.lease_namespace = system_namespace();
    se.lease_name = lease_name;
    se.shards = static_cast<std::size_t>(shards);
    se.lease_duration = *lease_duration;
    se.renew_deadline = *renew_deadline;
    se.retry_period = *retry_period;
    shard_elector = std::make_unique<kube::ShardElector>(
        std::shared_ptr<kube::KubeClient>(kube_cluster, &kube_cluster->client()), se, log);
    // A shard taken over is decided at once, not at the next interval.
    shard_elector->on_change([&stop] { stop.poke(); });
    options.shards = se.shards;
    options.owns_shard = [e = shard_elector.get()](std::size_t s) { return e->owns(s); };
  } else if (leader_elect && !once) {
    kube::LeaderElectionOptions le;
    le.lease_namespace = system_namespace();
    le.lease_name = lease_name;
    le.lease_duration = *lease_duration;
    le.renew_deadline = *renew_deadline;
    le.retry_period = *retry_period;
    elector = std::make_unique<kube::LeaderElector>(
        std::shared_ptr<kube::KubeClient>(kube_cluster, &kube_cluster->client()), le, log);
    options.may_publish = [e = elector.get()] { return e->is_leader(); };
  }
  Host host(options, cluster.value(), std::make_shared<WallClock>(), log);
  if (auto errors = host.start(); !errors.empty()) {
    print_errors(errors);
    return 1;
  }
  config_loaded = true;
  if (probes) {
    // Alive = some pipeline cycled within three of the longest intervals (at least 2 minutes).
    std::chrono::milliseconds longest{0};
    for (const auto& p : host.pipelines()) longest = std::max(longest, p.config.interval);
    probes->set_stall_limit(std::max(stall_limit, 3 * longest));
    probes->heartbeat();
  }
  if (elector) elector->start();
  if (shard_elector) {
    shard_elector->attach_metrics(&host.metrics());
    shard_elector->start();
  } else if (static_shard && shards > 1) {
    host.metrics().set_gauge("wva_shards", "Shards the models are spread over (--shards)", {},
                             static_cast<double>(shards));
    host.metrics().set_gauge("wva_shards_owned", "Shards this replica owns", {}, 1);
    host.metrics().set_gauge("wva_shard_owned", "1 while this replica owns the shard (publishes its models)",
                             {{"shard", std::to_string(shard_index)}}, 1);
    log->info("shards: this replica owns shard {} of {} (static)", shard_index, shards);
  }
  auto dump_status = [&] {
    if (!status_file.empty()) write_status_file(host.cluster(), status_file, *log);
  };
  if (once) {
    std::vector<sdk::Decision> all;
    auto outcomes = host.run_once();
    std::size_t count = 0;
    for (const auto& outcome : outcomes) count += outcome.decisions.size();
    all.reserve(count);  // 30,000 decisions at 10,000 models: not regrown on the way
    for (auto& outcome : outcomes)
      for (auto& d : outcome.decisions) all.push_back(std::move(d));
    outcomes.clear();
    dump_status();
    if (json_out) json_out->write_line(sdk::dump_decisions(all));
    else print_text(all, std::cout);
    host.shutdown();
    leave_if_hung(host, *log);
    return 0;
  }
  log->info("wva {} running {} pipeline(s) against {}", WVA_VERSION, host.pipelines().size(),
            host.cluster().describe());
  host.run(duration, stop, [&](const CycleOutcome& outcome) {
    if (probes) probes->heartbeat();
    dump_status();
    // An idle check (models at zero replicas only) is shown when it changes something: a scale from zero.
    if (outcome.partial && std::none_of(outcome.decisions.begin(), outcome.decisions.end(),
                                        [](const sdk::Decision& d) { return d.desired != d.current; }))
      return;
    if (json_out) {
      nlohmann::ordered_json extra = {{"pipeline", outcome.pipeline}};
      if (outcome.partial) extra["idleCheck"] = true;
      std::string line;
      sdk::append_decisions_json(line, outcome.decisions, extra);
      json_out->write_line(line);
    } else {
      std::cout << "# pipeline " << outcome.pipeline << (outcome.partial ? " (idle check: models at zero)" : "")
                << "\n";
      print_text(outcome.decisions, std::cout);
      std::cout << std::flush;
    }
  });
  log->info("stopping");
  if (elector) elector->release();              // the other replica takes over at once
  if (shard_elector) shard_elector->release();  // the others take the shards over at their next retry
  host.shutdown();
  if (kube_cluster) kube_cluster->stop();
  if (probes) probes->stop();
  leave_if_hung(host, *log);
  return 0;
}

// Whether anything names a cluster: the service account of a pod, --kubeconfig/--context, KUBECONFIG, or a
// ~/.kube/config that exists (the sources the kube backend reads, in its order).
bool cluster_configured(const CommonOptions& o) {
  auto set = [](const char* name) {
    const char* v = std::getenv(name);
    return v != nullptr && *v != '\0';
  };
  if (!o.kube.kubeconfig.empty() || !o.kube.context.empty()) return true;
  if (set("KUBERNETES_SERVICE_HOST") || set("KUBECONFIG")) return true;
  if (!set("HOME")) return false;
  std::error_code ec;
  return std::filesystem::exists(std::filesystem::path(std::getenv("HOME")) / ".kube" / "config", ec);
}

int cmd_validate(int argc, char** argv) {
  CommonOptions common;
  bool offline = false;
  po::options_description desc("wva validate options");
  add_common(desc, common);
  desc.add_options()("offline", po::bool_switch(&offline),
                     "check only the --config file (structure, plugins and their settings, durations, selectors), "
                     "without a cluster; implied by --config without --local when no cluster is configured")(
      "help,h", "this help");
  po::variables_map vm;
  if (!parse(argc, argv, desc, vm)) return 2;
  if (vm.count("help")) {
    std::cout << desc;
    return 0;
  }
  if (offline && !common.local.empty()) {
    std::cerr << "wva validate: --offline and --local exclude each other (--local reads the manifests)\n";
    return 2;
  }
  if (offline && common.config.empty()) {
    std::cerr << "wva validate: --offline needs --config FILE (the pipelines.yaml to check)\n";
    return 2;
  }
  // A file to check and no cluster configured at all: check what can be checked offline. A cluster that is
  // configured but broken (unreadable kubeconfig, unreachable server) is an error, not a reason to skip.
  if (!common.config.empty() && common.local.empty() && !cluster_configured(common)) offline = true;
  std::shared_ptr<ClusterBackend> backend;
  if (!offline) {
    auto cluster = make_cluster(common);
    if (!cluster.ok()) {
      print_errors({cluster.error()});
      return 1;
    }
    backend = cluster.value();
  }
  if (offline) backend = std::make_shared<OfflineCluster>(system_namespace());
  Host host(host_options(common), backend, std::make_shared<WallClock>(), make_stderr_logger(common.verbose));
  auto errors = host.validate(/*dry_run_analyzers=*/!offline);
  if (!errors.empty()) {
    print_errors(errors);
    return 1;
  }
  if (offline) {
    std::cout << "valid (offline): " << common.config
              << ": structure, plugin names and settings, durations and selectors\n";
    std::cerr << "wva validate: not checked offline: the VariantAutoscalings and Deployments the selectors match, "
                 "and the ConfigMaps the analyzers read (each analyzer's README lists them); run with --local DIR or "
                 "against a cluster to check them\n";
    return 0;
  }
  std::cout << "valid\n";
  return 0;
}

// `wva plugins --describe NAME [--markdown]`: the plugin's settings schema with its defaults, as text or as
// the Markdown table of its README's config reference.
int describe_plugin(const std::string& name, const std::vector<std::filesystem::path>& paths, bool markdown) {
  auto file = find_plugin_file(name, paths);
  if (!file.ok()) {
    print_errors({file.error()});
    return 1;
  }
  auto library = PluginLibrary::open(file.value());
  if (!library.ok()) {
    print_errors({library.error()});
    return 1;
  }
  auto object = library.value()->create();
  if (!object.ok()) {
    print_errors({object.error()});
    return 1;
  }
  std::optional<sdk::SettingsSchema> schema;
  try {
    schema = object.value()->settings_schema();
  } catch (const std::exception& e) {
    std::cerr << "wva plugins: " << name << " settings_schema() threw an exception: " << e.what() << '\n';
    return 1;
  }
  const PluginInfo& info = library.value()->info();
  if (!schema) {
    std::cerr << "wva plugins: " << name << " declares no settings schema (its settings reach it unchecked)\n";
    return 1;
  }
  if (markdown) {
    std::cout << sdk::settings_markdown(*schema);
    return 0;
  }
  std::cout << info.name << " " << info.version << " (" << sdk::kinds_to_string(info.kinds) << ")\n"
            << sdk::describe_settings(*schema);
  return 0;
}

int cmd_plugins(int argc, char** argv) {
  std::vector<std::string> plugin_paths;
  std::string describe;
  bool markdown = false;
  po::options_description desc("wva plugins options");
  desc.add_options()("plugin-path", po::value(&plugin_paths)->composing(), "folder with lib<name>.so (repeatable)")(
      "describe", po::value(&describe), "print plugin NAME's settings: type, accepted values, default, meaning")(
      "markdown", po::bool_switch(&markdown), "with --describe: as the Markdown table of the plugin's README")(
      "help,h", "this help");
  po::variables_map vm;
  if (!parse(argc, argv, desc, vm)) return 2;
  if (vm.count("help")) {
    std::cout << desc;
    return 0;
  }
  auto paths = to_paths(plugin_paths);
  for (auto& p : default_plugin_paths()) paths.push_back(p);
  if (!describe.empty()) return describe_plugin(describe, paths, markdown);
  if (markdown) {
    std::cerr << "wva plugins: --markdown goes with --describe NAME\n";
    return 2;
  }
  auto entries = scan_plugins(paths);
  std::cout << std::left << std::setw(18) << "NAME" << std::setw(24) << "KIND" << std::setw(10) << "VERSION"
            << std::setw(6) << "ABI"
            << "FILE\n";
  int refused = 0;
  for (const auto& e : entries) {
    if (!e.info) {
      std::cerr << e.error << '\n';
      ++refused;
      continue;
    }
    std::cout << std::left << std::setw(18) << e.info->name << std::setw(24) << sdk::kinds_to_string(e.info->kinds)
              << std::setw(10) << e.info->version << std::setw(6)
              << (std::to_string(e.info->abi_major) + "." + std::to_string(e.info->abi_minor)) << e.file.string()
              << '\n';
  }
  if (entries.empty()) {
    std::cerr << "no plugins found in:";
    for (const auto& p : paths) std::cerr << ' ' << p.string();
    std::cerr << '\n';
    return 1;
  }
  return refused == 0 ? 0 : 1;
}

int cmd_version() {
  const auto t = sdk::this_toolchain();
  std::cout << "wva " << WVA_VERSION << " (SDK ABI " << WVA_SDK_ABI_MAJOR << "." << WVA_SDK_ABI_MINOR << ", "
            << sdk::toolchain_to_string(t) << ")\n";
  return 0;
}

}  // namespace

int run_cli(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << kUsage;
    return 2;
  }
  const std::string verb = argv[1];
  // Sub-commands see argv without the verb.
  const int sub_argc = argc - 1;
  char** sub_argv = argv + 1;
  if (verb == "run") return cmd_run(sub_argc, sub_argv);
  if (verb == "validate") return cmd_validate(sub_argc, sub_argv);
  if (verb == "plugins") return cmd_plugins(sub_argc, sub_argv);
  if (verb == "version" || verb == "--version") return cmd_version();
  // Verbs served by a program of their own, like git's sub-commands: `wva simulate` runs wva-simulate.
  if (verb == "simulate") return run_external_command("wva-simulate", "wva " + verb, sub_argc, sub_argv);
  if (verb == "help" || verb == "--help" || verb == "-h") {
    std::cout << kUsage;
    return 0;
  }
  std::cerr << "wva: unknown command \"" << verb << "\"\n" << kUsage;
  return 2;
}

}  // namespace wva::framework
