// Bounded YAML reading for text from outside (manifests, pipelines.yaml, ConfigMap values): the one
// YAML -> JSON conversion of the host and the plugins. Built on libyaml's event API (the C reference
// parser, no recursion), it counts nesting depth, nodes and bytes while it builds the tree, aliases
// expanded, so no document can exhaust the stack or memory, and every malformed document is an error with
// its line and column. Not part of the plugin contract: a utility plugins may use (link libyaml).
#pragma once

#include <yaml.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "wva/sdk/result.h"

namespace wva::sdk::yaml {

// Bounds on one stream (all its documents together), aliases expanded.
struct Limits {
  // Deepest nesting of mappings and lists. Kubernetes objects nest about 15 deep.
  std::size_t max_depth = 128;
  // Nodes (scalars, nulls, lists, mappings; a mapping's scalar keys are counted as text) the stream
  // produces once aliases are expanded: a 541-byte "billion laughs" expands to 10^9.
  std::size_t max_nodes = 1'000'000;
  // Bytes of scalar text (keys included) the stream produces once aliases are expanded, and the size of
  // the text itself.
  std::size_t max_bytes = 16u << 20;
};

namespace detail {
struct NodeTree;
}

// A YAML node: null, scalar, sequence or mapping, with where it starts. A default-constructed node is
// undefined (a key that is not there). Aliases share the node they point to.
class Node {
 public:
  enum class Type { kUndefined, kNull, kScalar, kSequence, kMapping };
  struct Mark {
    std::size_t line = 0;  // 1-based; 0 when unknown
    std::size_t column = 0;
  };

  Node() = default;
  // A null node, as an empty document reads.
  static Node null() { return Node(std::make_shared<Data>()); }

  Type type() const { return data_ ? data_->type : Type::kUndefined; }
  explicit operator bool() const { return defined(); }
  bool defined() const { return data_ != nullptr; }
  bool is_null() const { return type() == Type::kNull; }
  bool is_scalar() const { return type() == Type::kScalar; }
  bool is_sequence() const { return type() == Type::kSequence; }
  bool is_mapping() const { return type() == Type::kMapping; }
  // "nothing", "null", "a scalar", "a list", "a mapping": for error messages.
  const char* type_name() const {
    switch (type()) {
      case Type::kUndefined: return "nothing";
      case Type::kNull: return "null";
      case Type::kScalar: return "a scalar";
      case Type::kSequence: return "a list";
      case Type::kMapping: return "a mapping";
    }
    return "unknown";
  }

  // The text as written (also for null: "", "~", "null"); empty for collections.
  const std::string& scalar() const { return data_ ? data_->text : empty_string(); }
  // Plain: neither quoted nor a block scalar, and untagged. Only plain scalars are typed (42 is a number,
  // "42" a string).
  bool plain() const { return data_ && data_->plain; }
  // The explicit tag, resolved ("tag:yaml.org,2002:int" for !!int); empty when there is none.
  const std::string& tag() const { return data_ ? data_->tag : empty_string(); }
  Mark mark() const { return data_ ? data_->mark : Mark{}; }

  // Items of a list, entries of a mapping in file order (duplicate keys included): empty otherwise.
  const std::vector<Node>& items() const { return data_ ? data_->items : empty_items(); }
  const std::vector<std::pair<Node, Node>>& entries() const { return data_ ? data_->entries : empty_entries(); }
  std::size_t size() const { return is_mapping() ? entries().size() : items().size(); }

  // The value of the first entry whose key is the scalar `key`; undefined when there is none.
  Node operator[](std::string_view key) const {
    for (const auto& [k, v] : entries())
      if ((k.is_scalar() || k.is_null()) && k.scalar() == key) return v;
    return {};
  }
  Node operator[](std::size_t index) const { return index < items().size() ? items()[index] : Node(); }

