#include "chunked_parser.h"

#include <algorithm>
#include <utility>

namespace wva::prometheus {
namespace {

bool is_ws(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

// Deeper than the whole-body parser accepts (it refuses at kMaxDepth), so that one decides.
constexpr std::size_t kMaxLevels = 2 * static_cast<std::size_t>(kMaxDepth) + 8;

}  // namespace

ChunkedResponseParser::ChunkedResponseParser(SampleHandler& handler) : handler_(handler), series_(handler) {}

bool ChunkedResponseParser::fail(std::size_t offset, std::string message) {
  if (!error_) error_ = ParseError{offset, std::move(message)};
  return false;
}

bool ChunkedResponseParser::feed(std::string_view bytes) {
  if (error_) return false;
  total_ += bytes.size();
  // A series cut by the previous chunk: complete it from the front of this one, in pieces, so that only
  // about that series is copied, not the chunk.
  std::size_t piece = 512;
  while (!pending_.empty() && !bytes.empty()) {
    const std::size_t n = std::min(bytes.size(), std::max(piece, wait_for_));
    pending_.append(bytes.substr(0, n));
    bytes.remove_prefix(n);
    piece *= 2;
    const std::size_t used = process(pending_, pending_base_, false);
    pending_.erase(0, used);
    pending_base_ += used;
    max_held_ = std::max(max_held_, held());
    if (error_) return false;
  }
  if (!bytes.empty()) {
    // Straight from the chunk; only its unread tail is kept.
    const std::size_t used = process(bytes, pending_base_, false);
    pending_.assign(bytes.substr(used));
    pending_base_ += used;
  }
  max_held_ = std::max(max_held_, held());
  return !error_;
}

std::optional<ResponseHeader> ChunkedResponseParser::finish(ParseError* error) {
  if (!error_) {
    wait_for_ = 0;
    const std::size_t used = process(pending_, pending_base_, true);
    pending_.erase(0, used);
    pending_base_ += used;
  }
  if (!error_ && !pending_.empty()) fail(pending_base_, "unexpected end of input");
  if (error_) {
    if (error) *error = *error_;
    return std::nullopt;
  }
  // The offsets of errors found now are in the body without its streamed series.
  return parse_response_stream(skeleton_, handler_, error, series_.series());
}

std::size_t ChunkedResponseParser::process(std::string_view data, std::size_t base, bool final) {
  std::size_t pos = 0;
  while (pos < data.size()) {
    Level* top = levels_.empty() ? nullptr : &levels_.back();
    if (!top || !top->streams || in_string_) {
      skeleton_byte(data[pos++]);
      if (levels_.size() > kMaxLevels) {
        fail(base + pos - 1, "nesting too deep");
        return pos;
      }
      continue;
    }
    // Between the series of data.result.
    const char c = data[pos];
    if (is_ws(c)) {
      ++pos;
      continue;
    }
    if (c == '{' && top->between != Between::kAfterSeries) {
      const std::string_view rest = data.substr(pos);
      if (!final && rest.size() < wait_for_) return pos;  // a cut series: wait for enough new bytes
      std::size_t consumed = 0;
      ParseError err;
      switch (series_.read(rest, final, consumed, err)) {
        case SeriesReader::Outcome::kSeries:
          pos += consumed;
          top->between = Between::kAfterSeries;
          wait_for_ = 0;
          continue;
        case SeriesReader::Outcome::kNeedMore:
          // Read it again once it has doubled: a long series costs linear time, not quadratic.
          wait_for_ = 2 * rest.size();
          return pos;
        case SeriesReader::Outcome::kError: fail(base + pos + err.offset, err.message); return pos;
      }
    }
    if (top->between == Between::kStart) {
      // Not a series object (a scalar or string pair): the whole-body parser reads this result.
      top->streams = false;
      continue;
    }
    if (top->between == Between::kAfterSeries && c == ',') {
      top->between = Between::kAfterComma;
      ++pos;
      continue;
    }
    if (top->between == Between::kAfterSeries && c == ']') {
      ++pos;
      skeleton_byte(']');
      continue;
    }
    fail(base + pos, top->between == Between::kAfterComma ? "expected '{'" : "expected ',' or ']'");
    return pos;
  }
  return pos;
}

void ChunkedResponseParser::skeleton_byte(char c) {
  skeleton_.push_back(c);
  if (in_string_) {
    if (escape_) {
      escape_ = false;
      if (reading_key_) levels_.back().key_raw = false;
    } else if (c == '\\') {
      escape_ = true;
    } else if (c == '"') {
      in_string_ = false;
      reading_key_ = false;
    } else if (reading_key_) {
      Level& l = levels_.back();
      if (l.key.size() < kMaxKey) l.key.push_back(c);
      else l.key_raw = false;
    }
    return;
  }
  if (is_ws(c)) return;
  Level* top = levels_.empty() ? nullptr : &levels_.back();
  const bool value_start = value_next_;
  value_next_ = false;
  if (top && top->kind == '{' && top->expect_key && c == '"') {
    top->expect_key = false;
    top->key.clear();
    top->key_raw = true;
    in_string_ = reading_key_ = true;
    return;
  }
  switch (c) {
    case '"': in_string_ = true; return;
    case ',':
      if (top && top->kind == '{') top->expect_key = true;
      return;
    case ':':
      if (top && top->kind == '{') {
        value_next_ = true;
        value_key_ = top->key;
        value_key_raw_ = top->key_raw;
      }
      return;
    case '{':
    case '[': {
      Level next;
      next.kind = c;
      next.expect_key = c == '{';
      if (value_start && value_key_raw_) {
        const std::size_t depth = levels_.size();
        next.is_data = c == '{' && depth == 1 && value_key_ == "data";
        next.streams = c == '[' && depth == 2 && levels_[1].is_data && value_key_ == "result";
      }
      levels_.push_back(std::move(next));
      return;
    }
    case '}':
    case ']':
      if (!levels_.empty()) levels_.pop_back();
      return;
    default: return;  // numbers, literals; the whole-body parser checks them
  }
}

}  // namespace wva::prometheus
