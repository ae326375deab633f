// A hash of byte strings and an open-addressing index from 64-bit hashes to 32-bit values (the KV
// capacity cache's pods by namespace and name): one probe sequence over a flat array, no allocation per
// key and no std::string built for a lookup. The index does not know the keys: the caller's predicate
// compares them, so entries point into storage the caller owns.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace wva::prometheus {

inline std::uint64_t mix_hash(std::uint64_t h) {
  h ^= h >> 32;
  h *= 0xD6E8FEB86659FD93ULL;
  h ^= h >> 32;
  h *= 0xD6E8FEB86659FD93ULL;
  h ^= h >> 32;
  return h;
}

// A hash over several strings in turn (each one's length mixed in after it, so ("ab", "c") and ("a", "bc")
// differ), eight bytes at a time, finished once. Copy it to finish a prefix and go on with more strings.
class KeyHash {
 public:
  explicit KeyHash(std::uint64_t seed = 0) : h_(seed ^ 0x9E3779B97F4A7C15ULL) {}
  KeyHash& add(std::string_view bytes) {
    const char* p = bytes.data();
    std::size_t n = bytes.size();
    for (; n >= 8; p += 8, n -= 8) {
      std::uint64_t word = 0;
      std::memcpy(&word, p, 8);
      step(word);
    }
    if (n > 0) {
      std::uint64_t word = 0;
      std::memcpy(&word, p, n);
      step(word);
    }
    step(bytes.size());
    return *this;
  }
  std::uint64_t done() const { return mix_hash(h_); }

 private:
  void step(std::uint64_t word) {
    h_ = (h_ ^ word) * 0x9E3779B97F4A7C15ULL;
    h_ ^= h_ >> 29;
  }
  std::uint64_t h_;
};

inline std::uint64_t hash_bytes(std::string_view bytes, std::uint64_t seed = 0) {
  return KeyHash(seed).add(bytes).done();
}

// Byte equality of short strings (names, label values) without a call to memcmp.
inline bool equal_bytes(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  const char* p = a.data();
  const char* q = b.data();
  std::size_t n = a.size();
  for (; n >= 8; p += 8, q += 8, n -= 8) {
    std::uint64_t x = 0, y = 0;
    std::memcpy(&x, p, 8);
    std::memcpy(&y, q, 8);
    if (x != y) return false;
  }
  for (; n > 0; ++p, ++q, --n)
    if (*p != *q) return false;
  return true;
}

class FlatIndex {
 public:
  static constexpr std::uint32_t kNone = UINT32_MAX;

  // Empties the index and sizes it for `expected` entries (kept at most half full). Capacity far beyond
  // what `expected` needs is given back, so one large cycle does not pin memory for the next.
  void reset(std::size_t expected) {
    std::size_t want = 16;
    while (want < expected * 2) want *= 2;
    if (entries_.size() < want || entries_.size() > want * 8) {
      entries_.assign(want, Entry{});
      entries_.shrink_to_fit();
    } else {
      std::fill(entries_.begin(), entries_.end(), Entry{});
    }
    size_ = 0;
  }

  // The value of the first entry with hash `h` for which `same(value)` holds; kNone when there is none.
  template <class Same>
  std::uint32_t find(std::uint64_t h, Same&& same) const {
    if (entries_.empty()) return kNone;
    const std::size_t mask = entries_.size() - 1;
    for (std::size_t i = static_cast<std::size_t>(h) & mask;; i = (i + 1) & mask) {
      const Entry& e = entries_[i];
      if (e.value == kNone) return kNone;
      if (e.hash == h && same(e.value)) return e.value;
    }
  }

  // Calls f(value) for every entry with hash `h` (keys may repeat: the caller compares them).
  template <class F>
  void for_each(std::uint64_t h, F&& f) const {
    if (entries_.empty()) return;
    const std::size_t mask = entries_.size() - 1;
    for (std::size_t i = static_cast<std::size_t>(h) & mask;; i = (i + 1) & mask) {
      const Entry& e = entries_[i];
      if (e.value == kNone) return;
      if (e.hash == h) f(e.value);
    }
  }

  // Adds an entry (the caller checked with find() when keys must be unique). `value` must not be kNone.
  void insert(std::uint64_t h, std::uint32_t value) {
    if ((size_ + 1) * 2 > entries_.size()) grow();
    place(h, value);
    ++size_;
  }

  std::size_t size() const { return size_; }
  std::size_t capacity() const { return entries_.size(); }

 private:
  struct Entry {
    std::uint64_t hash = 0;
    std::uint32_t value = kNone;
  };

  void place(std::uint64_t h, std::uint32_t value) {
    const std::size_t mask = entries_.size() - 1;
    std::size_t i = static_cast<std::size_t>(h) & mask;
    while (entries_[i].value != kNone) i = (i + 1) & mask;
    entries_[i] = Entry{h, value};
  }

  void grow() {
    std::vector<Entry> old = std::move(entries_);
    entries_.assign(old.empty() ? 16 : old.size() * 2, Entry{});
    for (const Entry& e : old)
      if (e.value != kNone) place(e.hash, e.value);
  }

  std::vector<Entry> entries_;
  std::size_t size_ = 0;
};

}  // namespace wva::prometheus
