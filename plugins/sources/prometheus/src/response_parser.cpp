#include "response_parser.h"

#include <array>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <deque>
#include <limits>
#include <memory>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace wva::prometheus {
namespace {

bool is_ws(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// The bytes that end the fast scan of a JSON string: the closing quote, an escape, a control character.
struct StringStops {
  bool stop[256] = {};
  constexpr StringStops() {
    for (int c = 0; c < 0x20; ++c) stop[c] = true;
    stop[static_cast<unsigned char>('"')] = true;
    stop[static_cast<unsigned char>('\\')] = true;
  }
};
constexpr StringStops kStringStops;

// The bytes of an 8-byte word (little-endian) that end a fast string scan, as the high bit of each: '"',
// '\\' and those below 0x20. A flag can be wrong only above a true one, so the lowest is exact.
[[maybe_unused]] std::uint64_t string_stops(std::uint64_t w) {  // without SSE2
  constexpr std::uint64_t k01 = 0x0101010101010101ULL, k80 = 0x8080808080808080ULL;
  const auto zero_byte = [](std::uint64_t v) { return (v - k01) & ~v & k80; };
  const std::uint64_t quote = zero_byte(w ^ (k01 * '"'));
  const std::uint64_t backslash = zero_byte(w ^ (k01 * '\\'));
  const std::uint64_t control = (w - k01 * 0x20) & ~w & k80;
  return quote | backslash | control;
}

// The index of the first byte at or after `j` that ends a fast string scan ('"', '\\' or a control
// character), or text.size() when there is none.
std::size_t find_string_stop(std::string_view text, std::size_t j) {
  const char* const p = text.data();
  const std::size_t n = text.size();
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  const __m128i below_space = _mm_set1_epi8(0x1F);
  for (; j + 16 <= n; j += 16) {
    const __m128i chunk = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + j));
    // A byte is a control character when the unsigned minimum with 0x1F leaves it unchanged.
    const __m128i control = _mm_cmpeq_epi8(_mm_min_epu8(chunk, below_space), chunk);
    const __m128i stops =
        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(chunk, quote), _mm_cmpeq_epi8(chunk, backslash)), control);
    const int mask = _mm_movemask_epi8(stops);
    if (mask != 0) return j + static_cast<std::size_t>(std::countr_zero(static_cast<unsigned>(mask)));
  }
#else
  if constexpr (std::endian::native == std::endian::little) {
    for (; j + 8 <= n; j += 8) {
      std::uint64_t word = 0;
      std::memcpy(&word, p + j, 8);
      const std::uint64_t stops = string_stops(word);
      if (stops != 0) return j + static_cast<std::size_t>(std::countr_zero(stops)) / 8;
    }
  }
#endif
  for (; j < n; ++j)
    if (kStringStops.stop[static_cast<unsigned char>(p[j])]) return j;
  return n;
}

bool equal_text(std::string_view a, const char* b) { return std::memcmp(a.data(), b, a.size()) == 0; }

// Exact powers of ten as doubles (10^22 is the largest that is).
constexpr double kPow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                             1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

