// NameTemplate: the manage_tenant name template (SPEC "Tenants managed by a
// table"). An element starting with ':' names a column (the rest, exactly as
// written); any other element is literal text; the tenant name is the
// concatenation, byte for byte.
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "../../src/core/error.hpp"
#include "../../src/core/name_template.hpp"

using namespace tenancy::core;

namespace {

using Elements = std::vector<std::optional<std::string>>;
using Values = std::vector<std::optional<std::string>>;
using Names = std::vector<std::string>;

// The SQLSTATE NameTemplate::parse() raises for the elements, or "" when it
// accepts them.
std::string parse_sqlstate(const Elements& elements) {
    try {
        NameTemplate::parse(elements);
        return "";
    } catch (const Error& e) {
        return e.sqlstate();
    }
}

// The error parse() raises; fails the test when it raises none.
Error parse_error(const Elements& elements) {
    try {
        NameTemplate::parse(elements);
    } catch (const Error& e) {
        return e;
    }
    ADD_FAILURE() << "NameTemplate::parse() raised no error";
    return Error("", "");
}

// The error render() raises; fails the test when it raises none.
Error render_error(const Elements& elements, const Values& values) {
    NameTemplate parsed = NameTemplate::parse(elements);
    try {
        parsed.render(values);
    } catch (const Error& e) {
        return e;
    }
    ADD_FAILURE() << "NameTemplate::render() raised no error";
    return Error("", "");
}

std::vector<std::string> columns_of(const Elements& elements) {
    return NameTemplate::parse(elements).columns();
}

std::string render(const Elements& elements, const Values& values) {
    return NameTemplate::parse(elements).render(values);
}

bool mentions(const Error& error, const std::string& text) {
    return std::string(error.what()).find(text) != std::string::npos;
}

}  // namespace

// ---- parse: accepted templates ---------------------------------------------

TEST(NameTemplateParse, LiteralAndColumn) {
    NameTemplate parsed = NameTemplate::parse({"org_", ":id"});
    ASSERT_EQ(parsed.parts().size(), 2u);
    EXPECT_FALSE(parsed.parts()[0].is_column);
    EXPECT_EQ(parsed.parts()[0].text, "org_");
    EXPECT_TRUE(parsed.parts()[1].is_column);
    EXPECT_EQ(parsed.parts()[1].text, "id");
}

TEST(NameTemplateParse, ColumnAlone) {
    NameTemplate parsed = NameTemplate::parse({":slug"});
    ASSERT_EQ(parsed.parts().size(), 1u);
    EXPECT_TRUE(parsed.parts()[0].is_column);
    EXPECT_EQ(parsed.parts()[0].text, "slug");
}

TEST(NameTemplateParse, PartsKeepTemplateOrderAndRepeats) {
    NameTemplate parsed = NameTemplate::parse({":a", "-", ":b", "-", ":a"});
    ASSERT_EQ(parsed.parts().size(), 5u);
    const bool expected_column[] = {true, false, true, false, true};
    const char* expected_text[] = {"a", "-", "b", "-", "a"};
    for (std::size_t i = 0; i < 5; i++) {
        EXPECT_EQ(parsed.parts()[i].is_column, expected_column[i]) << i;
        EXPECT_EQ(parsed.parts()[i].text, expected_text[i]) << i;
    }
}

TEST(NameTemplateParse, ColumnNameKeepsItsCase) {
    EXPECT_EQ(columns_of({":ID"}), Names{"ID"});
    EXPECT_EQ(columns_of({":OrgId"}), Names{"OrgId"});
}

TEST(NameTemplateParse, ColumnNameIsTakenExactlyAsWritten) {
    // Nothing is trimmed, folded or unquoted: the rest after the first ':' is
    // the column's name.
    EXPECT_EQ(columns_of({": id"}), Names{" id"});
    EXPECT_EQ(columns_of({":id "}), Names{"id "});
    EXPECT_EQ(columns_of({":\"id\""}), Names{"\"id\""});
    EXPECT_EQ(columns_of({":a:b"}), Names{"a:b"});
    EXPECT_EQ(columns_of({"::"}), Names{":"});
    EXPECT_EQ(columns_of({"::id"}), Names{":id"});
    EXPECT_EQ(columns_of({":caf\xC3\xA9"}), Names{"caf\xC3\xA9"});
    EXPECT_EQ(columns_of({":org id"}), Names{"org id"});
}

