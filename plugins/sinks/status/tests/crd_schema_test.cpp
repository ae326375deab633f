// crds/variantautoscalings.llmd.ai.yaml: the schema is structural (the rules kube-apiserver enforces on
// apiextensions.k8s.io/v1), and what the status sink writes validates against it, so no field the sink
// writes would be rejected or pruned by a real API server.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "status_plugin.h"
#include "wva/sdk/testing/fakes.h"
#include "wva/sdk/util/yaml.h"

namespace wva::plugins::status {
namespace {

using nlohmann::json;

json load_crd() {
  const std::string file = std::string(WVA_SOURCE_DIR) + "/crds/variantautoscalings.llmd.ai.yaml";
  std::ifstream in(file);
  EXPECT_TRUE(in.good()) << "cannot open " << file;
  std::stringstream text;
  text << in.rdbuf();
  auto crd = sdk::yaml::load_json(text.str());
  EXPECT_TRUE(crd.ok()) << file << ": " << crd.error().to_string();
  return crd.ok() ? *crd : json();
}

const std::set<std::string> kAllowedKeys = {
    "type",          "format",        "description", "properties", "additionalProperties",
    "items",         "required",      "enum",        "pattern",    "minimum",
    "maximum",       "minLength",     "maxLength",   "minItems",   "maxItems",
    "minProperties", "maxProperties", "default",     "nullable",   "anyOf",
    "allOf",         "oneOf",         "not"};
const std::set<std::string> kTypes = {"object", "array", "string", "integer", "number", "boolean"};
const std::set<std::string> kFormats = {"int32", "int64",    "float", "double",   "date-time", "date",
                                        "byte",  "duration", "uri",   "hostname", "uuid"};

bool flag(const json& s, const char* k) { return s.contains(k) && s[k].is_boolean() && s[k].get<bool>(); }

// Checks the structural-schema rules; appends "path: problem" to `errors`.
void check_structural(const json& s, const std::string& path, std::vector<std::string>& errors) {
  if (!s.is_object()) {
    errors.push_back(path + ": schema is not an object");
    return;
  }
  for (auto it = s.begin(); it != s.end(); ++it)
    if (!kAllowedKeys.count(it.key()) && it.key().rfind("x-kubernetes-", 0) != 0)
      errors.push_back(path + ": unsupported key " + it.key());
  const bool untyped_ok = flag(s, "x-kubernetes-preserve-unknown-fields") || flag(s, "x-kubernetes-int-or-string");
  if (!s.contains("type")) {
    if (!untyped_ok) errors.push_back(path + ": missing type");
  } else if (!s["type"].is_string() || !kTypes.count(s["type"].get<std::string>())) {
    errors.push_back(path + ": bad type " + s["type"].dump());
  }
  if (s.contains("format") && !kFormats.count(s["format"].get<std::string>()))
    errors.push_back(path + ": unknown format " + s["format"].dump());
  if (s.contains("pattern")) {
    try {
      std::regex re(s["pattern"].get<std::string>());
    } catch (const std::regex_error&) {
      errors.push_back(path + ": pattern does not compile");
    }
  }
  // Junctors may only carry value validations (here: `required`), never types or properties.
  for (const char* j : {"anyOf", "allOf", "oneOf", "not"})
    if (s.contains(j)) {
      if (!s[j].is_array()) {
        errors.push_back(path + ": " + std::string(j) + " must be a list");
        continue;
      }
      for (const auto& branch : s[j])
        for (auto it = branch.begin(); it != branch.end(); ++it)
          if (it.key() != "required")
            errors.push_back(path + ": " + std::string(j) + " may only hold required, not " + it.key());
    }
  if (s.contains("properties") && s.contains("additionalProperties"))
    errors.push_back(path + ": properties and additionalProperties are mutually exclusive");
  if (s.contains("additionalProperties") && s["additionalProperties"].is_boolean())
    errors.push_back(path + ": additionalProperties must be a schema");
  const std::string type = s.value("type", "");
  if (type == "array" && !s.contains("items")) errors.push_back(path + ": array without items");
  if (s.contains("required")) {
    for (const auto& r : s["required"])
      if (!s.contains("properties") || !s["properties"].contains(r.get<std::string>()))
        errors.push_back(path + ": required field " + r.dump() + " is not a property");
  }
  if (s.value("x-kubernetes-list-type", "") == "map") {
    const json& items = s["items"];
    for (const auto& k : s.value("x-kubernetes-list-map-keys", json::array())) {
      const std::string key = k.get<std::string>();
      const bool required = items.contains("required") && std::find(items["required"].begin(), items["required"].end(),
                                                                    key) != items["required"].end();
      if (!items["properties"].contains(key)) errors.push_back(path + ": list-map key " + key + " is not a property");
      if (!required && !items["properties"][key].contains("default"))
        errors.push_back(path + ": list-map key " + key + " must be required or defaulted");
    }
  }
  if (s.contains("properties"))
    for (auto it = s["properties"].begin(); it != s["properties"].end(); ++it)
      check_structural(it.value(), path + "." + it.key(), errors);
  if (s.contains("additionalProperties")) check_structural(s["additionalProperties"], path + ".*", errors);
  if (s.contains("items")) check_structural(s["items"], path + "[]", errors);
}

// Validates `v` against schema `s` the way the API server would (and reports fields it would prune).
void validate(const json& v, const json& s, const std::string& path, std::vector<std::string>& errors) {
  const std::string type = s.value("type", "");
  auto fail = [&](const std::string& m) { errors.push_back(path + ": " + m + " (value " + v.dump() + ")"); };
  if (type.empty()) {
    if (v.is_string() && s.contains("pattern") &&
        !std::regex_search(v.get<std::string>(), std::regex(s["pattern"].get<std::string>())))
      fail("does not match pattern");
    return;
  }
  if (type == "object") {
    if (!v.is_object()) return fail("not an object");
    for (const auto& r : s.value("required", json::array()))
      if (!v.contains(r.get<std::string>())) fail("missing required " + r.get<std::string>());
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (s.contains("properties")) {
        if (!s["properties"].contains(it.key())) fail("unknown field " + it.key() + " (would be pruned)");
        else validate(it.value(), s["properties"][it.key()], path + "." + it.key(), errors);
      } else if (s.contains("additionalProperties")) {
        validate(it.value(), s["additionalProperties"], path + "." + it.key(), errors);
      }
    }
    if (s.contains("maxProperties") && v.size() > s["maxProperties"].get<std::size_t>()) fail("too many properties");
    if (s.contains("oneOf")) {
      int matching = 0;
      for (const auto& branch : s["oneOf"]) {
        bool all = true;
        for (const auto& r : branch.value("required", json::array())) all = all && v.contains(r.get<std::string>());
        matching += all;
      }
      if (matching != 1) fail("must match exactly one of oneOf (" + std::to_string(matching) + " match)");
    }
  } else if (type == "array") {
    if (!v.is_array()) return fail("not an array");
    std::set<std::string> keys;
    for (std::size_t i = 0; i < v.size(); ++i) {
      validate(v[i], s["items"], path + "[" + std::to_string(i) + "]", errors);
      if (s.value("x-kubernetes-list-type", "") == "map") {
        std::string key;
        for (const auto& k : s["x-kubernetes-list-map-keys"]) key += v[i].value(k.get<std::string>(), "") + "\n";
        if (!keys.insert(key).second) fail("duplicate list-map key");
      }
    }
  } else if (type == "string") {
    if (!v.is_string()) return fail("not a string");
    const std::string str = v.get<std::string>();
    if (s.contains("minLength") && str.size() < s["minLength"].get<std::size_t>()) fail("shorter than minLength");
    if (s.contains("maxLength") && str.size() > s["maxLength"].get<std::size_t>()) fail("longer than maxLength");
    if (s.contains("pattern") && !std::regex_search(str, std::regex(s["pattern"].get<std::string>())))
      fail("does not match pattern");
    if (s.contains("enum") && std::find(s["enum"].begin(), s["enum"].end(), v) == s["enum"].end()) fail("not in enum");
    if (s.value("format", "") == "date-time" &&
        !std::regex_match(str, std::regex(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2}))")))
      fail("not an RFC 3339 date-time");
  } else if (type == "integer") {
    if (!v.is_number_integer()) return fail("not an integer");
    if (s.contains("minimum") && v.get<long long>() < s["minimum"].get<long long>()) fail("below minimum");
    if (s.value("format", "") == "int32" && (v.get<long long>() > 2147483647LL || v.get<long long>() < -2147483648LL))
      fail("out of int32 range");
  } else if (type == "number") {
    if (!v.is_number()) fail("not a number");
  } else if (type == "boolean") {
    if (!v.is_boolean()) fail("not a boolean");
  }
}

const json& version_of(const json& crd) { return crd["spec"]["versions"][0]; }
const json& root_schema(const json& crd) { return version_of(crd)["schema"]["openAPIV3Schema"]; }

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += s + "\n";
  return out;
}