 private:
  friend struct detail::NodeTree;
  struct Data {
    Type type = Type::kNull;
    bool plain = false;
    Mark mark;
    std::string text;
    std::string tag;
    std::vector<Node> items;
    std::vector<std::pair<Node, Node>> entries;
  };
  explicit Node(std::shared_ptr<Data> data) : data_(std::move(data)) {}
  static const std::string& empty_string() {
    static const std::string kEmpty;
    return kEmpty;
  }
  static const std::vector<Node>& empty_items() {
    static const std::vector<Node> kEmpty;
    return kEmpty;
  }
  static const std::vector<std::pair<Node, Node>>& empty_entries() {
    static const std::vector<std::pair<Node, Node>> kEmpty;
    return kEmpty;
  }
  Data* mutable_data() const { return data_.get(); }

  std::shared_ptr<Data> data_;
};

// Why a stream was refused.
struct ParseError {
  std::string message;       // what, without where: "did not find expected key (while parsing a block mapping)"
  std::size_t document = 0;  // 1-based document of the stream; 0 before the first
  std::size_t line = 0;      // 1-based; 0 when unknown
  std::size_t column = 0;
  bool over_limit = false;  // a Limits bound, not a syntax error
  // Where in the document it happened: keys and list indexes ("[3]") from the root down, e.g.
  // {"sources", "prom", "bomb", "[2]"}; empty at the root or when unknown.
  std::vector<std::string> path;

  // The path joined: "sources.prom.bomb[2]".
  std::string path_string(std::size_t max_segments = SIZE_MAX) const {
    std::string out;
    for (std::size_t i = 0; i < path.size() && i < max_segments; ++i)
      out += (out.empty() || path[i].front() == '[' ? "" : ".") + path[i];
    return out;
  }

