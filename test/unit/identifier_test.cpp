#include <string>
#include <vector>

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

// ---- text_array_literal: the text of a text[] value ------------------------

TEST(TextArrayLiteral, EmptyArray) { EXPECT_EQ(text_array_literal({}), "{}"); }

TEST(TextArrayLiteral, EveryElementIsQuoted) {
    EXPECT_EQ(text_array_literal({"a"}), "{\"a\"}");
    EXPECT_EQ(text_array_literal({"a", "b"}), "{\"a\",\"b\"}");
    EXPECT_EQ(text_array_literal({"org_", ":id"}), "{\"org_\",\":id\"}");
}

TEST(TextArrayLiteral, EscapesQuotesAndBackslashes) {
    EXPECT_EQ(text_array_literal({"a", "b\"c"}), "{\"a\",\"b\\\"c\"}");
    EXPECT_EQ(text_array_literal({"a\\b"}), "{\"a\\\\b\"}");
    EXPECT_EQ(text_array_literal({"\""}), "{\"\\\"\"}");
    EXPECT_EQ(text_array_literal({"\\"}), "{\"\\\\\"}");
    EXPECT_EQ(text_array_literal({"\\\""}), "{\"\\\\\\\"\"}");
}

TEST(TextArrayLiteral, SingleQuotesNeedNothing) {
    // Quoting the literal for SQL is quote_literal()'s job.
    EXPECT_EQ(text_array_literal({"it's"}), "{\"it's\"}");
}

TEST(TextArrayLiteral, EmptyElements) {
    EXPECT_EQ(text_array_literal({""}), "{\"\"}");
    EXPECT_EQ(text_array_literal({"", ""}), "{\"\",\"\"}");
    EXPECT_EQ(text_array_literal({"", ":id", ""}), "{\"\",\":id\",\"\"}");
}

TEST(TextArrayLiteral, NullLookingTextStaysAString) {
    // Unquoted, NULL would be an SQL NULL element.
    EXPECT_EQ(text_array_literal({"NULL"}), "{\"NULL\"}");
    EXPECT_EQ(text_array_literal({"null"}), "{\"null\"}");
    EXPECT_EQ(text_array_literal({"NULL", "x"}), "{\"NULL\",\"x\"}");
}

TEST(TextArrayLiteral, DelimitersAndBracesInsideQuotes) {
    EXPECT_EQ(text_array_literal({"a,b"}), "{\"a,b\"}");
    EXPECT_EQ(text_array_literal({"{a}"}), "{\"{a}\"}");
    EXPECT_EQ(text_array_literal({"}", "{"}), "{\"}\",\"{\"}");
    EXPECT_EQ(text_array_literal({","}), "{\",\"}");
}

TEST(TextArrayLiteral, WhitespaceIsKept) {
    EXPECT_EQ(text_array_literal({" a "}), "{\" a \"}");
    EXPECT_EQ(text_array_literal({" "}), "{\" \"}");
    EXPECT_EQ(text_array_literal({"two\nlines"}), "{\"two\nlines\"}");
    EXPECT_EQ(text_array_literal({"\t\r\n"}), "{\"\t\r\n\"}");
}

TEST(TextArrayLiteral, MultibyteIsKeptByteForByte) {
    EXPECT_EQ(text_array_literal({"caf\xC3\xA9", "\xF0\x9F\x98\x80"}),
              "{\"caf\xC3\xA9\",\"\xF0\x9F\x98\x80\"}");
}

TEST(TextArrayLiteral, ManyElements) {
    std::vector<std::string> elements(1000, "x");
    std::string literal = text_array_literal(elements);
    EXPECT_EQ(literal.size(), 2 + 1000 * 3 + 999u);
    EXPECT_EQ(literal.substr(0, 9), "{\"x\",\"x\",");
    EXPECT_EQ(literal.substr(literal.size() - 5), ",\"x\"}");
}