// A plain decimal ("-12.375", "1796518549.283": no exponent) whose digits fit in 2^53 and whose fraction
// has at most 22 digits is digits / 10^fraction, both exact doubles, so one IEEE division gives the
// correctly rounded value, exactly what from_chars gives (Clinger's fast path). False: use from_chars.
bool parse_plain_decimal(const char* first, const char* last, double& out) {
  const bool negative = first < last && *first == '-';
  const char* p = negative ? first + 1 : first;
  std::uint64_t digits = 0;
  int count = 0, fraction = -1;
  bool any = false;
  for (; p < last; ++p) {
    const char c = *p;
    if (c >= '0' && c <= '9') {
      if (++count > 16) return false;  // 10^16 > 2^53: may not be exact
      digits = digits * 10 + static_cast<std::uint64_t>(c - '0');
      any = true;
      if (fraction >= 0) ++fraction;
    } else if (c == '.' && fraction < 0) {
      fraction = 0;
    } else {
      return false;
    }
  }
  if (!any || digits > (std::uint64_t{1} << 53)) return false;
  double v = static_cast<double>(digits);
  if (fraction > 0) v /= kPow10[fraction];
  out = negative ? -v : v;
  return true;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

namespace detail {

class Reader {
 public:
  Reader(std::string_view text, SampleHandler& handler) : s_(text), handler_(handler) {}

  // A whole response; `series_before` series of it were already handed over (by SeriesReader).
  std::optional<ResponseHeader> run(ParseError* error, std::size_t series_before = 0) {
    series_ = series_before;
    ResponseHeader out;
    if (!parse_top(out)) {
      if (error) *error = ParseError{err_at_, err_};
      return std::nullopt;
    }
    return out;
  }

  // One series object of data.result at the start of `text` (a fresh text each call).
  bool run_series(std::string_view text, std::size_t& consumed, ParseError& error) {
    s_ = text;
    i_ = 0;
    err_.clear();
    err_at_ = 0;
    if (!parse_series(3)) {  // the depth the series of a whole response are read at
      error = ParseError{err_at_, err_};
      return false;
    }
    consumed = i_;
    return true;
  }

  std::size_t series() const { return series_; }

 private:
  bool fail(std::string message) {
    if (err_.empty()) {
      err_ = std::move(message);
      err_at_ = i_;
    }
    return false;
  }

  void ws() {
    while (i_ < s_.size() && is_ws(s_[i_])) ++i_;
  }
  bool at_end() const { return i_ >= s_.size(); }
  char peek() {
    ws();
    return at_end() ? '\0' : s_[i_];
  }
  bool expect(char c) {
    ws();
    if (at_end()) return fail(std::string("unexpected end of input, expected '") + c + "'");
    if (s_[i_] != c) return fail(std::string("expected '") + c + "'");
    ++i_;
    return true;
  }
  bool literal(std::string_view word) {
    if (s_.substr(i_, word.size()) != word) return fail("invalid literal");
    i_ += word.size();
    return true;
  }

  // Reads a JSON string into out (decoding escapes).
  bool parse_string(std::string& out) {
    ws();
    if (at_end() || s_[i_] != '"') return fail("expected a string");
    ++i_;
    out.clear();
    // Fast path: no escapes.
    std::size_t start = i_;
    while (i_ < s_.size()) {
      const char c = s_[i_];
      if (c == '"') {
        out.assign(s_.data() + start, i_ - start);
        ++i_;
        return true;
      }
      if (c == '\\') break;
      if (static_cast<unsigned char>(c) < 0x20) return fail("control character in string");
      ++i_;
    }
    out.assign(s_.data() + start, i_ - start);
    while (i_ < s_.size()) {
      const char c = s_[i_];
      if (c == '"') {
        ++i_;
        return true;
      }
      if (static_cast<unsigned char>(c) < 0x20) return fail("control character in string");
      if (c != '\\') {
        out.push_back(c);
        ++i_;
        continue;
      }
      if (++i_ >= s_.size()) break;
      const char e = s_[i_++];
      switch (e) {
        case '"': out.push_back('"'); break;
        case '\\': out.push_back('\\'); break;
        case '/': out.push_back('/'); break;
        case 'b': out.push_back('\b'); break;
        case 'f': out.push_back('\f'); break;
        case 'n': out.push_back('\n'); break;
        case 'r': out.push_back('\r'); break;
        case 't': out.push_back('\t'); break;
        case 'u': {
          std::uint32_t cp = 0;
          if (!hex4(cp)) return false;
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            // A high surrogate must be followed by \uDC00..\uDFFF; a lone one becomes U+FFFD.
            std::uint32_t low = 0;
            if (i_ + 1 < s_.size() && s_[i_] == '\\' && s_[i_ + 1] == 'u') {
              i_ += 2;
              if (!hex4(low)) return false;
              if (low >= 0xDC00 && low <= 0xDFFF) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
              } else {
                append_utf8(out, 0xFFFD);
                cp = low >= 0xD800 && low <= 0xDFFF ? 0xFFFD : low;
              }
            } else {
              cp = 0xFFFD;
            }
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            cp = 0xFFFD;
          }
          append_utf8(out, cp);
          break;
        }
        default: return fail("invalid escape in string");
      }
    }
    return fail("unterminated string");
  }

  bool hex4(std::uint32_t& cp) {
    if (i_ + 4 > s_.size()) return fail("truncated \\u escape");
    cp = 0;
    for (int k = 0; k < 4; ++k) {
      const int d = hex_digit(s_[i_ + static_cast<std::size_t>(k)]);
      if (d < 0) return fail("invalid \\u escape");
      cp = (cp << 4) | static_cast<std::uint32_t>(d);
    }
    i_ += 4;
    return true;
  }

  // Like parse_string, but returns a view into the input when the string has no escapes (the common
  // case: no copy); otherwise decodes into `storage` and returns a view of it.
  bool parse_string_view(std::string_view& out, std::string& storage) {
    ws();
    if (at_end() || s_[i_] != '"') return fail("expected a string");
    std::size_t j = find_string_stop(s_, i_ + 1);
    while (j < s_.size()) {
      const char c = s_[j];
      if (c == '"') {
        out = s_.substr(i_ + 1, j - i_ - 1);
        i_ = j + 1;
        return true;
      }
      if (c == '\\') break;
      if (static_cast<unsigned char>(c) < 0x20) {
        i_ = j;
        return fail("control character in string");
      }
      ++j;
    }
    if (!parse_string(storage)) return false;
    out = storage;
    return true;
  }

  // Validates like parse_string (escapes included) but keeps nothing.
  bool skip_string() { return parse_string(scratch_); }

  // A JSON number, validated against the JSON grammar.
  bool parse_number(double& out) {
    ws();
    const std::size_t start = i_;
    if (i_ < s_.size() && s_[i_] == '-') ++i_;
    const std::size_t int_start = i_;
    while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
    if (i_ == int_start) return fail("expected a number");
    if (i_ < s_.size() && s_[i_] == '.') {
      ++i_;
      const std::size_t frac = i_;
      while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
      if (i_ == frac) return fail("invalid number");
    }
    if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
      ++i_;
      if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) ++i_;
      const std::size_t exp = i_;
      while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
      if (i_ == exp) return fail("invalid number");
    }
    const char* first = s_.data() + start;
    const char* last = s_.data() + i_;
    auto v = parse_sample_value(std::string_view(first, static_cast<std::size_t>(last - first)));
    if (!v) return fail("invalid number");
    out = *v;
    return true;
  }

  bool skip_value(int depth) {
    if (depth > kMaxDepth) return fail("nesting too deep");
    const char c = peek();
    switch (c) {
      case '"': return skip_string();
      case '{': {
        ++i_;
        if (peek() == '}') {
          ++i_;
          return true;
        }
        while (true) {
          if (!skip_string() || !expect(':') || !skip_value(depth + 1)) return false;
          const char n = peek();
          if (n == ',') {
            ++i_;
            continue;
          }
          return expect('}');
        }
      }
      case '[': {
        ++i_;
        if (peek() == ']') {
          ++i_;
          return true;
        }
        while (true) {
          if (!skip_value(depth + 1)) return false;
          const char n = peek();
          if (n == ',') {
            ++i_;
            continue;
          }
          return expect(']');
        }
      }
      case 't': return literal("true");
      case 'f': return literal("false");
      case 'n': return literal("null");
      case '\0':
        if (at_end()) return fail("unexpected end of input");
        return fail("unexpected character");
      default: {
        double ignored = 0;
        return parse_number(ignored);
      }
    }
  }

  bool is_null() {
    if (peek() == 'n') return literal("null");
    return false;
  }

  // Iterates "key": value pairs of an object; `on_key` reads the value (or skips it) and returns false
  // to stop with an error.
  template <class F>
  bool parse_object(F&& on_key) {
    if (!expect('{')) return false;
    if (peek() == '}') {
      ++i_;
      return true;
    }
    std::string key;
    while (true) {
      if (!parse_string(key) || !expect(':')) return false;
      if (!on_key(key)) return false;
      const char n = peek();
      if (n == ',') {
        ++i_;
        continue;
      }
      return expect('}');
    }
  }

  template <class F>
  bool parse_array(F&& on_item) {
    if (!expect('[')) return false;
    if (peek() == ']') {
      ++i_;
      return true;
    }
    while (true) {
      if (!on_item()) return false;
      const char n = peek();
      if (n == ',') {
        ++i_;
        continue;
      }
      return expect(']');
    }
  }

  bool parse_string_or_null(std::string& out) {
    if (peek() == 'n') {
      out.clear();
      return literal("null");
    }
    return parse_string(out);
  }

  bool parse_string_list(std::vector<std::string>& out, std::string_view prefix) {
    if (is_null()) return true;
    return parse_array([&] {
      std::string s;
      if (!parse_string(s)) return false;
      out.push_back(std::string(prefix) + s);
      return true;
    });
  }

  // The rest of a [timestamp, "value"] pair after its '['. `value_ok` is false when the value string is
  // not a number (legal only for resultType "string").
  bool parse_pair_body(double& ts, double& value, bool& value_ok) {
    if (peek() == '"') {
      // Some query frontends send the timestamp as a string.
      if (!parse_string(scratch_)) return false;
      auto t = parse_sample_value(scratch_);
      if (!t) return fail("invalid timestamp");
      ts = *t;
    } else if (!parse_number(ts)) {
      return false;
    }
    if (!expect(',')) return false;
    std::string_view text;
    if (!parse_string_view(text, scratch_)) return false;
    auto v = parse_sample_value(text);
    value_ok = v.has_value();
    value = v.value_or(std::numeric_limits<double>::quiet_NaN());
    return expect(']');
  }

  bool parse_pair(double& ts, double& value) {
    if (!expect('[')) return false;
    bool value_ok = true;
    if (!parse_pair_body(ts, value, value_ok)) return false;
    if (!value_ok) return fail("invalid sample value");
    return true;
  }

  // The labels of one series, as views into the input or into label_storage_ (escaped strings).
  bool parse_labels() {
    labels_.clear();
    if (is_null()) return true;
    std::size_t stored = 0;
    return parse_object_views([&](std::string_view key) {
      // The key view may point into key_storage_: keep escaped keys in the label storage too.
      std::string_view name = key;
      if (!key.empty() && key.data() == key_storage_.data()) {
        if (stored == label_storage_.size()) label_storage_.emplace_back();
        label_storage_[stored] = key;
        name = label_storage_[stored++];
      }
      if (stored == label_storage_.size()) label_storage_.emplace_back();
      std::string_view value;
      if (!parse_string_view(value, label_storage_[stored])) return false;
      if (!value.empty() && value.data() == label_storage_[stored].data()) ++stored;
      labels_.push_back(LabelView{name, value});
      return true;
    });
  }

  // parse_object with the key as a view (no copy unless escaped: then into key_storage_).
  template <class F>
  bool parse_object_views(F&& on_key) {
    if (!expect('{')) return false;
    if (peek() == '}') {
      ++i_;
      return true;
    }
    std::string_view key;
    while (true) {
      if (!parse_string_view(key, key_storage_) || !expect(':')) return false;
      if (!on_key(key)) return false;
      const char n = peek();
      if (n == ',') {
        ++i_;
        continue;
      }
      return expect('}');
    }
  }

  // The series as Prometheus writes it, {"metric":{"k":"v",...},"value":[ts,"v"]}: no whitespace, no
  // escapes, keys in that order. Reads it and hands it over, or returns false having changed nothing
  // for the general path to read the series again from its start (a matrix, other keys, another
  // order, an escape, an error: the two paths agree by construction).
  bool parse_series_fast() {
    static constexpr std::string_view kHead = "{\"metric\":{";
    static constexpr std::string_view kValue = ",\"value\":[";
    const std::string_view s = s_;
    std::size_t j = i_;
    if (s.size() - j < kHead.size() || s.compare(j, kHead.size(), kHead) != 0) return false;
    j += kHead.size();
    // A plain string at j (after its opening quote): the index of its closing quote, or npos.
    const auto plain_string = [&](std::size_t from) {
      const std::size_t end = find_string_stop(s, from);
      return end < s.size() && s[end] == '"' ? end : std::string_view::npos;
    };
    std::size_t count = 0;  // labels in fast_labels_ (more than it holds: the general path)
    if (j < s.size() && s[j] == '}') {
      ++j;
    } else {
      while (true) {
        if (j >= s.size() || s[j] != '"') return false;
        const std::size_t name_end = plain_string(j + 1);
        if (name_end == std::string_view::npos || name_end + 2 >= s.size() || s[name_end + 1] != ':' ||
            s[name_end + 2] != '"')
          return false;
        const std::size_t value_end = plain_string(name_end + 3);
        if (value_end == std::string_view::npos || value_end + 1 >= s.size()) return false;
        if (count == fast_labels_.size()) return false;
        fast_labels_[count++] =
            LabelView{s.substr(j + 1, name_end - j - 1), s.substr(name_end + 3, value_end - name_end - 3)};
        j = value_end + 1;
        if (s[j] == ',') {
          ++j;
          continue;
        }
        if (s[j] != '}') return false;
        ++j;
        break;
      }
    }
    if (s.size() - j < kValue.size() || s.compare(j, kValue.size(), kValue) != 0) return false;
    j += kValue.size();
    const std::size_t ts_start = j;
    while (j < s.size() && s[j] >= '0' && s[j] <= '9') ++j;
    if (j == ts_start) return false;
    if (j < s.size() && s[j] == '.') {
      const std::size_t fraction = ++j;
      while (j < s.size() && s[j] >= '0' && s[j] <= '9') ++j;
      if (j == fraction) return false;
    }
    if (j + 1 >= s.size() || s[j] != ',' || s[j + 1] != '"') return false;
    // Every series of an instant query carries the same evaluation time: its text is parsed once.
    const std::string_view ts_text = s.substr(ts_start, j - ts_start);
    std::optional<double> ts;
    if (ts_text.size() == last_ts_size_ && equal_text(ts_text, last_ts_text_.data())) {
      ts = last_ts_;
    } else if ((ts = parse_sample_value(ts_text)) && ts_text.size() <= last_ts_text_.size()) {
      std::memcpy(last_ts_text_.data(), ts_text.data(), ts_text.size());
      last_ts_size_ = ts_text.size();
      last_ts_ = *ts;
    }
    const std::size_t value_end = plain_string(j + 2);
    if (!ts || value_end == std::string_view::npos) return false;
    const auto value = parse_sample_value(s.substr(j + 2, value_end - j - 2));
    if (!value || value_end + 2 >= s.size() || s[value_end + 1] != ']' || s[value_end + 2] != '}') return false;
    i_ = value_end + 3;
    ++series_;
    handler_.on_sample(SampleView{std::span<const LabelView>(fast_labels_.data(), count), *value, *ts});
    return true;
  }

  // One series object: its labels and its value (vector) or last value (matrix), handed to the handler
  // when the object closes ("metric" may follow "value"). A series without a value is dropped.
  bool parse_series(int depth) {
    ws();
    if (parse_series_fast()) return true;
    double ts = 0, value = 0;
    bool has_value = false;
    labels_.clear();
    bool ok = parse_object_views([&](std::string_view key) {
      if (key == "metric") return parse_labels();
      if (key == "value") {
        has_value = true;
        return parse_pair(ts, value);
      }
      if (key == "values") {
        if (is_null()) return true;
        return parse_array([&] {
          has_value = true;
          return parse_pair(ts, value);  // keeps the last point
        });
      }
      return skip_value(depth + 1);  // native histograms and future fields
    });
    if (!ok) return false;
    if (has_value) {
      ++series_;
      handler_.on_sample(SampleView{std::span<const LabelView>(labels_.data(), labels_.size()), value, ts});
    }
    return true;
  }

  bool parse_result(ResponseHeader& out, int depth) {
    if (is_null()) return true;
    if (!expect('[')) return false;
    const char first = peek();
    if (first == ']') {
      ++i_;
      return true;
    }
    if (first != '{') {
      // scalar / string: the result itself is the [timestamp, "value"] pair.
      ScalarValue scalar;
      if (!parse_pair_body(scalar.timestamp, scalar.value, scalar_value_ok_)) return false;
      scalar_form_ = true;
      out.scalar = scalar;
      return true;
    }
    while (true) {
      if (!parse_series(depth + 1)) return false;
      const char n = peek();
      if (n == ',') {
        ++i_;
        continue;
      }
      return expect(']');
    }
  }

  bool parse_data(ResponseHeader& out, int depth) {
    if (is_null()) return true;
    std::string type;
    bool ok = parse_object([&](const std::string& key) {
      if (key == "resultType") {
        if (!parse_string(type)) return false;
        if (type == "vector") out.result_type = ResultType::kVector;
        else if (type == "scalar") out.result_type = ResultType::kScalar;
        else if (type == "matrix") out.result_type = ResultType::kMatrix;
        else if (type == "string") out.result_type = ResultType::kString;
        else return fail("unknown resultType \"" + type + "\"");
        return true;
      }
      if (key == "result") return parse_result(out, depth + 1);
      return skip_value(depth + 1);
    });
    return ok;
  }

  bool parse_top(ResponseHeader& out) {
    if (peek() != '{') return fail(at_end() ? "empty response" : "response is not a JSON object");
    bool has_status = false;
    bool ok = parse_object([&](const std::string& key) {
      if (key == "status") {
        std::string status;
        if (!parse_string(status)) return false;
        has_status = true;
        out.success = status == "success";
        return true;
      }
      if (key == "data") return parse_data(out, 1);
      if (key == "errorType") return parse_string_or_null(out.error_type);
      if (key == "error") return parse_string_or_null(out.error);
      if (key == "warnings") return parse_string_list(out.warnings, "");
      if (key == "infos") return parse_string_list(out.warnings, "info: ");
      return skip_value(1);
    });
    if (!ok) return false;
    ws();
    if (!at_end()) return fail("trailing characters after the response");
    if (!has_status) return fail("response has no \"status\"");
    if (scalar_form_) {
      if (out.result_type == ResultType::kString) {
        out.scalar.reset();  // a string result carries no number
      } else if (!scalar_value_ok_) {
        return fail("invalid sample value");
      } else if (out.result_type == ResultType::kNone) {
        out.result_type = ResultType::kScalar;
      }
    } else if (out.result_type == ResultType::kScalar || out.result_type == ResultType::kString) {
      if (series_ > 0) return fail("resultType does not match the result");
    }
    return true;
  }

  std::string_view s_;
  SampleHandler& handler_;
  std::vector<LabelView> labels_;          // of the series being read
  std::array<LabelView, 32> fast_labels_;  // of the series being read on the fast path
  std::array<char, 32> last_ts_text_{};    // the last timestamp parsed on the fast path, and its value
  std::size_t last_ts_size_ = last_ts_text_.size() + 1;
  double last_ts_ = 0;
  std::deque<std::string> label_storage_;  // decoded escaped label strings (stable addresses)
  std::string key_storage_;                // a decoded escaped key
  std::size_t series_ = 0;                 // series handed to the handler
  std::size_t i_ = 0;
  std::string err_;
  std::size_t err_at_ = 0;
  std::string scratch_;
  bool scalar_form_ = false;
  bool scalar_value_ok_ = true;
};

}  // namespace detail