TEST(Crd, NamesScopeVersionAndSubresource) {
  json crd = load_crd();
  EXPECT_EQ(crd["apiVersion"], "apiextensions.k8s.io/v1");
  EXPECT_EQ(crd["kind"], "CustomResourceDefinition");
  EXPECT_EQ(crd["metadata"]["name"], "variantautoscalings.llmd.ai");
  EXPECT_EQ(crd["spec"]["group"], "llmd.ai");
  EXPECT_EQ(crd["spec"]["scope"], "Namespaced");
  EXPECT_EQ(crd["spec"]["names"]["plural"], "variantautoscalings");
  EXPECT_EQ(crd["spec"]["names"]["kind"], "VariantAutoscaling");
  EXPECT_EQ(crd["spec"]["names"]["shortNames"], json::array({"va"}));
  ASSERT_EQ(crd["spec"]["versions"].size(), 1u);
  EXPECT_EQ(version_of(crd)["name"], "v1alpha1");
  EXPECT_EQ(version_of(crd)["served"], true);
  EXPECT_EQ(version_of(crd)["storage"], true);
  EXPECT_TRUE(version_of(crd)["subresources"]["status"].is_object());
}

TEST(Crd, PrinterColumns) {
  json crd = load_crd();
  std::vector<std::string> names;
  const std::set<std::string> types = {"integer", "number", "string", "boolean", "date"};
  for (const auto& c : version_of(crd)["additionalPrinterColumns"]) {
    names.push_back(c["name"]);
    EXPECT_TRUE(types.count(c["type"].get<std::string>())) << c.dump();
    EXPECT_EQ(c["jsonPath"].get<std::string>().front(), '.') << c.dump();
  }
  EXPECT_EQ(names, (std::vector<std::string>{"Model", "Variants/Target", "Desired", "MetricsReady", "Age"}));
}

