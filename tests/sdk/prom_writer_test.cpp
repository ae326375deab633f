// The Prometheus text writer against the exposition format's rules (format 0.0.4): what must be escaped
// in a label value and in HELP text, and how special floats are written.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "wva/sdk/util/prom_writer.h"

namespace wva::sdk::prom {
namespace {

TEST(PromWriter, LabelValueEscapesBackslashQuoteAndNewline) {
  EXPECT_EQ(escape_label_value(R"(a\b"c)"), R"(a\\b\"c)");
  EXPECT_EQ(escape_label_value("line1\nline2"), "line1\\nline2");
  EXPECT_EQ(escape_label_value("meta/llama-3.1-8b {x}"), "meta/llama-3.1-8b {x}");  // nothing else
  EXPECT_EQ(label("model_name", "a\"b"), "model_name=\"a\\\"b\"");
}

TEST(PromWriter, HelpEscapesBackslashAndNewlineButNotQuotes) {
  EXPECT_EQ(escape_help("C:\\path\nnext \"quoted\""), "C:\\\\path\\nnext \"quoted\"");
  Writer w;
  w.header("wva_x", "gauge", "two\nlines \\ here");
  EXPECT_EQ(w.text(), "# HELP wva_x two\\nlines \\\\ here\n# TYPE wva_x gauge\n");
}

TEST(PromWriter, SpecialFloatsAndExactValues) {
  EXPECT_EQ(format_value(std::numeric_limits<double>::quiet_NaN()), "NaN");
  EXPECT_EQ(format_value(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(format_value(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(format_value(3), "3");
  EXPECT_EQ(format_value(-0.5), "-0.5");
  EXPECT_EQ(std::stod(format_value(0.1)), 0.1);  // reads back exactly
  EXPECT_EQ(std::stod(format_value(1e-300)), 1e-300);
}

TEST(PromWriter, SamplesWithAndWithoutLabels) {
  Writer w;
  w.sample("up", "", 1);
  w.sample("wva_desired", label("variant", "v\n1") + "," + label("ns", "llm"), 2.5);
  EXPECT_EQ(w.take(), "up 1\nwva_desired{variant=\"v\\n1\",ns=\"llm\"} 2.5\n");
}

}  // namespace
}  // namespace wva::sdk::prom
