// A 128-bit digest of a sequence of appends, computed as they come (no text is built): what the status
// sink keeps per VariantAutoscaling instead of the text of what its last write was planned from.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace wva::plugins::status {

struct Digest128 {
  std::uint64_t a = 0;
  std::uint64_t b = 0;
  friend bool operator==(const Digest128&, const Digest128&) = default;
};

// Two 64-bit hashes of different families over the same words: an xxHash64 round (multiply, rotate,
// multiply: a bijection of the state per word) and a wyhash-style folded 128-bit multiply. Each append is
// encoded injectively into 64-bit words first (a short piece with its length in the top byte; a long one
// after a word with its length and the top bit set), so different sequences of appends give different
// word sequences. Treated as two independent random 64-bit functions, two different sequences give the
// same digest with odds of about 2^-128 (3e-39): 10,000 VAs compared every 10 s for a year is 3e10
// comparisons, about one chance in 10^28. The inputs are not chosen by an adversary (they are the
// sink's own decisions and conditions), so a non-cryptographic hash is enough.
class DigestHasher {
 public:
  // Inline: most appends are a few bytes of known size.
  void append(const char* data, std::size_t n) {
    if (n < 8) {
      mix(load_tail(data, n) | (static_cast<std::uint64_t>(n) << 56));
      return;
    }
    mix(static_cast<std::uint64_t>(n) | (std::uint64_t{1} << 63));
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
      std::uint64_t w;
      std::memcpy(&w, data + i, 8);
      mix(w);
    }
    if (i < n) mix(load_tail(data + i, n - i));
  }
  void push_back(char c) { append(&c, 1); }
  Digest128 digest() const;

 private:
  static std::uint64_t load_tail(const char* data, std::size_t n) {  // n < 8 bytes, zero-padded
    std::uint64_t w = 0;
    std::memcpy(&w, data, n);
    return w;
  }
  static std::uint64_t rotl(std::uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }
  void mix(std::uint64_t w) {
    a_ = rotl(a_ + w * 0xC2B2AE3D27D4EB4FULL, 31) * 0x9E3779B185EBCA87ULL;
    const unsigned __int128 m = static_cast<unsigned __int128>(b_ ^ w ^ 0xa0761d6478bd642fULL) * 0xe7037ed1a0b428dbULL;
    b_ = static_cast<std::uint64_t>(m) ^ static_cast<std::uint64_t>(m >> 64);
  }

  std::uint64_t a_ = 0x27D4EB2F165667C5ULL;
  std::uint64_t b_ = 0x8ebc6af09c88c6e3ULL;
};

// Each state through a final mix of its own family (xxHash64's avalanche, MurmurHash3's fmix64), so every
// bit of the digest depends on every bit of the state.
inline Digest128 DigestHasher::digest() const {
  std::uint64_t a = a_;
  a ^= a >> 33;
  a *= 0xC2B2AE3D27D4EB4FULL;
  a ^= a >> 29;
  a *= 0x165667B19E3779F9ULL;
  a ^= a >> 32;
  std::uint64_t b = b_;
  b ^= b >> 33;
  b *= 0xff51afd7ed558ccdULL;
  b ^= b >> 33;
  b *= 0xc4ceb9fe1a85ec53ULL;
  b ^= b >> 33;
  return Digest128{a, b};
}

}  // namespace wva::plugins::status