TEST(Crd, SchemaIsStructural) {
  json crd = load_crd();
  std::vector<std::string> errors;
  const json& root = root_schema(crd);
  check_structural(root, "openAPIV3Schema", errors);
  EXPECT_TRUE(errors.empty()) << join(errors);
  // metadata may only be `type: object` (plus name/generateName restrictions).
  EXPECT_EQ(root["properties"]["metadata"], json({{"type", "object"}}));
  // Exactly one of modelID and its alias modelId.
  EXPECT_FALSE(root["properties"]["spec"].contains("required"));
  EXPECT_EQ(root["properties"]["spec"]["oneOf"],
            json::parse(R"([{"required": ["modelID"]}, {"required": ["modelId"]}])"));
}

TEST(Crd, StructuralCheckCatchesBrokenSchemas) {
  std::vector<std::string> errors;
  check_structural(json{{"type", "object"}, {"properties", {{"x", json::object()}}}}, "s", errors);
  EXPECT_EQ(errors.size(), 1u) << "untyped property";
  errors.clear();
  check_structural(json{{"type", "array"}}, "s", errors);
  EXPECT_EQ(errors.size(), 1u) << "array without items";
  errors.clear();
  check_structural(json{{"type", "object"}, {"oneOf", {{{"type", "string"}}}}}, "s", errors);
  EXPECT_EQ(errors.size(), 1u) << "a type inside a junctor";
}

