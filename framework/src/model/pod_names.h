// A sorted set of pod names in one string: each name is written as its length (7 bits a byte, the high bit
// set on every byte but the last) followed by its bytes. The model views keep a Deployment's pods this way:
// at 120,000 pods a std::vector<std::string> per Deployment cost twice the bytes (a 32-byte string object
// per pod, and its own allocation past 15 characters). Lookups and changes walk the names: a Deployment
// has few pods.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace wva::framework {

class PodNames {
 public:
  PodNames() = default;
  // From names sorted and without duplicates.
  explicit PodNames(const std::vector<std::string>& sorted) {
    std::size_t bytes = 0;
    for (const auto& name : sorted) bytes += name.size() + 2;
    joined_.reserve(bytes);
    for (const auto& name : sorted) append(name);
  }

  bool empty() const { return joined_.empty(); }
  bool contains(std::string_view pod) const {
    const Found f = find(pod);
    return f.equal;
  }
  // False when the name was there already.
  bool insert(std::string_view pod) {
    const Found f = find(pod);
    if (f.equal) return false;
    std::string entry;
    write_length(entry, pod.size());
    entry.append(pod);
    joined_.insert(f.offset, entry);
    return true;
  }
  // False when the name was not there.
  bool erase(std::string_view pod) {
    const Found f = find(pod);
    if (!f.equal) return false;
    joined_.erase(f.offset, f.end - f.offset);
    if (joined_.empty()) joined_.shrink_to_fit();
    return true;
  }
  // Calls `visit` with each name, in order.
  template <class Visit>
  void for_each(Visit&& visit) const {
    for (std::size_t at = 0; at < joined_.size();) {
      const std::string_view name = read(at);
      visit(name);
    }
  }
  std::vector<std::string> to_vector() const {
    std::vector<std::string> out;
    for_each([&](std::string_view name) { out.emplace_back(name); });
    return out;
  }

 private:
  struct Found {
    std::size_t offset = 0, end = 0;  // the entry's bytes (or where the name goes)
    bool equal = false;
  };
  static void write_length(std::string& out, std::size_t n) {
    while (n >= 0x80) {
      out.push_back(static_cast<char>((n & 0x7f) | 0x80));
      n >>= 7;
    }
    out.push_back(static_cast<char>(n));
  }
  void append(std::string_view name) {
    write_length(joined_, name.size());
    joined_.append(name);
  }
  // The name at `at`, moving `at` past it.
  std::string_view read(std::size_t& at) const {
    std::size_t n = 0;
    for (unsigned shift = 0;; shift += 7) {
      const auto byte = static_cast<unsigned char>(joined_[at++]);
      n |= static_cast<std::size_t>(byte & 0x7f) << shift;
      if (!(byte & 0x80)) break;
    }
    const std::string_view name(joined_.data() + at, n);
    at += n;
    return name;
  }
  // The first entry not less than `pod`.
  Found find(std::string_view pod) const {
    for (std::size_t at = 0; at < joined_.size();) {
      const std::size_t start = at;
      const std::string_view name = read(at);
      if (name < pod) continue;
      return Found{start, at, name == pod};
    }
    return Found{joined_.size(), joined_.size(), false};
  }

  std::string joined_;
};

}  // namespace wva::framework