  // "line 3, column 5: message" (or just the message when there is no position).
  std::string to_string() const {
    if (line == 0) return message;
    return "line " + std::to_string(line) + ", column " + std::to_string(column) + ": " + message;
  }
  // "source:3:5: message" for a syntax error, "source[doc 2]: message" for a limit.
  std::string located(std::string_view source) const {
    std::string where(source);
    if (over_limit) {
      if (document > 0) where += "[doc " + std::to_string(document) + "]";
    } else if (line > 0) {
      where += ":" + std::to_string(line) + ":" + std::to_string(column);
    }
    return where + ": " + message;
  }
};

// The documents of a stream, or why it was refused (then `documents` is empty).
struct Stream {
  std::vector<Node> documents;
  std::optional<ParseError> error;
  bool ok() const { return !error.has_value(); }
};

// A plain scalar's JSON value when it reads as one (YAML 1.1/1.2 core schema as Kubernetes YAML uses
// it): true/True/TRUE, false/False/FALSE, decimal integers that fit 64 bits, finite decimal floats
// (1.5, -2e3). Anything else (yes/no, hex, .inf) stays text.
inline std::optional<nlohmann::json> plain_scalar_value(const std::string& s) {
  if (s == "true" || s == "True" || s == "TRUE") return nlohmann::json(true);
  if (s == "false" || s == "False" || s == "FALSE") return nlohmann::json(false);
  if (s.empty()) return std::nullopt;
  {
    const std::size_t first = (s[0] == '-' || s[0] == '+') ? 1 : 0;
    bool digits = first < s.size();
    for (std::size_t j = first; j < s.size(); ++j)
      if (s[j] < '0' || s[j] > '9') digits = false;
    if (digits) {
      errno = 0;
      char* end = nullptr;
      const long long v = std::strtoll(s.c_str(), &end, 10);
      if (errno == 0 && end == s.c_str() + s.size()) return nlohmann::json(v);
    }
  }
  {
    bool has_digit = false, ok = true;
    for (const char c : s) {
      if (c >= '0' && c <= '9') has_digit = true;
      else if (c != '.' && c != 'e' && c != 'E' && c != '-' && c != '+') ok = false;
    }
    if (ok && has_digit) {
      errno = 0;
      char* end = nullptr;
      const double v = std::strtod(s.c_str(), &end);
      if (errno == 0 && end == s.c_str() + s.size() && std::isfinite(v)) return nlohmann::json(v);
    }
  }
  return std::nullopt;
}

// The documents of a stream as JSON (to_json of each document of load_all), or why it was refused.
struct JsonStream {
  std::vector<nlohmann::json> documents;
  std::optional<ParseError> error;
  bool ok() const { return !error.has_value(); }
};

namespace detail {

// A scalar as the loader reads it from a libyaml event.
struct ScalarEvent {
  std::string text;
  std::string tag;  // resolved; empty when there is none
  bool plain = false;
  bool null = false;  // plain null text (empty, ~, null, Null, NULL) or tagged !!null
  Node::Mark mark;
};

// A (non-null) scalar's JSON value: a plain (or !!int/!!float/!!bool-tagged) one that reads as a number
// or a boolean is one, anything else its text.
inline nlohmann::json scalar_json(const std::string& text, const std::string& tag, bool plain) {
  if (plain)
    if (auto v = plain_scalar_value(text)) return *v;
  if (tag == "tag:yaml.org,2002:int" || tag == "tag:yaml.org,2002:float" || tag == "tag:yaml.org,2002:bool")
    if (auto v = plain_scalar_value(text)) return *v;
  return text;
}

// What the loader builds: Node trees (marks, tags, duplicate keys kept)...
struct NodeTree {
  using Value = Node;
  static Value scalar(ScalarEvent&& s, bool /*key*/) {
    auto data = std::make_shared<Node::Data>();
    data->type = s.null ? Node::Type::kNull : Node::Type::kScalar;
    data->plain = s.plain;
    data->mark = s.mark;
    data->text = std::move(s.text);
    data->tag = std::move(s.tag);
    return Node(std::move(data));
  }
  static Value collection(bool sequence, std::string tag, Node::Mark mark) {
    auto data = std::make_shared<Node::Data>();
    data->type = sequence ? Node::Type::kSequence : Node::Type::kMapping;
    data->tag = std::move(tag);
    data->mark = mark;
    return Node(std::move(data));
  }
  static void add_item(Value& sequence, Value&& item) { sequence.data_->items.push_back(std::move(item)); }
  static void add_entry(Value& mapping, Value&& key, Value&& value) {
    mapping.data_->entries.emplace_back(std::move(key), std::move(value));
  }
};

// ... or JSON directly (to_json of the Node tree, without building it): a later duplicate key wins.
struct JsonTree {
  using Value = nlohmann::json;
  static Value scalar(ScalarEvent&& s, bool key) {
    if (key) return std::move(s.text);  // a key is its text
    if (s.null) return nullptr;
    return scalar_json(s.text, s.tag, s.plain);
  }
  static Value collection(bool sequence, const std::string&, Node::Mark) {
    return sequence ? nlohmann::json::array() : nlohmann::json::object();
  }
  static void add_item(Value& sequence, Value&& item) { sequence.push_back(std::move(item)); }
  static void add_entry(Value& mapping, Value&& key, Value&& value) {
    mapping[key.get_ref<const std::string&>()] = std::move(value);
  }
};

// Builds the documents of a stream from libyaml's events with an explicit stack, counting depth, nodes
// and bytes (aliases expanded) against the Limits.
template <class Tree>
class Loader {
 public:
  using Value = typename Tree::Value;
  struct Result {
    std::vector<Value> documents;
    std::optional<ParseError> error;
  };

  explicit Loader(const Limits& limits) : limits_(limits) {}

  Result load(std::string_view text) {
    text_ = text;
    Result out;
    if (text.size() > limits_.max_bytes) {
      out.error = ParseError{"the text is " + std::to_string(text.size()) + " bytes, more than the limit of " +
                                 std::to_string(limits_.max_bytes),
                             0,
                             0,
                             0,
                             true,
                             {}};
      return out;
    }
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
      out.error = ParseError{"out of memory starting the YAML parser", 0, 0, 0, false, {}};
      return out;
    }
    yaml_parser_set_input_string(&parser, reinterpret_cast<const unsigned char*>(text.data()), text.size());
    bool done = false;
    while (!done && !error_) {
      yaml_event_t event;
      if (!yaml_parser_parse(&parser, &event)) {
        syntax_error(parser);
        break;
      }
      done = event.type == YAML_STREAM_END_EVENT;
      on_event(event, out.documents);
      yaml_event_delete(&event);
    }
    yaml_parser_delete(&parser);
    if (error_) {
      out.documents.clear();
      out.error = std::move(error_);
    }
    return out;
  }