TEST(Crd, SpecExamplesValidate) {
  json crd = load_crd();
  const json& spec = root_schema(crd)["properties"]["spec"];
  json good = {{"modelID", "meta/llama-3.1-8b"},
               {"variantCost", "10.5"},
               {"minReplicas", 0},
               {"maxReplicas", 8},
               {"scaleToZero", true},
               {"sloClassRef", {{"name", "premium"}}},
               {"scaleTargetRef", {{"apiVersion", "apps/v1"}, {"kind", "Deployment"}, {"name", "llama-h100"}}},
               {"modelProfile",
                {{"accelerators",
                  {{{"acc", "H100"},
                    {"accCount", 1},
                    {"maxBatchSize", 256},
                    {"perfParms",
                     {{"decodeParms", {{"alpha", "20.58"}, {"beta", 0.41}}},
                      {"prefillParms", {{"gamma", 5}, {"delta", "0.041"}}}}}}}}}}};
  std::vector<std::string> errors;
  validate(good, spec, "spec", errors);
  EXPECT_TRUE(errors.empty()) << join(errors);

  errors.clear();
  validate(json{{"modelId", "meta/llama-3.1-8b"}}, spec, "spec", errors);  // the FAQ's spelling
  EXPECT_TRUE(errors.empty()) << join(errors);

  for (const json& bad : {json{{"variantCost", "1"}}, json{{"modelID", ""}},
                          json{{"modelID", "m"}, {"variantCost", "ten"}}, json{{"modelID", "m"}, {"modelId", "m"}},
                          json{{"modelID", "m"}, {"scaleTargetRef", {{"kind", "Deployment"}}}}}) {
    errors.clear();
    validate(bad, spec, "spec", errors);
    EXPECT_FALSE(errors.empty()) << bad.dump();
  }
}

TEST(Crd, StatusWrittenBySinkValidates) {
  sdk::testing::FakeContext ctx("status");
  for (auto n : {"llama", "held", "orphan"}) {
    json va = {{"apiVersion", "llmd.ai/v1alpha1"},
               {"kind", "VariantAutoscaling"},
               {"metadata", {{"name", n}, {"namespace", "ns"}, {"generation", 4}}},
               {"spec", {{"modelID", "m"}}}};
    ASSERT_TRUE(ctx.fake_cluster().put(va).ok());
  }
  StatusSink sink;
  ASSERT_TRUE(sdk::testing::configure_as_host(sink, json::object(), "sinks.status").empty());
  ASSERT_TRUE(sink.start(ctx).ok());

  auto d = [](const std::string& va, const std::string& variant, const std::string& acc, int desired, bool held) {
    sdk::Decision x;
    x.model = {"ns", "m"};
    x.va_name = va;
    x.variant = variant;
    x.accelerator = acc;
    x.current = 2;
    x.desired = desired;
    x.held = held;
    x.analyzer = "saturation";
    x.reason = std::string(5000, 'r');  // longer than the CRD allows: must be cut
    x.conditions.push_back({"OptimizationReady", held ? "False" : "True", "analyzer said: fine", "ok"});
    return x;
  };
  std::vector<sdk::Decision> ds = {d("llama", "llama-a100", "A100", 3, false), d("llama", "llama-x", "", 0, false),
                                   d("held", "held", "H100", 2, true)};
  sdk::ModelView m;
  m.key = {"ns", "m"};
  m.va_name = "llama";
  m.metrics.state = sdk::MetricsState::kError;
  m.metrics.message = "Failed to get metrics from Prometheus: 500";
  m.metrics.reason = "PrometheusError";
  std::vector<sdk::ModelView> ms = {m};
  std::vector<sdk::ResourceCondition> rc = {
      {"ns", "orphan", {"TargetResolved", "False", "Target Not Found!", "Scale target not found"}}};
  sdk::PublishBatch batch;
  batch.time = sdk::testing::ManualClock::default_start();
  batch.decisions = ds;
  batch.models = ms;
  batch.conditions = rc;
  // Twice, so the second patch merges onto a status that already exists.
  ASSERT_TRUE(sink.publish(batch).ok());
  batch.time += std::chrono::seconds(30);
  ASSERT_TRUE(sink.publish(batch).ok());

  json crd = load_crd();
  const json& status_schema = root_schema(crd)["properties"]["status"];
  for (auto n : {"llama", "held", "orphan"}) {
    auto obj = ctx.fake_cluster().get("VariantAutoscaling", "ns", n);
    ASSERT_TRUE(obj.ok() && obj->has_value());
    std::vector<std::string> errors;
    validate((*obj)->at("status"), status_schema, std::string("status of ") + n, errors);
    EXPECT_TRUE(errors.empty()) << join(errors);
    EXPECT_GE((*obj)->at("status")["conditions"].size(), 2u) << n;
  }
  sink.stop();
}

}  // namespace
}  // namespace wva::plugins::status
