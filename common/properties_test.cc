#include "common/properties.h"

#include <gtest/gtest.h>

namespace ordering {
namespace {

TEST(Properties, ParsesKeyValuesCommentsAndSeparators) {
  Properties props;
  ASSERT_TRUE(ParseProperties("# comment\n! also\n\nbatch.size=131072\n linger.ms : 25 \n"
                              "compression.type=none\nbatch.size=65536\n",
                              "t", &props)
                  .ok());
  ASSERT_EQ(props.size(), 4u);
  EXPECT_EQ(props[1].key, "linger.ms");
  EXPECT_EQ(props[1].value, "25");
  EXPECT_EQ(props[1].origin, "t:5");
  EXPECT_EQ(GetProperty(props, "batch.size"), "65536");  // last one wins
  EXPECT_EQ(GetProperty(props, "acks", "all"), "all");
}

TEST(Properties, RejectsLinesItCannotRead) {
  Properties props;
  Status st = ParseProperties("batch.size=1\nnonsense line\n", "p.properties", &props);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("p.properties:2"), std::string::npos) << st.ToString();
  EXPECT_FALSE(ParseProperties("a=1 \\\n", "p", &props).ok());
  EXPECT_FALSE(ParseProperties("=1\n", "p", &props).ok());
  EXPECT_FALSE(ParsePropertyOverride("linger.ms", "--producer-prop", &props).ok());
}

TEST(Properties, MissingFileIsAnIOError) {
  Properties props;
  EXPECT_TRUE(LoadPropertiesFile("/nonexistent/x.properties", &props).IsIOError());
}

}  // namespace
}  // namespace ordering