TEST(NameTemplateParse, ColonAfterTheFirstCharacterIsLiteral) {
    NameTemplate parsed = NameTemplate::parse({"a:b", ":id", "x:"});
    ASSERT_EQ(parsed.parts().size(), 3u);
    EXPECT_FALSE(parsed.parts()[0].is_column);
    EXPECT_EQ(parsed.parts()[0].text, "a:b");
    EXPECT_FALSE(parsed.parts()[2].is_column);
    EXPECT_EQ(parsed.parts()[2].text, "x:");
    EXPECT_EQ(parsed.columns(), Names{"id"});
}

TEST(NameTemplateParse, LeadingSpaceMakesALiteral) {
    NameTemplate parsed = NameTemplate::parse({" :x", ":id"});
    EXPECT_FALSE(parsed.parts()[0].is_column);
    EXPECT_EQ(parsed.parts()[0].text, " :x");
    EXPECT_EQ(parsed.columns(), Names{"id"});
}

TEST(NameTemplateParse, EmptyLiteralIsAllowed) {
    EXPECT_EQ(parse_sqlstate({"", ":id"}), "");
    EXPECT_EQ(parse_sqlstate({":id", ""}), "");
    EXPECT_EQ(parse_sqlstate({"", ":id", "", ""}), "");
    NameTemplate parsed = NameTemplate::parse({"", ":id"});
    ASSERT_EQ(parsed.parts().size(), 2u);
    EXPECT_FALSE(parsed.parts()[0].is_column);
    EXPECT_EQ(parsed.parts()[0].text, "");
}

TEST(NameTemplateParse, ManyElements) {
    Elements elements;
    for (int i = 0; i < 1000; i++) {
        elements.push_back("-");
        elements.push_back(":c" + std::to_string(i % 10));
    }
    NameTemplate parsed = NameTemplate::parse(elements);
    EXPECT_EQ(parsed.parts().size(), 2000u);
    EXPECT_EQ(parsed.columns().size(), 10u);
}

// ---- parse: refused templates ----------------------------------------------

TEST(NameTemplateParse, EmptyTemplateIsRefused) { EXPECT_EQ(parse_sqlstate({}), "22023"); }

TEST(NameTemplateParse, NullElementIsRefused) {
    EXPECT_EQ(parse_sqlstate({std::nullopt, ":id"}), "22004");
    EXPECT_EQ(parse_sqlstate({":id", std::nullopt}), "22004");
    EXPECT_EQ(parse_sqlstate({"org_", std::nullopt, ":id"}), "22004");
}

TEST(NameTemplateParse, TemplateOfOnlyNullIsANullError) {
    // ARRAY[NULL::text]: the NULL is what is wrong with it.
    EXPECT_EQ(parse_sqlstate({std::nullopt}), "22004");
}

TEST(NameTemplateParse, NullErrorGivesTheElementsPosition) {
    Error error = parse_error({"org_", ":id", std::nullopt});
    EXPECT_STREQ(error.sqlstate(), "22004");
    EXPECT_TRUE(mentions(error, "3")) << error.what();  // 1-based, as SQL arrays
}

TEST(NameTemplateParse, LoneColonIsRefused) {
    EXPECT_EQ(parse_sqlstate({":"}), "22023");
    EXPECT_EQ(parse_sqlstate({"org_", ":"}), "22023");
    // Even next to a valid column.
    EXPECT_EQ(parse_sqlstate({":id", ":"}), "22023");
    EXPECT_EQ(parse_sqlstate({":", ":id"}), "22023");
}

