#include <gtest/gtest.h>

#include <cstdlib>

#include "config/duration.h"
#include "config/pipeline_config.h"
#include "config/suggest.h"
#include "wva/sdk/util/yaml.h"

namespace wva::framework {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

// ----------------------------------------------------------------------------------------- durations

TEST(Duration, ParsesWhatOperatorsWrite) {
  struct Case {
    const char* text;
    long long ms;
  };
  const Case cases[] = {{"500ms", 500}, {"15s", 15000}, {"2m", 120000},         {"1h", 3600000}, {"1m30s", 90000},
                        {"1.5s", 1500}, {"0s", 0},      {"1h2m3s4ms", 3723004}, {"0", 0}};
  for (const auto& c : cases) {
    auto d = parse_duration(c.text);
    ASSERT_TRUE(d.ok()) << c.text << ": " << d.error().message;
    EXPECT_EQ(d->count(), c.ms) << c.text;
  }
}

TEST(Duration, RejectsGarbageWithTheReason) {
  struct Case {
    const char* text;
    const char* why;
  };
  const Case cases[] = {{"", "empty"},          {"60", "missing unit"},     {"5 s", "missing unit"},
                        {"5y", "unknown unit"}, {"s", "expected a number"}, {"1..2s", "bad number"}};
  for (const auto& c : cases) {
    auto d = parse_duration(c.text);
    ASSERT_FALSE(d.ok()) << c.text;
    EXPECT_NE(d.error().message.find(c.why), std::string::npos) << c.text << " -> " << d.error().message;
  }
}

TEST(Duration, FormatsRoundTrip) {
  for (long long ms : {500LL, 15000LL, 90000LL, 3723004LL}) {
    auto text = format_duration(milliseconds(ms));
    auto back = parse_duration(text);
    ASSERT_TRUE(back.ok()) << text;
    EXPECT_EQ(back->count(), ms) << text;
  }
  EXPECT_EQ(format_duration(90s), "1m30s");
}

// ----------------------------------------------------------------------------------------- did you mean

TEST(Suggest, FindsCloseNamesOnly) {
  const std::vector<std::string> names = {"saturation", "queueing", "prometheus", "status", "metrics"};
  struct Case {
    const char* word;
    std::optional<std::string> expected;
  };
  const Case cases[] = {
      {"saturaton", "saturation"},                            // deletion
      {"satruation", "saturation"},                           // transposition
      {"queuing", "queueing"},                                // missing letter
      {"Prometheus", "prometheus"},                           // case
      {"stauts", "status"},                                   // transposition in a short word
      {"metric", "metrics"},        {"kafka", std::nullopt},  // nothing close
      {"xyz", std::nullopt},        {"", std::nullopt},
  };
  for (const auto& c : cases) EXPECT_EQ(closest_match(c.word, names), c.expected) << c.word;
  EXPECT_EQ(did_you_mean("saturaton", names), "; did you mean \"saturation\"?");
  EXPECT_EQ(did_you_mean("kafka", names), "");
  // Two-letter words must not match any other two-letter word.
  EXPECT_EQ(closest_match("ab", {"cd"}), std::nullopt);
  EXPECT_EQ(closest_match("x", {}), std::nullopt);
}

// ----------------------------------------------------------------------------------------- pipelines.yaml

constexpr const char* kValid = R"(
plugins: {paths: [/opt/wva/plugins, ./build/plugins]}
sources:
  prometheus: {url: "https://prometheus-k8s.monitoring:9091", caFile: /etc/ca.pem, timeout: 5s, retries: 3,
               verify: true, ratio: 0.5, port: "8080", nothing: null}
  prom-b: {plugin: prometheus, url: http://other:9090}
analyzers: {saturation: {}, queueing: }
sinks:     {status: {}, metrics: {listen: ":8443"}}
pipelines:
  hybrid-premium:
    selector: {modelIds: ["meta/llama-3.1-70b*"], namespaces: [prod-*], vaLabels: {tier: premium}}
    source: prometheus
    analyzers: [saturation, queueing]
    combine: hybrid
    sinks: [status, metrics]
  default:
    selector: {}
    interval: 30s
    source: prom-b
    analyzers: [saturation]
    sinks: [status, metrics]
)";

TEST(PipelinesYaml, ValidConfigParsesEveryField) {
  auto parsed = parse_pipelines_yaml(kValid, 45s);
  ASSERT_TRUE(parsed.errors.empty()) << parsed.errors.front().to_string();
  ASSERT_TRUE(parsed.config.has_value());
  const auto& c = *parsed.config;
  EXPECT_EQ(c.plugin_paths, (std::vector<std::string>{"/opt/wva/plugins", "./build/plugins"}));
  ASSERT_EQ(c.sources.size(), 2u);
  const auto& prom = c.sources.at("prometheus");
  EXPECT_EQ(prom.plugin, "prometheus");
  EXPECT_EQ(prom.path, "sources.prometheus");
  EXPECT_EQ(prom.config["url"], "https://prometheus-k8s.monitoring:9091");
  EXPECT_EQ(prom.config["timeout"], "5s");
  EXPECT_EQ(prom.config["retries"], 3);
  EXPECT_TRUE(prom.config["retries"].is_number_integer());
  EXPECT_EQ(prom.config["verify"], true);
  EXPECT_DOUBLE_EQ(prom.config["ratio"].get<double>(), 0.5);
  EXPECT_TRUE(prom.config["port"].is_string()) << "quoted scalars stay strings";
  EXPECT_TRUE(prom.config["nothing"].is_null());
  EXPECT_EQ(c.sources.at("prom-b").plugin, "prometheus");
  EXPECT_FALSE(c.sources.at("prom-b").config.contains("plugin"));
  EXPECT_TRUE(c.analyzers.at("queueing").config.is_object());
  EXPECT_EQ(c.sinks.at("metrics").config["listen"], ":8443");

  ASSERT_EQ(c.pipelines.size(), 2u);
  const auto& hp = c.pipelines[0];  // file order
  EXPECT_EQ(hp.name, "hybrid-premium");
  EXPECT_EQ(hp.path, "pipelines.hybrid-premium");
  EXPECT_EQ(hp.interval, 45s) << "default interval applies";
  EXPECT_EQ(hp.combine, "hybrid");
  EXPECT_EQ(hp.analyzers, (std::vector<std::string>{"saturation", "queueing"}));
  EXPECT_EQ(hp.selector.model_ids, (std::vector<std::string>{"meta/llama-3.1-70b*"}));
  EXPECT_EQ(hp.selector.va_labels.at("tier"), "premium");
  const auto& def = c.pipelines[1];
  EXPECT_EQ(def.interval, 30s);
  EXPECT_EQ(def.combine, "first") << "the default combiner";
  EXPECT_EQ(def.source, "prom-b");
  EXPECT_EQ(def.sinks, (std::vector<std::string>{"status", "metrics"}));
  // `combine: <plugin>` without a `combiners:` entry is an instance of that plugin with no settings.
  ASSERT_EQ(c.combiners.size(), 2u);
  EXPECT_EQ(c.combiners.at("hybrid").plugin, "hybrid");
  EXPECT_TRUE(c.combiners.at("hybrid").implicit);
  EXPECT_EQ(c.combiners.at("hybrid").path, "pipelines.hybrid-premium.combine");
  EXPECT_EQ(c.combiners.at("hybrid").config, nlohmann::json::object());
  EXPECT_EQ(c.combiners.at("first").path, "pipelines.default.combine");
}

TEST(PipelinesYaml, CombinersSectionDeclaresInstancesWithSettings) {
  const char* text =
      "sources: {a: {}}\nanalyzers: {s: {}, q: {}}\nsinks: {c: {}}\n"
      "combiners: {arbiter: {plugin: hybrid, saturation: s, model: q}}\n"
      "pipelines:\n  p: {source: a, analyzers: [s, q], combine: arbiter, sinks: [c]}\n"
      "  r: {source: a, analyzers: [s], combine: max, sinks: [c]}\n";
  auto parsed = parse_pipelines_yaml(text, 60s);
  ASSERT_TRUE(parsed.errors.empty()) << parsed.errors[0].to_string();
  const auto& arbiter = parsed.config->combiners.at("arbiter");
  EXPECT_EQ(arbiter.plugin, "hybrid");
  EXPECT_EQ(arbiter.path, "combiners.arbiter");
  EXPECT_FALSE(arbiter.implicit);
  EXPECT_EQ(arbiter.config, (nlohmann::json{{"saturation", "s"}, {"model", "q"}}));
  EXPECT_EQ(parsed.config->pipelines[0].combine, "arbiter");
  EXPECT_TRUE(parsed.config->combiners.at("max").implicit);
  // The declared instance is written back, the implicit one is not (it comes back from `combine:`).
  const std::string yaml = to_yaml(*parsed.config);
  EXPECT_NE(yaml.find("arbiter:"), std::string::npos) << yaml;
  auto again = parse_pipelines_yaml(yaml, 60s);
  ASSERT_TRUE(again.errors.empty()) << again.errors[0].to_string() << "\n" << yaml;
  EXPECT_EQ(again.config->combiners.at("arbiter").config, arbiter.config);
  EXPECT_TRUE(again.config->combiners.at("max").implicit) << yaml;
  // A combiner is named by a string.
  auto bad = parse_pipelines_yaml(
      "sources: {a: {}}\nanalyzers: {b: {}}\nsinks: {c: {}}\npipelines:\n  p: {source: a, analyzers: [b], "
      "sinks: [c], combine: [max]}\n",
      60s);
  ASSERT_EQ(bad.errors.size(), 1u);
  EXPECT_EQ(bad.errors[0].path, "pipelines.p.combine");
  EXPECT_NE(bad.errors[0].message.find("must be the name of a combiner"), std::string::npos);
}

TEST(PipelinesYaml, IdleCheckIntervalAndCombineLast) {
  const char* text =
      "sources: {a: {}}\nanalyzers: {b: {}, z: {}}\nsinks: {c: {}}\npipelines:\n"
      "  fast: {source: a, analyzers: [b, z], combine: last, sinks: [c], idleCheckInterval: 500ms}\n"
      "  off: {source: a, analyzers: [b], sinks: [c], idleCheckInterval: 0}\n"
      "  default: {source: a, analyzers: [b], sinks: [c]}\n";
  auto parsed = parse_pipelines_yaml(text, 60s);
  ASSERT_TRUE(parsed.errors.empty()) << parsed.errors[0].to_string();
  EXPECT_EQ(parsed.config->pipelines[0].combine, "last");
  EXPECT_EQ(parsed.config->pipelines[0].idle_check_interval, 500ms);
  EXPECT_EQ(parsed.config->pipelines[1].idle_check_interval, 0ms);
  EXPECT_EQ(parsed.config->pipelines[2].idle_check_interval, 2s) << "the default";
  for (const auto& [value, fragment] : std::vector<std::pair<std::string, std::string>>{
           {"5", "missing unit"}, {"-1s", "expected a number"}, {"[1]", "must be a duration"}}) {
    auto bad = parse_pipelines_yaml(
        "sources: {a: {}}\nanalyzers: {b: {}}\nsinks: {c: {}}\npipelines:\n  p: {source: a, analyzers: [b], "
        "sinks: [c], idleCheckInterval: " +
            value + "}\n",
        60s);
    ASSERT_EQ(bad.errors.size(), 1u) << value;
    EXPECT_EQ(bad.errors[0].path, "pipelines.p.idleCheckInterval") << value;
    EXPECT_NE(bad.errors[0].message.find(fragment), std::string::npos) << value << ": " << bad.errors[0].message;
  }
  // A misspelt combiner is a plugin name the parser cannot judge: loading it fails with a "did you mean"
  // among the combiner plugins found (tests/host/combiner_config_test.cpp).
  auto typo = parse_pipelines_yaml(
      "sources: {a: {}}\nanalyzers: {b: {}}\nsinks: {c: {}}\npipelines:\n  p: {source: a, analyzers: [b], "
      "sinks: [c], combine: lats}\n",
      60s);
  ASSERT_TRUE(typo.errors.empty());
  EXPECT_TRUE(typo.config->combiners.at("lats").implicit);
}

bool same(const HostConfig& a, const HostConfig& b, std::string& why) {
  auto inst_eq = [](const std::map<std::string, PluginInstanceConfig>& x,
                    const std::map<std::string, PluginInstanceConfig>& y) {
    if (x.size() != y.size()) return false;
    for (const auto& [k, v] : x) {
      auto it = y.find(k);
      if (it == y.end() || it->second.plugin != v.plugin || it->second.config != v.config || it->second.path != v.path)
        return false;
    }
    return true;
  };
  if (a.plugin_paths != b.plugin_paths) why = "plugin paths";
  else if (!inst_eq(a.sources, b.sources)) why = "sources";
  else if (!inst_eq(a.analyzers, b.analyzers)) why = "analyzers";
  else if (!inst_eq(a.sinks, b.sinks)) why = "sinks";
  else if (!inst_eq(a.combiners, b.combiners)) why = "combiners";
  else if (a.pipelines.size() != b.pipelines.size()) why = "pipeline count";
  else
    for (size_t i = 0; i < a.pipelines.size() && why.empty(); ++i) {
      const auto &p = a.pipelines[i], &q = b.pipelines[i];
      if (p.name != q.name || p.interval != q.interval || p.idle_check_interval != q.idle_check_interval ||
          p.source != q.source || p.analyzers != q.analyzers || p.combine != q.combine || p.sinks != q.sinks ||
          p.path != q.path || p.selector.namespaces != q.selector.namespaces ||
          p.selector.model_ids != q.selector.model_ids || p.selector.va_labels != q.selector.va_labels)
        why = "pipeline " + p.name;
    }
  return why.empty();
}

TEST(PipelinesYaml, ValidConfigRoundTripsThroughToYaml) {
  auto first = parse_pipelines_yaml(kValid, 45s);
  ASSERT_TRUE(first.config);
  const std::string text = to_yaml(*first.config);
  auto second = parse_pipelines_yaml(text, 10s);  // every interval is explicit now
  ASSERT_TRUE(second.errors.empty()) << second.errors.front().to_string() << "\n" << text;
  std::string why;
  EXPECT_TRUE(same(*first.config, *second.config, why)) << why << "\n" << text;
  EXPECT_TRUE(second.config->sources.at("prometheus").config["port"].is_string()) << text;
  EXPECT_EQ(second.config->pipelines[0].interval, 45s);
  EXPECT_EQ(to_yaml(*second.config), text) << "stable";

  // Strings that would read back as something else when written plain.
  constexpr const char* kTricky = R"(
sources: {s: {a: "true", b: "~", c: "", d: "0x1F", e: "a: b", f: "- x", g: "1e3", h: 2.5, i: [1, "1"], "7": x}}
analyzers: {"yes": {}}
sinks: {k: {}}
pipelines: {"p #1": {source: s, analyzers: ["yes"], sinks: [k], selector: {vaLabels: {"n": "1"}}}}
plugins: {paths: [":x@", "?a", "@x", "`x", "x, y", "[x]", "{x}", "&a", "*a", "!t", "%x", "|x", ">x", "'q",
                  "\"q", " lead", "trail ", "a #b", "x:", "-", "- ", "a\tb", "\u00e9t\u00e9", "#c", ",", "x]"]}
)";
  auto tricky = parse_pipelines_yaml(kTricky, 60s);
  ASSERT_TRUE(tricky.config) << tricky.errors.front().to_string();
  const std::string tricky_text = to_yaml(*tricky.config);
  auto back = parse_pipelines_yaml(tricky_text, 60s);
  ASSERT_TRUE(back.config) << back.errors.front().to_string() << "\n" << tricky_text;
  why.clear();
  EXPECT_TRUE(same(*tricky.config, *back.config, why)) << why << "\n" << tricky_text;
}

