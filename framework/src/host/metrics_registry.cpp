#include "host/metrics_registry.h"

#include "wva/sdk/util/prom_writer.h"

namespace wva::framework {
namespace {

void append_escaped(std::string_view s, std::string& out) {
  for (const char c : s) {
    if (c == '\0') {
      out += '\0';
      out += '\1';
    } else {
      out += c;
    }
  }
  out += '\0';
  out += '\0';
}

// Reads one encoded string from `encoded` at `pos` into `out`; `pos` ends past its terminator.
void read_escaped(std::string_view encoded, std::size_t& pos, std::string& out) {
  out.clear();
  while (pos < encoded.size()) {
    const char c = encoded[pos++];
    if (c != '\0') {
      out += c;
      continue;
    }
    if (pos >= encoded.size()) return;
    if (encoded[pos++] == '\0') return;  // "\0\0": the end
    out += '\0';                         // "\0\1": an escaped '\0'
  }
}

}  // namespace

void encode_labels(const sdk::Labels& labels, std::string& out) {
  out.clear();
  for (const auto& [k, v] : labels) {
    append_escaped(k, out);
    append_escaped(v, out);
  }
}

std::string encode_labels(const sdk::Labels& labels) {
  std::string out;
  encode_labels(labels, out);
  return out;
}

void append_label_text(std::string_view encoded, std::string& out) {
  std::string name, value;
  std::size_t pos = 0;
  bool first = true;
  while (pos < encoded.size()) {
    read_escaped(encoded, pos, name);
    read_escaped(encoded, pos, value);
    if (!first) out += ',';
    out += sdk::prom::label(name, value);
    first = false;
  }
}

void MetricsRegistryImpl::upsert(std::string_view name, std::string_view help, const char* type,
                                 const sdk::Labels& labels, double value, bool add) {
  std::lock_guard lock(mutex_);
  auto it = families_.find(name);
  if (it == families_.end()) it = families_.emplace(std::string(name), Family{std::string(help), type, {}}).first;
  encode_labels(labels, scratch_);
  auto& series = it->second.series;
  auto slot = series.find(scratch_);
  if (slot == series.end()) {
    auto set = label_sets_.try_emplace(scratch_, 0).first;
    ++set->second;
    slot = series.emplace(std::string_view(set->first), 0.0).first;
  }
  slot->second = add ? slot->second + value : value;
}

void MetricsRegistryImpl::release(std::string_view encoded) {
  auto set = label_sets_.find(std::string(encoded));
  if (set != label_sets_.end() && --set->second == 0) label_sets_.erase(set);
}

void MetricsRegistryImpl::set_gauge(std::string_view name, std::string_view help, const sdk::Labels& labels,
                                    double value) {
  upsert(name, help, "gauge", labels, value, false);
}

void MetricsRegistryImpl::add_counter(std::string_view name, std::string_view help, const sdk::Labels& labels,
                                      double delta) {
  upsert(name, help, "counter", labels, delta, true);
}

void MetricsRegistryImpl::remove(std::string_view name, const sdk::Labels& labels) {
  std::lock_guard lock(mutex_);
  auto it = families_.find(name);
  if (it == families_.end()) return;
  encode_labels(labels, scratch_);
  auto& series = it->second.series;
  auto slot = series.find(scratch_);
  if (slot != series.end()) {
    const std::string_view encoded = slot->first;
    series.erase(slot);
    release(encoded);  // last: it may free the characters `encoded` views
  }
  if (series.empty()) families_.erase(it);
}

std::optional<double> MetricsRegistryImpl::value(std::string_view name, const sdk::Labels& labels) const {
  std::lock_guard lock(mutex_);
  auto it = families_.find(name);
  if (it == families_.end()) return std::nullopt;
  encode_labels(labels, scratch_);
  auto s = it->second.series.find(scratch_);
  if (s == it->second.series.end()) return std::nullopt;
  return s->second;
}

std::size_t MetricsRegistryImpl::label_sets() const {
  std::lock_guard lock(mutex_);
  return label_sets_.size();
}

std::string MetricsRegistryImpl::render() const {
  sdk::prom::Writer out;
  std::string text;
  std::lock_guard lock(mutex_);
  for (const auto& [name, family] : families_) {
    out.header(name, family.type, family.help);
    for (const auto& [encoded, value] : family.series) {
      text.clear();
      append_label_text(encoded, text);
      out.sample(name, text, value);
    }
  }
  return out.take();
}

}  // namespace wva::framework