TEST(NameTemplateParse, LoneColonErrorHasAHint) {
    Error error = parse_error({"org_", ":"});
    EXPECT_STREQ(error.sqlstate(), "22023");
    EXPECT_FALSE(error.hint().empty());
}

TEST(NameTemplateParse, TemplateWithoutColumnIsRefused) {
    EXPECT_EQ(parse_sqlstate({"org"}), "22023");
    EXPECT_EQ(parse_sqlstate({""}), "22023");
    EXPECT_EQ(parse_sqlstate({"", ""}), "22023");
    EXPECT_EQ(parse_sqlstate({"org_", "1"}), "22023");
    EXPECT_EQ(parse_sqlstate({"a:b"}), "22023");
    EXPECT_EQ(parse_sqlstate({" :id"}), "22023");
}

TEST(NameTemplateParse, NoColumnErrorExplains) {
    Error error = parse_error({"org_", "1"});
    EXPECT_STREQ(error.sqlstate(), "22023");
    EXPECT_FALSE(error.hint().empty());
}

// ---- columns ---------------------------------------------------------------

TEST(NameTemplateColumns, InTemplateOrder) {
    EXPECT_EQ(columns_of({":b", "-", ":a"}), (Names{"b", "a"}));
    EXPECT_EQ(columns_of({"x", ":region", "_", ":id", "_"}), (Names{"region", "id"}));
}

TEST(NameTemplateColumns, EachColumnOnce) {
    EXPECT_EQ(columns_of({":a", "-", ":a"}), Names{"a"});
    EXPECT_EQ(columns_of({":a", ":b", ":a", ":c", ":b"}), (Names{"a", "b", "c"}));
}

TEST(NameTemplateColumns, OrderIsFirstAppearance) {
    EXPECT_EQ(columns_of({":b", ":a", ":b"}), (Names{"b", "a"}));
    EXPECT_EQ(columns_of({":a", ":b", ":b", ":a"}), (Names{"a", "b"}));
}

TEST(NameTemplateColumns, CaseMatters) {
    EXPECT_EQ(columns_of({":id", ":ID", ":Id"}), (Names{"id", "ID", "Id"}));
}

TEST(NameTemplateColumns, LiteralsAreNotColumns) {
    EXPECT_EQ(columns_of({"id", ":id", "id"}), Names{"id"});
}

// ---- render ----------------------------------------------------------------

TEST(NameTemplateRender, SpecExample) {
    EXPECT_EQ(render({"org_", ":id"}, {"10"}), "org_10");
}

TEST(NameTemplateRender, ValuesFollowColumnsOrder) {
    Elements elements{":b", "-", ":a"};
    ASSERT_EQ(columns_of(elements), (Names{"b", "a"}));
    EXPECT_EQ(render(elements, {"B", "A"}), "B-A");
}

TEST(NameTemplateRender, RepeatedColumnRepeatsItsValue) {
    EXPECT_EQ(render({":a", "-", ":a"}, {"x"}), "x-x");
    EXPECT_EQ(render({":a", ":b", ":a", ":b"}, {"1", "2"}), "1212");
    EXPECT_EQ(render({":b", "_", ":a", "_", ":b"}, {"B", "A"}), "B_A_B");
}

TEST(NameTemplateRender, EmptyLiteralAddsNothing) {
    EXPECT_EQ(render({"", ":id", ""}, {"7"}), "7");
    EXPECT_EQ(render({"org", "", "_", ":id"}, {"7"}), "org_7");
}

TEST(NameTemplateRender, ColonsInLiteralsAreKept) {
    EXPECT_EQ(render({"a:b", ":id", "x:"}, {"1"}), "a:b1x:");
}

TEST(NameTemplateRender, EmptyValueIsNotNull) {
    EXPECT_EQ(render({"org_", ":id"}, {""}), "org_");
    EXPECT_EQ(render({":id"}, {""}), "");
}

