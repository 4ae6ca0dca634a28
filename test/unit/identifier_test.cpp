#include <string>

#include <gtest/gtest.h>

#include "../../src/core/identifier.hpp"

using namespace tenancy::core;

TEST(QuoteIdentifier, AlwaysQuotes) {
    EXPECT_EQ(quote_identifier("org_1"), "\"org_1\"");
    EXPECT_EQ(quote_identifier("select"), "\"select\"");
    EXPECT_EQ(quote_identifier("Mixed"), "\"Mixed\"");
}

TEST(QuoteIdentifier, DoublesQuotes) {
    EXPECT_EQ(quote_identifier("a\"b"), "\"a\"\"b\"");
    EXPECT_EQ(quote_identifier("\""), "\"\"\"\"");
}

TEST(QuoteIdentifier, BackslashesNeedNothing) {
    EXPECT_EQ(quote_identifier("a\\b"), "\"a\\b\"");
}

TEST(QuoteIdentifier, EmptyAndNul) {
    EXPECT_EQ(quote_identifier(""), "\"\"");
    EXPECT_EQ(quote_identifier(std::string_view("a\0b", 3)), std::string("\"a\0b\"", 5));
}

TEST(QuoteIdentifier, MultibyteIsKeptByteForByte) {
    EXPECT_EQ(quote_identifier("caf\xC3\xA9"), "\"caf\xC3\xA9\"");
}

TEST(QuoteLiteral, DoublesQuotes) {
    EXPECT_EQ(quote_literal("it's"), "'it''s'");
    EXPECT_EQ(quote_literal(""), "''");
}

TEST(QuoteLiteral, BackslashesMakeAnEscapeString) {
    EXPECT_EQ(quote_literal("a\\b"), "E'a\\\\b'");
    EXPECT_EQ(quote_literal("\\'"), "E'\\\\'''");
}
