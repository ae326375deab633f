#include "host/plugin_set.h"

#include <algorithm>

#include "config/suggest.h"
#include "host/guard.h"

namespace wva::framework {

InstanceContext::InstanceContext(const HostServices& services, std::string name, std::string config_path)
    : services_(services), name_(std::move(name)), config_path_(std::move(config_path)), logger_(services.log, name_) {}

void InstanceContext::report(const sdk::Diagnostic& diagnostic) {
  if (diagnostic.severity == sdk::Severity::kError) logger_.error(diagnostic.to_string());
  else logger_.warn(diagnostic.to_string());
  sdk::Diagnostic kept = diagnostic;
  if (kept.path.empty()) kept.path = config_path_;
  std::lock_guard lock(diagnostics_mutex_);
  if (diagnostics_.size() >= kMaxDiagnostics) return;
  if (seen_.emplace(kept.path, kept.message).second) diagnostics_.push_back(std::move(kept));
}

std::vector<sdk::Diagnostic> InstanceContext::diagnostics() const {
  std::lock_guard lock(diagnostics_mutex_);
  return diagnostics_;
}

namespace {

bool section_kind_ok(const std::string& section, sdk::Plugin& p) {
  if (section == "sources") return p.as_source() != nullptr;
  if (section == "analyzers") return p.as_analyzer() != nullptr;
  if (section == "combiners") return p.as_combiner() != nullptr;
  return p.as_sink() != nullptr;
}

const char* kind_word(const std::string& section) {
  if (section == "sources") return "source";
  if (section == "analyzers") return "analyzer";
  if (section == "combiners") return "combiner";
  return "sink";
}

// A combiner named by `combine:` that has no library: the combiner plugins on the paths, with the
// closest name first.
std::string combiner_hint(const std::string& name, const std::vector<std::filesystem::path>& paths) {
  std::vector<std::string> combiners;
  for (const auto& entry : scan_plugins(paths))
    if (entry.info && (entry.info->kinds & WVA_KIND_COMBINER)) combiners.push_back(entry.info->name);
  if (combiners.empty()) return "; no combiner plugins were found";
  std::string hint = did_you_mean(name, combiners);
  if (!hint.empty()) return hint;
  hint = "; combiner plugins: ";
  for (std::size_t i = 0; i < combiners.size(); ++i) hint += (i ? ", " : "") + combiners[i];
  return hint;
}

}  // namespace

const PluginInstance* PluginSet::reusable(const PluginSet* previous, const std::string& section,
                                          const std::string& name, const std::shared_ptr<sdk::Plugin>* same_object,
                                          const std::filesystem::path& file, const nlohmann::json* config) {
  if (!previous) return nullptr;
  const PluginInstance* old = previous->find(section, name);
  if (!old || !old->started) return nullptr;
  if (same_object) return old->object == *same_object ? old : nullptr;
  return old->file == file && old->config == *config ? old : nullptr;
}

void PluginSet::keep(const std::string& section, const PluginInstance& from) {
  index_[section + "/" + from.name] = instances_.size();
  instances_.push_back(PluginInstance{from.name, from.plugin, from.path, from.object, from.context, true, from.file,
                                      from.config, from.settings, /*inherited=*/true, from.create});
}

std::vector<sdk::Error> PluginSet::build(const HostConfig& config, const std::vector<std::filesystem::path>& paths,
                                         const HostServices& services, const PluginSet* previous) {
  std::vector<sdk::Error> errors;
  const std::pair<const char*, const std::map<std::string, PluginInstanceConfig>*> sections[] = {
      {"sources", &config.sources},
      {"analyzers", &config.analyzers},
      {"sinks", &config.sinks},
      {"combiners", &config.combiners}};
  for (const auto& [section, instances] : sections) {
    for (const auto& [name, inst] : *instances) {
      auto file = find_plugin_file(inst.plugin, paths);
      if (!file.ok()) {
        std::string message = file.error().message;
        if (std::string(section) == "combiners" && inst.implicit)
          message = "unknown combiner \"" + inst.plugin + "\" (" + message + ")" + combiner_hint(inst.plugin, paths);
        errors.push_back(sdk::make_error(file.error().code, message, inst.path));
        continue;
      }
      auto& lib = libraries_[file.value()];
      if (!lib && previous) {
        auto loaded = previous->libraries_.find(file.value());
        if (loaded != previous->libraries_.end()) lib = loaded->second;
      }
      if (const PluginInstance* old = reusable(previous, section, name, nullptr, file.value(), &inst.config)) {
        if (lib) {
          keep(section, *old);
          continue;
        }
      }
      if (!lib) {
        auto opened = PluginLibrary::open(file.value());
        if (!opened.ok()) {
          errors.push_back(sdk::make_error(opened.error().code, opened.error().message, inst.path));
          continue;
        }
        lib = opened.value();
      }
      auto object = lib->create();
      if (!object.ok()) {
        errors.push_back(sdk::make_error(object.error().code, object.error().message, inst.path));
        continue;
      }
      if (!section_kind_ok(section, *object.value())) {
        errors.push_back(sdk::make_error(sdk::ErrorCode::kInvalidConfig,
                                         "plugin \"" + inst.plugin + "\" is a " +
                                             sdk::kinds_to_string(lib->info().kinds) + ", not a " + kind_word(section),
                                         inst.path));
        continue;
      }
      // The settings checked in one place for every plugin: all errors of all instances are reported.
      auto prepared =
          guarded("plugin " + inst.name + " settings", [&, &inst = inst]() -> sdk::Result<sdk::ValidatedSettings> {
            return sdk::prepare_settings(*object.value(), inst.config, inst.path);
          });
      if (!prepared.ok()) {
        errors.push_back(sdk::make_error(prepared.error().code, prepared.error().message, inst.path));
        continue;
      }
      if (!prepared->ok()) {
        for (auto& e : prepared->errors) {
          if (e.path.empty()) e.path = inst.path;
          errors.push_back(std::move(e));
        }
        continue;
      }
      const std::string who = "plugin " + inst.name + " configure()";
      auto configured =
          guarded(who, [&, &inst = inst] { return object.value()->configure(prepared->values, inst.path); });
      if (!configured.ok()) {
        auto e = configured.error();
        if (e.path.empty()) e.path = inst.path;
        errors.push_back(std::move(e));
        continue;
      }
      index_[std::string(section) + "/" + name] = instances_.size();
      instances_.push_back(PluginInstance{
          name, inst.plugin, inst.path, object.value(), std::make_shared<InstanceContext>(services, name, inst.path),
          false, file.value(), inst.config, prepared->values, false, [lib = lib] { return lib->create(); }});
    }
  }
  return errors;
}

void PluginSet::add(const std::string& section, std::string name, std::shared_ptr<sdk::Plugin> object,
                    const HostServices& services, const PluginSet* previous, PluginFactory factory) {
  if (const PluginInstance* old = reusable(previous, section, name, &object, {}, nullptr)) {
    keep(section, *old);
    return;
  }
  index_[section + "/" + name] = instances_.size();
  auto ctx = std::make_shared<InstanceContext>(services, name, section + "." + name);
  instances_.push_back(PluginInstance{name,
                                      name,
                                      section + "." + name,
                                      std::move(object),
                                      std::move(ctx),
                                      false,
                                      {},
                                      nlohmann::json::object(),
                                      nlohmann::json::object(),
                                      false,
                                      std::move(factory)});
}

sdk::Result<std::shared_ptr<sdk::Plugin>> FreshInstanceRecipe::make() const {
  auto object = guarded("plugin " + name + " create", [&] { return create(); });
  if (!object.ok()) return object.error();
  if (!object.value() || !section_kind_ok(section, *object.value()))
    return sdk::make_error(sdk::ErrorCode::kInternal,
                           "the factory made no " + std::string(kind_word(section)) + " for " + path);
  auto configured = guarded("plugin " + name + " configure()", [&] { return object.value()->configure(config, path); });
  if (!configured.ok()) return configured.error();
  auto started = guarded("plugin " + name + " start()", [&] { return object.value()->start(*context); });
  if (!started.ok()) return started.error();
  return object.value();
}

sdk::Result<FreshInstanceRecipe> PluginSet::recipe(const std::string& key) const {
  auto it = index_.find(key);
  if (it == index_.end()) return sdk::make_error(sdk::ErrorCode::kNotFound, key + " is not a running instance");
  const PluginInstance& inst = instances_[it->second];
  if (!inst.create)
    return sdk::make_error(sdk::ErrorCode::kUnavailable,
                           key + " is an in-process instance without a factory; it cannot be restarted");
  return FreshInstanceRecipe{
      key.substr(0, key.find('/')), inst.name, inst.path, inst.create, inst.settings, inst.context};
}

std::shared_ptr<sdk::Plugin> PluginSet::replace(const std::string& key, std::shared_ptr<sdk::Plugin> fresh) {
  auto it = index_.find(key);
  if (it == index_.end()) return nullptr;
  PluginInstance& inst = instances_[it->second];
  auto old = std::exchange(inst.object, std::move(fresh));
  inst.started = true;
  return old;
}

void PluginSet::take_over_from(PluginSet& previous) {
  for (auto& inst : instances_) {
    if (!inst.inherited) continue;
    for (auto& old : previous.instances_)
      if (old.object == inst.object) old.started = false;  // now ours to stop
    inst.inherited = false;
  }
}

std::size_t PluginSet::inherited_count() const {
  return static_cast<std::size_t>(
      std::count_if(instances_.begin(), instances_.end(), [](const PluginInstance& i) { return i.inherited; }));
}

std::vector<sdk::Error> PluginSet::start_all() { return start_section(""); }

std::vector<sdk::Error> PluginSet::start_section(const std::string& section) {
  std::vector<sdk::Error> errors;
  for (auto& inst : instances_) {
    if (inst.started) continue;
    if (!section.empty() && !inst.path.starts_with(section + ".")) continue;
    auto r = guarded("plugin " + inst.name + " start()", [&] { return inst.object->start(*inst.context); });
    if (!r.ok()) {
      auto e = r.error();
      if (e.path.empty()) e.path = inst.path;
      errors.push_back(std::move(e));
      // Not started means not usable: lookups return nullptr from now on.
      for (auto it = index_.begin(); it != index_.end();)
        it = (&instances_[it->second] == &inst) ? index_.erase(it) : std::next(it);
      continue;
    }
    inst.started = true;
  }
  return errors;
}

std::shared_ptr<sdk::Plugin> PluginSet::object(const std::string& section, const std::string& name) const {
  const PluginInstance* i = find(section, name);
  return i ? i->object : nullptr;
}

void PluginSet::stop_all(const std::function<bool(const std::string&, const sdk::Plugin*)>& skip) noexcept {
  // Reverse order: combiners and sinks first, sources last.
  for (auto it = instances_.rbegin(); it != instances_.rend(); ++it) {
    if (!it->started || it->inherited) continue;  // an inherited instance is still the previous set's
    std::string key;
    for (const auto& [k, index] : index_)
      if (&instances_[index] == &*it) key = k;
    if (skip && skip(key, it->object.get())) {
      it->started = false;  // not stopped: a hung call holds it (and keeps it alive)
      continue;
    }
    try {
      it->object->stop();
    } catch (...) {
      // stop() must not throw; nothing more to do during shutdown.
    }
    it->started = false;
  }
}

const PluginInstance* PluginSet::find(const std::string& section, const std::string& name) const {
  auto it = index_.find(section + "/" + name);
  return it == index_.end() ? nullptr : &instances_[it->second];
}

std::vector<sdk::Diagnostic> PluginSet::diagnostics() const {
  std::vector<sdk::Diagnostic> out;
  for (const auto& inst : instances_)
    if (inst.context)
      for (auto& d : inst.context->diagnostics()) out.push_back(std::move(d));
  return out;
}

sdk::Source* PluginSet::source(const std::string& name) const {
  auto* p = find("sources", name);
  return p ? p->object->as_source() : nullptr;
}
sdk::Analyzer* PluginSet::analyzer(const std::string& name) const {
  auto* p = find("analyzers", name);
  return p ? p->object->as_analyzer() : nullptr;
}
sdk::Sink* PluginSet::sink(const std::string& name) const {
  auto* p = find("sinks", name);
  return p ? p->object->as_sink() : nullptr;
}
sdk::Combiner* PluginSet::combiner(const std::string& name) const {
  auto* p = find("combiners", name);
  return p ? p->object->as_combiner() : nullptr;
}

}  // namespace wva::framework