TEST(NameTemplateRender, ValuesAreKeptByteForByte) {
    // The rendered name is checked against the name rules elsewhere, not here.
    EXPECT_EQ(render({"org_", ":name"}, {"caf\xC3\xA9"}), "org_caf\xC3\xA9");
    EXPECT_EQ(render({":name"}, {"\xF0\x9F\x98\x80"}), "\xF0\x9F\x98\x80");
    EXPECT_EQ(render({":name"}, {"a\"b"}), "a\"b");
    EXPECT_EQ(render({":name"}, {"it's"}), "it's");
    EXPECT_EQ(render({":name"}, {"a\\b"}), "a\\b");
    EXPECT_EQ(render({":name"}, {"with space"}), "with space");
    EXPECT_EQ(render({":name"}, {"two\nlines"}), "two\nlines");
    EXPECT_EQ(render({":name"}, {"NULL"}), "NULL");
    EXPECT_EQ(render({":name"}, {std::string("a\0b", 3)}), std::string("a\0b", 3));
}

TEST(NameTemplateRender, ValuesAreNotReadAsTemplates) {
    EXPECT_EQ(render({":a", ":b"}, {":b", "x"}), ":bx");
    EXPECT_EQ(render({":a"}, {"@tenant@"}), "@tenant@");
}

TEST(NameTemplateRender, LiteralsAreKeptByteForByte) {
    EXPECT_EQ(render({"caf\xC3\xA9-", ":id", "\"'\\"}, {"1"}), "caf\xC3\xA9-1\"'\\");
}

TEST(NameTemplateRender, VeryLongValuesAreKept) {
    std::string long_value(1 << 20, 'x');
    std::string rendered = render({"org_", ":id", "-", ":id"}, {long_value});
    EXPECT_EQ(rendered.size(), 4 + long_value.size() * 2 + 1);
    EXPECT_EQ(rendered, "org_" + long_value + "-" + long_value);
}

TEST(NameTemplateRender, SameTemplateRendersManyRows) {
    NameTemplate parsed = NameTemplate::parse({"org_", ":id"});
    EXPECT_EQ(parsed.render({"1"}), "org_1");
    EXPECT_EQ(parsed.render({"2"}), "org_2");
    EXPECT_EQ(parsed.render({"1"}), "org_1");
}

TEST(NameTemplateRender, NullValueIsRefused) {
    Error error = render_error({"org_", ":id"}, {std::nullopt});
    EXPECT_STREQ(error.sqlstate(), "22004");
}

TEST(NameTemplateRender, NullErrorNamesTheColumn) {
    Error error = render_error({"org_", ":region", "_", ":OrgId"}, {"eu", std::nullopt});
    EXPECT_STREQ(error.sqlstate(), "22004");
    EXPECT_TRUE(mentions(error, "OrgId")) << error.what();
    EXPECT_FALSE(mentions(error, "region")) << error.what();
}

TEST(NameTemplateRender, NullErrorNamesTheFirstNullColumn) {
    Error error = render_error({":a", ":b", ":c"}, {"1", std::nullopt, std::nullopt});
    EXPECT_STREQ(error.sqlstate(), "22004");
    EXPECT_TRUE(mentions(error, "\"b\"")) << error.what();
}

TEST(NameTemplateRender, NullInARepeatedColumnIsRefused) {
    Error error = render_error({":a", "-", ":b", "-", ":a"}, {std::nullopt, "x"});
    EXPECT_STREQ(error.sqlstate(), "22004");
    EXPECT_TRUE(mentions(error, "\"a\"")) << error.what();
}

TEST(NameTemplateRender, TooFewValuesIsAnInternalError) {
    EXPECT_STREQ(render_error({":a", ":b"}, {"1"}).sqlstate(), "XX000");
    EXPECT_STREQ(render_error({":a"}, {}).sqlstate(), "XX000");
}

TEST(NameTemplateRender, TooManyValuesIsAnInternalError) {
    EXPECT_STREQ(render_error({":a"}, {"1", "2"}).sqlstate(), "XX000");
    // A repeated column takes one value, not one per occurrence.
    EXPECT_STREQ(render_error({":a", "-", ":a"}, {"1", "1"}).sqlstate(), "XX000");
}