SeriesReader::SeriesReader(SampleHandler& handler) : reader_(std::make_unique<detail::Reader>("", handler)) {}
SeriesReader::~SeriesReader() = default;

SeriesReader::Outcome SeriesReader::read(std::string_view text, bool final, std::size_t& consumed, ParseError& error) {
  if (reader_->run_series(text, consumed, error)) return Outcome::kSeries;
  // A series cut by the end of the text fails at (or a few bytes before: a literal, a \u escape) that
  // end; any other failure is in bytes already there and stays whatever follows.
  if (!final && error.offset + kSeriesReadMargin >= text.size()) return Outcome::kNeedMore;
  return Outcome::kError;
}

std::size_t SeriesReader::series() const { return reader_->series(); }

std::optional<ResponseHeader> parse_response_stream(std::string_view body, SampleHandler& handler, ParseError* error,
                                                    std::size_t series_before) {
  return detail::Reader(body, handler).run(error, series_before);
}

std::string ParseError::to_string() const {
  return "invalid Prometheus response at byte " + std::to_string(offset) + ": " + message;
}

std::optional<double> parse_sample_value(std::string_view text) {
  if (text.empty()) return std::nullopt;
  if (text[0] >= '0' && text[0] <= '9') {  // the common case first: a plain decimal
    double v = 0;
    if (parse_plain_decimal(text.data(), text.data() + text.size(), v)) return v;
  }
  if (text == "NaN") return std::numeric_limits<double>::quiet_NaN();
  if (text == "+Inf" || text == "Inf") return std::numeric_limits<double>::infinity();
  if (text == "-Inf") return -std::numeric_limits<double>::infinity();
  const char* first = text.data();
  const char* last = text.data() + text.size();
  if (*first == '+') ++first;
  if (first == last) return std::nullopt;
  // from_chars also accepts "inf"/"nan" spellings Prometheus never sends; require a digit or '.'.
  const char lead = *first == '-' && first + 1 < last ? first[1] : *first;
  if (!((lead >= '0' && lead <= '9') || lead == '.')) return std::nullopt;
  double v = 0;
  if (parse_plain_decimal(first, last, v)) return v;
  auto [ptr, ec] = std::from_chars(first, last, v);
  if (ec == std::errc::result_out_of_range) {
    // Underflow to 0 or overflow to +-Inf, as strconv.ParseFloat does.
    bool negative = *first == '-';
    bool tiny = false;
    for (const char* p = first; p < last; ++p)
      if (*p == 'e' || *p == 'E') tiny = p + 1 < last && p[1] == '-';
    if (tiny) return negative ? -0.0 : 0.0;
    return negative ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
  }
  if (ec != std::errc() || ptr != last) return std::nullopt;
  return v;
}

std::optional<ResponseHeader> parse_response_stream(std::string_view body, SampleHandler& handler, ParseError* error) {
  return detail::Reader(body, handler).run(error);
}

void SampleCollector::on_sample(const SampleView& s) {
  Sample out;
  out.labels.reserve(s.labels.size());
  for (const auto& l : s.labels) out.labels.emplace_back(std::string(l.name), std::string(l.value));
  out.value = s.value;
  out.timestamp = s.timestamp;
  samples_.push_back(std::move(out));
}

QueryResponse SampleCollector::into_response(ResponseHeader header) {
  QueryResponse out;
  out.success = header.success;
  out.error_type = std::move(header.error_type);
  out.error = std::move(header.error);
  out.warnings = std::move(header.warnings);
  out.result_type = header.result_type;
  out.samples = std::move(samples_);
  if (header.scalar) out.samples.push_back(Sample{{}, header.scalar->value, header.scalar->timestamp});
  samples_.clear();
  return out;
}

std::optional<QueryResponse> parse_response(std::string_view body, ParseError* error) {
  SampleCollector collector;
  auto header = parse_response_stream(body, collector, error);
  if (!header) return std::nullopt;
  return collector.into_response(std::move(*header));
}

}  // namespace wva::prometheus