 private:
  // What a finished value counts for when an alias repeats it.
  struct Extent {
    unsigned height = 0;    // levels of collections, this one included (0 for a scalar)
    std::size_t nodes = 0;  // what it expands to, as counted against Limits
    std::size_t bytes = 0;
  };
  enum class Kind { kNull, kScalar, kCollection };
  struct Anchored {
    Value value;
    Extent extent;
    Kind kind = Kind::kNull;
    std::string text;  // a scalar's text (a key's text when the alias is a key)
  };
  struct Frame {
    Value value;
    bool sequence = false;
    std::string anchor;
    std::size_t nodes_at_start = 0;
    std::size_t bytes_at_start = 0;
    unsigned height = 1;
    std::size_t items = 0;     // a sequence's items so far
    std::optional<Value> key;  // a mapping's key waiting for its value...
    std::string key_text;      // ... its text, and whether it is a scalar (not null), for error paths
    bool key_scalar = false;
  };

  static Node::Mark mark_of(const yaml_mark_t& m) { return {m.line + 1, m.column + 1}; }

  static std::string text_of(const yaml_char_t* s) { return s ? reinterpret_cast<const char*>(s) : std::string(); }

  void fail(std::string message, const yaml_mark_t& m, bool over_limit) {
    if (error_) return;
    error_ = ParseError{std::move(message), document_, m.line + 1, m.column + 1, over_limit, current_path()};
  }

  // Keys (scalars, at most 256 bytes each) and indexes from the root to the node being read.
  std::vector<std::string> current_path() const {
    std::vector<std::string> out;
    for (const auto& frame : stack_) {
      if (frame.sequence) out.push_back("[" + std::to_string(frame.items) + "]");
      else if (frame.key) out.push_back(frame.key_scalar ? frame.key_text.substr(0, 256) : "?");
    }
    return out;
  }

  void syntax_error(const yaml_parser_t& parser) {
    if (error_) return;
    std::string message = parser.problem ? parser.problem : "invalid YAML";
    if (parser.context) message += std::string(" (") + parser.context + ")";
    if (parser.error == YAML_MEMORY_ERROR) message = "out of memory in the YAML parser";
    // The document being read when the error came (the next one when it came between documents).
    const std::size_t document = document_ + (in_document_ ? 0 : 1);
    if (parser.error == YAML_READER_ERROR) {
      // The reader (encoding, control characters) reports a byte offset, not a mark.
      static constexpr char kHex[] = "0123456789abcdef";
      if (parser.problem_value >= 0 && parser.problem_value <= 0xff)
        message +=
            std::string(" (byte 0x") + kHex[(parser.problem_value >> 4) & 15] + kHex[parser.problem_value & 15] + ")";
      const std::size_t offset = std::min(parser.problem_offset, text_.size());
      const std::size_t line_start = text_.rfind('\n', offset == 0 ? 0 : offset - 1);
      const std::size_t line = 1 + static_cast<std::size_t>(std::count(text_.begin(), text_.begin() + offset, '\n'));
      const std::size_t column =
          1 + offset - (line_start == std::string_view::npos || offset == 0 ? 0 : line_start + 1);
      error_ = ParseError{std::move(message), document, line, column, false, {}};
      return;
    }
    const yaml_mark_t& m = parser.problem ? parser.problem_mark : parser.context_mark;
    error_ = ParseError{std::move(message), document, m.line + 1, m.column + 1, false, current_path()};
  }

  bool in_key_position() const { return !stack_.empty() && !stack_.back().sequence && !stack_.back().key; }

  // Counts `nodes` nodes and `bytes` bytes of text; false (and an error) past a limit.
  bool count(std::size_t nodes, std::size_t bytes, const yaml_mark_t& m) {
    nodes_ += nodes;
    bytes_ += bytes;
    if (nodes_ > limits_.max_nodes) {
      fail("expands to more than " + std::to_string(limits_.max_nodes) +
               " nodes (the limit; YAML aliases repeat what they point to)",
           m, true);
      return false;
    }
    if (bytes_ > limits_.max_bytes) {
      fail("expands to more than " + std::to_string(limits_.max_bytes) +
               " bytes of text (the limit; YAML aliases repeat what they point to)",
           m, true);
      return false;
    }
    return true;
  }