TEST(PipelinesYaml, FirstMatchingPipelineOwnsTheModel) {
  auto parsed = parse_pipelines_yaml(kValid, 60s);
  ASSERT_TRUE(parsed.config);
  const auto& c = *parsed.config;
  const sdk::Labels premium = {{"tier", "premium"}};
  auto* p = pipeline_for(c, {"prod-a", "meta/llama-3.1-70b-instruct"}, premium);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->name, "hybrid-premium");
  // Same model without the label, or in another namespace: the catch-all.
  EXPECT_EQ(pipeline_for(c, {"prod-a", "meta/llama-3.1-70b-instruct"}, {})->name, "default");
  EXPECT_EQ(pipeline_for(c, {"dev", "meta/llama-3.1-70b-instruct"}, premium)->name, "default");
  EXPECT_EQ(pipeline_for(c, {"prod-a", "meta/llama-3.1-8b"}, premium)->name, "default");
}

TEST(PipelinesYaml, BrokenConfigReportsEveryErrorWithItsPath) {
  constexpr const char* kBroken = R"(
plugin: {paths: [/x]}
sources: {prometheus: {url: http://p:9090}}
analyzers: {saturation: {}, queueing: {}}
sinks: {status: {}, metrics: {}}
pipelines:
  default:
    selector: {namespace: [a]}
    interval: 0s
    source: promethues
    analyzers: [saturation, queuing]
    combine: hybird
    sinks: [status, metrix]
    sink: [status]
  second:
    interval: 10
    analyzers: []
    sinks: [saturation]
)";
  auto parsed = parse_pipelines_yaml(kBroken, 60s);
  EXPECT_FALSE(parsed.config.has_value());
  std::map<std::string, std::string> by_path;
  for (const auto& e : parsed.errors) {
    EXPECT_EQ(e.code, sdk::ErrorCode::kInvalidConfig);
    by_path[e.path] += e.message + " | ";
  }
  auto expect = [&](const std::string& path, const std::string& fragment) {
    auto it = by_path.find(path);
    ASSERT_NE(it, by_path.end()) << "no error at " << path;
    EXPECT_NE(it->second.find(fragment), std::string::npos) << path << ": " << it->second;
  };
  expect("plugin", "did you mean \"plugins\"?");
  expect("pipelines.default.selector.namespace", "did you mean \"namespaces\"?");
  expect("pipelines.default.interval", "greater than 0");
  expect("pipelines.default.source", "unknown source \"promethues\"; did you mean \"prometheus\"?");
  expect("pipelines.default.analyzers[1]", "unknown analyzer \"queuing\"; did you mean \"queueing\"?");
  expect("pipelines.default.sinks[1]", "did you mean \"metrics\"?");
  expect("pipelines.default.sink", "did you mean \"sinks\"?");
  expect("pipelines.second.interval", "missing unit");
  expect("pipelines.second.source", "a source is required");
  expect("pipelines.second.analyzers", "at least one analyzer");
  expect("pipelines.second.sinks[0]", "defined as an analyzer, not a sink");
  // `combine: hybird` is a combiner plugin name: the host's load reports it (tests/host/combiner_config_test.cpp).
  EXPECT_EQ(parsed.errors.size(), 11u);
  for (const auto& e : parsed.errors) EXPECT_NE(e.message.find("(pipelines.yaml:"), std::string::npos) << e.message;
  // The line of the misspelled analyzer is the 11th line of the text.
  EXPECT_NE(by_path["pipelines.default.analyzers[1]"].find("pipelines.yaml:11)"), std::string::npos)
      << by_path["pipelines.default.analyzers[1]"];
}

TEST(PipelinesYaml, StructuralErrors) {
  struct Case {
    const char* yaml;
    const char* path;
    const char* fragment;
  };
  const Case cases[] = {
      {"", "pipelines", "at least one pipeline"},
      {"[1, 2]", "pipelines.yaml", "must be a mapping"},  // the document itself (issue 14, defect 7)
      {"sources: {}\npipelines: {}\n", "pipelines", "at least one pipeline"},
      {"sources: [a]\npipelines: {p: {source: a, analyzers: [b], sinks: [c]}}\n", "sources", "must be a mapping"},
      {"pipelines: {p: {source: a, analyzers: [b], sinks: [c]}}\n", "pipelines.p.source", "no sources are defined"},
      {"sources: {a: {}}\nanalyzers: {b: {}}\nsinks: {c: {}}\npipelines: {p: {source: a, analyzers: {x: 1}, sinks: "
       "[c]}}\n",
       "pipelines.p.analyzers", "must be a list"},
      {"sources: {a: {}}\nanalyzers: {b: {}}\nsinks: {c: {}}\npipelines: {p: {source: a, analyzers: [b], sinks: [c]}, "
       "p: {source: a, analyzers: [b], sinks: [c]}}\n",
       "pipelines.p", "duplicate key"},
      {"sources: {a: {plugin: [x]}}\nanalyzers: {b: {}}\nsinks: {c: {}}\npipelines: {p: {source: a, analyzers: [b], "
       "sinks: [c]}}\n",
       "sources.a.plugin", "non-empty string"},
      {"sources: {a: {}}\nanalyzers: {b: {}}\nsinks: {c: {}}\npipelines: {p: {source: a, analyzers: [b], sinks: [c], "
       "selector: {vaLabels: {x: [1]}}}}\n",
       "pipelines.p.selector.vaLabels.x", "label value must be a string"},
      {"sources: {a: {}}\nanalyzers: {b: {}}\nsinks: {c: {}}\npipelines: {p: {source: a, analyzers: [b], sinks: [c], "
       "interval: [1]}}\n",
       "pipelines.p.interval", "must be a duration"},
  };
  for (const auto& c : cases) {
    auto parsed = parse_pipelines_yaml(c.yaml, 60s);
    EXPECT_FALSE(parsed.config.has_value()) << c.yaml;
    bool found = false;
    std::string all;
    for (const auto& e : parsed.errors) {
      all += e.to_string() + "\n";
      if (e.path == c.path && e.message.find(c.fragment) != std::string::npos) found = true;
    }
    EXPECT_TRUE(found) << c.yaml << "\nwanted " << c.path << ": " << c.fragment << "\ngot:\n" << all;
  }
}

TEST(PipelinesYaml, SyntaxErrorNamesSourceLineAndColumn) {
  auto parsed =
      parse_pipelines_yaml("pipelines:\n  default: {source: a\n  x: [\n", 60s, "ConfigMap wva-system/wva-pipelines");
  ASSERT_EQ(parsed.errors.size(), 1u);
  const auto& m = parsed.errors[0].message;
  EXPECT_EQ(m.rfind("ConfigMap wva-system/wva-pipelines:", 0), 0u) << m;
  // "<source>:<line>:<col>: message"
  auto rest = m.substr(std::string("ConfigMap wva-system/wva-pipelines:").size());
  int line = 0, col = 0;
  ASSERT_EQ(std::sscanf(rest.c_str(), "%d:%d:", &line, &col), 2) << m;
  EXPECT_GE(line, 2);
  EXPECT_GE(col, 1);
}

TEST(PipelinesYaml, ScalarConversionToJson) {
  struct Case {
    const char* yaml;
    nlohmann::json expected;
  };
  const Case cases[] = {
      {"v: 42", 42},
      {"v: -7", -7},
      {"v: 1.5", 1.5},
      {"v: 1e3", 1000.0},
      {"v: true", true},
      {"v: False", false},
      {"v: \"42\"", "42"},
      {"v: '3.5'", "3.5"},
      {"v: \"true\"", "true"},
      {"v: yes", "yes"},
      {"v: 5s", "5s"},
      {"v: 0x1F", "0x1F"},
      {"v: ~", nullptr},
      {"v:", nullptr},
      {"v: .inf", ".inf"},
      {"v: !!str 12", "12"},
      {"v: [1, a, \"2\"]", nlohmann::json::array({1, "a", "2"})},
      {"v: {a: {b: 1}}", nlohmann::json{{"a", {{"b", 1}}}}},
  };
  for (const auto& c : cases) {
    const auto doc = sdk::yaml::load_json(c.yaml);
    ASSERT_TRUE(doc.ok()) << c.yaml;
    EXPECT_EQ(doc.value()["v"], c.expected) << c.yaml;
  }
}

// ----------------------------------------------------------------------------------------- selectors

TEST(Selector, GlobAndLabels) {
  struct Case {
    const char* pattern;
    const char* text;
    bool match;
  };
  const Case globs[] = {
      {"*", "", true},
      {"*", "anything/at/all", true},
      {"meta/llama-3.1-70b*", "meta/llama-3.1-70b-instruct", true},
      {"meta/llama-3.1-70b*", "meta/llama-3.1-8b", false},
      {"meta/*-8b", "meta/llama-3.1-8b", true},
      {"a?c", "abc", true},
      {"a?c", "ac", false},
      {"*b*b*", "abcbd", true},
      {"*b*b*", "abcd", false},
      {"exact", "exact", true},
      {"exact", "exactly", false},
  };
  for (const auto& g : globs) EXPECT_EQ(glob_match(g.pattern, g.text), g.match) << g.pattern << " ~ " << g.text;

  Selector all;
  EXPECT_TRUE(all.matches({"ns", "m"}, {}));
  Selector sel;
  sel.namespaces = {"prod", "stage-*"};
  sel.model_ids = {"meta/*"};
  sel.va_labels = {{"tier", "gold"}, {"team", "a"}};
  const sdk::Labels labels = {{"tier", "gold"}, {"team", "a"}, {"extra", "x"}};
  EXPECT_TRUE(sel.matches({"prod", "meta/llama"}, labels));
  EXPECT_TRUE(sel.matches({"stage-2", "meta/llama"}, labels));
  EXPECT_FALSE(sel.matches({"dev", "meta/llama"}, labels));
  EXPECT_FALSE(sel.matches({"prod", "ibm/granite"}, labels));
  EXPECT_FALSE(sel.matches({"prod", "meta/llama"}, {{"tier", "gold"}}));
  EXPECT_FALSE(sel.matches({"prod", "meta/llama"}, {{"tier", "silver"}, {"team", "a"}}));
}

// ----------------------------------------------------------------------------------------- env

class EnvGuard {
 public:
  explicit EnvGuard(const char* name) : name_(name) {
    if (const char* v = std::getenv(name)) old_ = v;
  }
  ~EnvGuard() {
    if (old_) ::setenv(name_, old_->c_str(), 1);
    else ::unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

TEST(Env, ReconciliationInterval) {
  EnvGuard guard("RECONCILIATION_INTERVAL");
  ::unsetenv("RECONCILIATION_INTERVAL");
  EXPECT_EQ(default_interval_from_env().value(), 60s);
  ::setenv("RECONCILIATION_INTERVAL", "30s", 1);
  EXPECT_EQ(default_interval_from_env().value(), 30s);
  ::setenv("RECONCILIATION_INTERVAL", "30", 1);
  auto bad = default_interval_from_env();
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().to_string().find("RECONCILIATION_INTERVAL"), std::string::npos);
  EXPECT_NE(bad.error().message.find("missing unit"), std::string::npos);
  ::setenv("RECONCILIATION_INTERVAL", "0s", 1);
  EXPECT_FALSE(default_interval_from_env().ok());
}

}  // namespace
}  // namespace wva::framework
