#include "va_grouping.h"

#include <algorithm>

namespace wva::plugins::status {

const VaGrouping::Id* VaGrouping::find(const VaKey& key) const {
  auto it = ids_.find(key);
  return it == ids_.end() ? nullptr : &it->second;
}

void VaGrouping::release(Id id) {
  if (!live(id)) return;
  Slot& s = slots_[id];
  ids_.erase(KeyView{s.key.ns, s.key.name});
  s.live = false;
  s.inputs.clear();
  s.first_naming = nullptr;
  free_.push_back(id);
  has_last_ = false;
}

void VaGrouping::clear() {
  ids_.clear();
  slots_.clear();
  free_.clear();
  named_.clear();
  has_last_ = false;
}

VaGrouping::Slot& VaGrouping::slot(std::string_view ns, std::string_view name) {
  Id id;
  if (has_last_ && slots_[last_id_].key.ns == ns && slots_[last_id_].key.name == name) {
    id = last_id_;
  } else if (auto it = ids_.find(KeyView{ns, name}); it != ids_.end()) {
    id = it->second;
  } else {
    if (!free_.empty()) {
      id = free_.back();
      free_.pop_back();
    } else {
      id = static_cast<Id>(slots_.size());
      slots_.emplace_back();
    }
    Slot& s = slots_[id];
    s.key = VaKey{std::string(ns), std::string(name)};
    s.live = true;
    s.batch = 0;
    ids_.emplace(KeyView{s.key.ns, s.key.name}, id);  // views of the slot's own strings, which never move
  }
  last_id_ = id;
  has_last_ = true;
  Slot& s = slots_[id];
  if (s.batch != batch_) {
    s.batch = batch_;
    s.inputs.clear();
    s.first_naming = nullptr;
    named_.push_back(id);
  }
  return s;
}

const sdk::ModelView* VaGrouping::first_with_key(const sdk::PublishBatch& batch, const sdk::ModelKey& key) {
  if (models_sorted_) {
    auto it = std::lower_bound(batch.models.begin(), batch.models.end(), key,
                               [](const sdk::ModelView& m, const sdk::ModelKey& k) { return m.key < k; });
    return it != batch.models.end() && it->key == key ? &*it : nullptr;
  }
  auto it = by_model_key_.find(KeyView{key.ns, key.model_id});
  return it == by_model_key_.end() ? nullptr : it->second;
}

const std::vector<VaGrouping::Id>& VaGrouping::group(const sdk::PublishBatch& batch) {
  ++batch_;
  named_.clear();
  has_last_ = false;

  for (const sdk::Decision& d : batch.decisions) {
    if (d.va_name.empty()) continue;  // nothing to address; the host always sets it
    VaInputs& in = slot(d.model.ns, d.va_name).inputs;
    in.decisions.push_back(&d);
    d.for_each_condition([&in](const sdk::Condition& c) { in.conditions.push_back(&c); });
  }
  for (const auto& rc : batch.conditions)
    if (!rc.va_name.empty()) slot(rc.ns, rc.va_name).inputs.conditions.push_back(&rc.condition);
  for (const auto& m : batch.models) {
    if (!m.va_name.empty())
      if (Slot& s = slot(m.key.ns, m.va_name); !s.first_naming) s.first_naming = &m;
    for (const auto& v : m.variants)
      if (!v.va_name.empty())
        if (Slot& s = slot(m.key.ns, v.va_name); !s.first_naming) s.first_naming = &m;
  }

  models_sorted_ = std::is_sorted(batch.models.begin(), batch.models.end(),
                                  [](const sdk::ModelView& a, const sdk::ModelView& b) { return a.key < b.key; });
  by_model_key_.clear();
  if (!models_sorted_)
    for (const auto& m : batch.models) by_model_key_.try_emplace(KeyView{m.key.ns, m.key.model_id}, &m);
  for (Id id : named_) {
    Slot& s = slots_[id];
    resolve_model(
        s.inputs, [&](const sdk::ModelKey& k) { return first_with_key(batch, k); }, s.first_naming);
  }
  return named_;
}

}  // namespace wva::plugins::status