  bool check_depth(unsigned height, const yaml_mark_t& m) {
    if (stack_.size() + height > limits_.max_depth) {
      fail("nested deeper than " + std::to_string(limits_.max_depth) + " levels (the limit)", m, true);
      return false;
    }
    return true;
  }

  // A finished value goes into its parent (or becomes the document's root). `text` and `kind` are a
  // scalar's, for a key's error path.
  void attach(Value value, unsigned height, Kind kind, const std::string& text, std::vector<Value>& documents) {
    if (stack_.empty()) {
      documents.push_back(std::move(value));
      return;
    }
    Frame& parent = stack_.back();
    parent.height = std::max(parent.height, height + 1);
    if (parent.sequence) {
      Tree::add_item(parent.value, std::move(value));
      ++parent.items;
    } else if (!parent.key) {
      parent.key = std::move(value);
      parent.key_text = text;
      parent.key_scalar = kind == Kind::kScalar;
    } else {
      Tree::add_entry(parent.value, std::move(*parent.key), std::move(value));
      parent.key.reset();
    }
  }

  void on_event(const yaml_event_t& event, std::vector<Value>& documents) {
    switch (event.type) {
      case YAML_DOCUMENT_START_EVENT:
        ++document_;
        in_document_ = true;
        anchors_.clear();
        return;
      case YAML_DOCUMENT_END_EVENT: in_document_ = false; return;
      case YAML_SCALAR_EVENT: {
        const auto& e = event.data.scalar;
        ScalarEvent s;
        s.text.assign(reinterpret_cast<const char*>(e.value), e.length);
        s.tag = text_of(e.tag);
        s.plain = e.tag == nullptr && e.plain_implicit && e.style == YAML_PLAIN_SCALAR_STYLE;
        const std::string& t = s.text;
        s.null = (s.plain && (t.empty() || t == "~" || t == "null" || t == "Null" || t == "NULL")) ||
                 s.tag == "tag:yaml.org,2002:null";
        s.mark = mark_of(event.start_mark);
        // A scalar key is counted as text only (it is a JSON key, not a node).
        const bool key = in_key_position();
        const Extent extent{0, key ? 0u : 1u, s.null && !key ? 0 : t.size()};
        if (!count(extent.nodes, extent.bytes, event.start_mark)) return;
        const Kind kind = s.null ? Kind::kNull : Kind::kScalar;
        const std::string anchor = text_of(e.anchor);
        std::string text = key || !anchor.empty() ? s.text : std::string();
        if (!anchor.empty()) {
          ScalarEvent copy = s;
          // Anchored in key position, it is kept as a value too: an alias may repeat it as one.
          anchors_[anchor] = Anchored{Tree::scalar(std::move(copy), false), extent, kind, text};
        }
        attach(Tree::scalar(std::move(s), key), 0, kind, text, documents);
        return;
      }
      case YAML_SEQUENCE_START_EVENT:
      case YAML_MAPPING_START_EVENT: {
        const bool sequence = event.type == YAML_SEQUENCE_START_EVENT;
        if (in_key_position()) {
          fail(kCollectionKey, event.start_mark, false);
          return;
        }
        if (!check_depth(1, event.start_mark)) return;
        if (!count(1, 0, event.start_mark)) return;
        Frame frame;
        frame.value =
            Tree::collection(sequence, text_of(sequence ? event.data.sequence_start.tag : event.data.mapping_start.tag),
                             mark_of(event.start_mark));
        frame.sequence = sequence;
        frame.anchor = text_of(sequence ? event.data.sequence_start.anchor : event.data.mapping_start.anchor);
        frame.nodes_at_start = nodes_ - 1;
        frame.bytes_at_start = bytes_;
        stack_.push_back(std::move(frame));
        return;
      }
      case YAML_SEQUENCE_END_EVENT:
      case YAML_MAPPING_END_EVENT: {
        if (stack_.empty()) return;  // libyaml pairs them; defensive only
        Frame frame = std::move(stack_.back());
        stack_.pop_back();
        const Extent extent{frame.height, nodes_ - frame.nodes_at_start, bytes_ - frame.bytes_at_start};
        if (!frame.anchor.empty()) anchors_[frame.anchor] = Anchored{frame.value, extent, Kind::kCollection, {}};
        attach(std::move(frame.value), extent.height, Kind::kCollection, {}, documents);
        return;
      }
      case YAML_ALIAS_EVENT: {
        const std::string name = text_of(event.data.alias.anchor);
        const auto it = anchors_.find(name);
        if (it == anchors_.end()) {
          fail("unknown anchor \"" + name.substr(0, 64) + "\" (an alias must follow its anchor)", event.start_mark,
               false);
          return;
        }
        const Anchored& target = it->second;
        const bool key = in_key_position();
        if (key && target.kind == Kind::kCollection) {
          fail(kCollectionKey, event.start_mark, false);
          return;
        }
        if (!check_depth(target.extent.height, event.start_mark)) return;
        if (!count(target.extent.nodes, target.extent.bytes, event.start_mark)) return;
        Value value = target.value;  // a Node is shared, JSON copied
        if constexpr (std::is_same_v<Tree, JsonTree>)
          if (key) value = target.text;  // as a key, the scalar's text
        attach(std::move(value), target.extent.height, target.kind, target.text, documents);
        return;
      }
      default: return;
    }
  }

