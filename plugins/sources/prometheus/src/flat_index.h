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
    set_bits();
    size_ = 0;
  }

  // The value of the first entry with hash `h` for which `same(value)` holds; kNone when there is none.
  template <class Same>
  std::uint32_t find(std::uint64_t h, Same&& same) const {
    if (entries_.empty()) return kNone;
    const std::uint32_t t = tag(h);
    const std::size_t mask = entries_.size() - 1;
    for (std::size_t i = home(t);; i = (i + 1) & mask) {
      const Entry& e = entries_[i];
      if (e.value == kNone) return kNone;
      if (e.tag == t && same(e.value)) return e.value;
    }
  }

  // Calls f(value) for every entry whose hash may be `h` (keys may repeat, and two hashes may share the
  // 32 bits kept: the caller compares the keys).
  template <class F>
  void for_each(std::uint64_t h, F&& f) const {
    if (entries_.empty()) return;
    const std::uint32_t t = tag(h);
    const std::size_t mask = entries_.size() - 1;
    for (std::size_t i = home(t);; i = (i + 1) & mask) {
      const Entry& e = entries_[i];
      if (e.value == kNone) return;
      if (e.tag == t) f(e.value);
    }
  }

  // Adds an entry (the caller checked with find() when keys must be unique). `value` must not be kNone.
  void insert(std::uint64_t h, std::uint32_t value) {
    if ((size_ + 1) * 2 > entries_.size()) grow();
    place(tag(h), value);
    ++size_;
  }

  std::size_t size() const { return size_; }
  std::size_t capacity() const { return entries_.size(); }
  std::size_t allocated_bytes() const { return entries_.capacity() * sizeof(Entry); }

 private:
  // Eight bytes an entry: 32 bits of the hash (its high half) and the value. The slot is computed from
  // the kept bits, so the index can grow without the full hash; a key whose 32 bits match another's only
  // costs the caller's comparison.
  struct Entry {
    std::uint32_t tag = 0;
    std::uint32_t value = kNone;
  };
  static std::uint32_t tag(std::uint64_t h) { return static_cast<std::uint32_t>(h >> 32); }
  // Fibonacci hashing of the tag: its top bits pick the slot, independent of the bits compared.
  std::size_t home(std::uint32_t t) const {
    return static_cast<std::size_t>((static_cast<std::uint64_t>(t) * 0x9E3779B97F4A7C15ULL) >> (64 - bits_));
  }

  void place(std::uint32_t t, std::uint32_t value) {
    const std::size_t mask = entries_.size() - 1;
    std::size_t i = home(t);
    while (entries_[i].value != kNone) i = (i + 1) & mask;
    entries_[i] = Entry{t, value};
  }

  void grow() {
    std::vector<Entry> old = std::move(entries_);
    entries_.assign(old.empty() ? 16 : old.size() * 2, Entry{});
    set_bits();
    for (const Entry& e : old)
      if (e.value != kNone) place(e.tag, e.value);
  }

  void set_bits() {
    bits_ = 0;
    while ((std::size_t{1} << bits_) < entries_.size()) ++bits_;
  }

  std::vector<Entry> entries_;
  std::size_t size_ = 0;
  unsigned bits_ = 0;  // entries_.size() == 1 << bits_
};

}  // namespace wva::prometheus