  static constexpr const char* kCollectionKey =
      "a mapping key must be a scalar (a list or mapping as a key has no JSON form; Kubernetes YAML has none)";

  const Limits& limits_;
  std::string_view text_;
  std::vector<Frame> stack_;
  std::map<std::string, Anchored> anchors_;
  std::size_t document_ = 0;
  bool in_document_ = false;
  std::size_t nodes_ = 0;
  std::size_t bytes_ = 0;
  std::optional<ParseError> error_;
};

}  // namespace detail

// Every document of a stream ("" has none), or the first error.
inline Stream load_all(std::string_view text, const Limits& limits = {}) {
  auto loaded = detail::Loader<detail::NodeTree>(limits).load(text);
  return Stream{std::move(loaded.documents), std::move(loaded.error)};
}

// Every document of a stream as JSON, or the first error: what to_json gives for each document of
// load_all (the same values, limits and errors), built without the Node trees, for bulk reading
// (a folder of manifests) where marks and the text of typed scalars are not needed.
inline JsonStream load_all_json(std::string_view text, const Limits& limits = {}) {
  auto loaded = detail::Loader<detail::JsonTree>(limits).load(text);
  return JsonStream{std::move(loaded.documents), std::move(loaded.error)};
}

// The first document (a null node when there is none; the whole stream is read and checked).
inline sdk::Result<Node> load(std::string_view text, const Limits& limits = {}) {
  Stream stream = load_all(text, limits);
  if (!stream.ok()) return sdk::make_error(sdk::ErrorCode::kInvalidConfig, stream.error->to_string());
  if (stream.documents.empty()) return Node::null();
  return std::move(stream.documents.front());
}

namespace detail {
// Recursion is bounded by the loader's depth limit (a tree deeper than Limits::max_depth is never built).
inline nlohmann::json to_json(const Node& node) {
  switch (node.type()) {
    case Node::Type::kUndefined:
    case Node::Type::kNull: return nullptr;
    case Node::Type::kScalar: return scalar_json(node.scalar(), node.tag(), node.plain());
    case Node::Type::kSequence: {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& item : node.items()) out.push_back(to_json(item));
      return out;
    }
    case Node::Type::kMapping: {
      nlohmann::json out = nlohmann::json::object();
      for (const auto& [key, value] : node.entries()) out[key.scalar()] = to_json(value);
      return out;
    }
  }
  return nullptr;
}
}  // namespace detail

// A node as JSON: plain scalars become bool / integer / float when they read as one (plain_scalar_value),
// null (unquoted ~, null, empty) stays null, quoted and block scalars stay strings ("42" is a string);
// keys are their text (the loader refuses a list or mapping as a key); a later duplicate key wins. Its
// size was bounded when the stream was loaded.
inline nlohmann::json to_json(const Node& node) { return detail::to_json(node); }

// The first document of a YAML (or JSON) text as JSON; null when there is none.
inline sdk::Result<nlohmann::json> load_json(std::string_view text, const Limits& limits = {}) {
  auto node = load(text, limits);
  if (!node.ok()) return node.error();
  return to_json(node.value());
}

}  // namespace wva::sdk::yaml
