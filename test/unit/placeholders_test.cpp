// substitute_tenant: the @tenant@ placeholder of migration texts (SPEC
// "Tenant migrations": replaced by the quoted tenant identifier, as
// @extschema@ is in extension scripts).
#include <string>

#include <gtest/gtest.h>

#include "../../src/core/identifier.hpp"
#include "../../src/core/error.hpp"
#include "../../src/core/placeholders.hpp"

using namespace tenancy::core;

namespace {

// The text with @tenant@ replaced for tenant org_1.
std::string sub(std::string_view sql) { return substitute_tenant(sql, "org_1"); }

}  // namespace

// ---- replaced -------------------------------------------------------------

TEST(SubstituteTenant, AloneIsReplaced) {
    EXPECT_EQ(sub("@tenant@"), "\"org_1\"");
}

TEST(SubstituteTenant, AtStartAndEndOfText) {
    EXPECT_EQ(sub("@tenant@.users"), "\"org_1\".users");
    EXPECT_EQ(sub("SET search_path = @tenant@"), "SET search_path = \"org_1\"");
    EXPECT_EQ(sub("@tenant@ @tenant@"), "\"org_1\" \"org_1\"");
}

TEST(SubstituteTenant, QualifiedNames) {
    EXPECT_EQ(sub("CREATE TABLE @tenant@.users (id int);"),
              "CREATE TABLE \"org_1\".users (id int);");
    EXPECT_EQ(sub("REFERENCES @tenant@.orgs(id)"), "REFERENCES \"org_1\".orgs(id)");
    EXPECT_EQ(sub("x.@tenant@.y"), "x.\"org_1\".y");
}

TEST(SubstituteTenant, FollowedOrPrecededByPunctuationOrSpace) {
    EXPECT_EQ(sub("@tenant@("), "\"org_1\"(");
    EXPECT_EQ(sub("(@tenant@)"), "(\"org_1\")");
    EXPECT_EQ(sub("@tenant@;"), "\"org_1\";");
    EXPECT_EQ(sub("@tenant@,x"), "\"org_1\",x");
    EXPECT_EQ(sub("@tenant@::regnamespace"), "\"org_1\"::regnamespace");
    EXPECT_EQ(sub("=@tenant@"), "=\"org_1\"");
    EXPECT_EQ(sub("[@tenant@]"), "[\"org_1\"]");
    EXPECT_EQ(sub("-@tenant@+"), "-\"org_1\"+");
    EXPECT_EQ(sub("a @tenant@ b"), "a \"org_1\" b");
    EXPECT_EQ(sub("a\t@tenant@\tb"), "a\t\"org_1\"\tb");
    EXPECT_EQ(sub("a\n@tenant@\nb"), "a\n\"org_1\"\nb");
    EXPECT_EQ(sub("a\r\n@tenant@\r\nb"), "a\r\n\"org_1\"\r\nb");
}

TEST(SubstituteTenant, NextToQuoteCharacters) {
    // Inside a quoted identifier it is the bare name; inside a literal, the
    // quoted identifier.
    EXPECT_EQ(sub("\"@tenant@\""), "\"org_1\"");
    EXPECT_EQ(sub("'@tenant@'"), "'\"org_1\"'");
    EXPECT_EQ(sub("`@tenant@`"), "`\"org_1\"`");
}

TEST(SubstituteTenant, SeveralOccurrences) {
    EXPECT_EQ(sub("CREATE TABLE @tenant@.a (id int);\n"
                  "CREATE TABLE @tenant@.b (a int REFERENCES @tenant@.a(id));\n"),
              "CREATE TABLE \"org_1\".a (id int);\n"
              "CREATE TABLE \"org_1\".b (a int REFERENCES \"org_1\".a(id));\n");
}

TEST(SubstituteTenant, InsideStringLiteralsAndDollarQuotedBodies) {
    // Literals and function bodies get the name too, quoted for where it stands.
    EXPECT_EQ(sub("SELECT '@tenant@.users'::regclass;"),
              "SELECT '\"org_1\".users'::regclass;");
    EXPECT_EQ(sub("COMMENT ON SCHEMA @tenant@ IS 'schema @tenant@';"),
              "COMMENT ON SCHEMA \"org_1\" IS 'schema \"org_1\"';");
    EXPECT_EQ(sub("CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT count(*) FROM "
                  "@tenant@.users $$;"),
              "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT count(*) FROM "
              "\"org_1\".users $$;");
    EXPECT_EQ(sub("AS $body$\nBEGIN\n  PERFORM 1 FROM @tenant@.t;\nEND\n$body$"),
              "AS $body$\nBEGIN\n  PERFORM 1 FROM \"org_1\".t;\nEND\n$body$");
    // Comments are left alone.
    EXPECT_EQ(sub("-- in @tenant@\n/* and /* nested */ @tenant@ */ @tenant@"),
              "-- in @tenant@\n/* and /* nested */ @tenant@ */ \"org_1\"");
}

TEST(SubstituteTenant, NextToNulBytes) {
    // NUL does not continue a word.
    EXPECT_EQ(sub(std::string("\0@tenant@\0", 10)), std::string("\0\"org_1\"\0", 9));
}

// ---- left alone -------------------------------------------------------------

TEST(SubstituteTenant, PartOfALongerWordIsLeftAlone) {
    EXPECT_EQ(sub("@tenant@x"), "@tenant@x");
    EXPECT_EQ(sub("x@tenant@"), "x@tenant@");
    EXPECT_EQ(sub("@tenant@_id"), "@tenant@_id");
    EXPECT_EQ(sub("_@tenant@"), "_@tenant@");
    EXPECT_EQ(sub("@tenant@1"), "@tenant@1");
    EXPECT_EQ(sub("9@tenant@"), "9@tenant@");
    EXPECT_EQ(sub("X@tenant@Y"), "X@tenant@Y");
}

TEST(SubstituteTenant, NextToAtSignIsLeftAlone) {
    EXPECT_EQ(sub("@@tenant@"), "@@tenant@");
    EXPECT_EQ(sub("@tenant@@"), "@tenant@@");
    EXPECT_EQ(sub("@@tenant@@"), "@@tenant@@");
    // Two placeholders back to back share no separator: neither stands alone.
    EXPECT_EQ(sub("@tenant@@tenant@"), "@tenant@@tenant@");
}

TEST(SubstituteTenant, AdjacentDollarKeepsItLiteral) {
    // $ continues an identifier in PostgreSQL (a$b), so $@tenant@ is one word.
    EXPECT_EQ(sub("$@tenant@"), "$@tenant@");
    EXPECT_EQ(sub("@tenant@$"), "@tenant@$");
    // A consequence: a placeholder written right against a dollar quote is
    // left alone. Decided behaviour (the rules in placeholders.cpp), noted here
    // so that a change is deliberate; a space after $$ makes it stand alone.
    EXPECT_EQ(sub("$$@tenant@$$"), "$$@tenant@$$");
    EXPECT_EQ(sub("$$ @tenant@ $$"), "$$ \"org_1\" $$");
}

TEST(SubstituteTenant, NextToAMultibyteLetterIsLeftAlone) {
    EXPECT_EQ(sub("\xC3\xA9@tenant@"), "\xC3\xA9@tenant@");        // é before
    EXPECT_EQ(sub("@tenant@\xC3\xA9"), "@tenant@\xC3\xA9");        // é after
    EXPECT_EQ(sub("\xE2\x82\xAC@tenant@"), "\xE2\x82\xAC@tenant@");  // € before
    EXPECT_EQ(sub("@tenant@\xF0\x9F\x98\x80"), "@tenant@\xF0\x9F\x98\x80");
    // Every byte >= 0x80 counts, as in PostgreSQL's lexer, even a no-break space.
    EXPECT_EQ(sub("@tenant@\xC2\xA0"), "@tenant@\xC2\xA0");
}

TEST(SubstituteTenant, OverlappingPlaceholders) {
    // "@tenant@tenant@" holds @tenant@ at 0 (followed by 't') and at 7
    // (preceded by 't'): neither stands alone.
    EXPECT_EQ(sub("@tenant@tenant@"), "@tenant@tenant@");
    EXPECT_EQ(sub(" @tenant@tenant@ "), " @tenant@tenant@ ");
    EXPECT_EQ(sub("@tenant@tenant@tenant@"), "@tenant@tenant@tenant@");
    // A standalone one beside an overlapped pair is still replaced.
    EXPECT_EQ(sub("@tenant@tenant@ @tenant@"), "@tenant@tenant@ \"org_1\"");
}

TEST(SubstituteTenant, NearMissesAreLeftAlone) {
    EXPECT_EQ(sub("@tenant"), "@tenant");
    EXPECT_EQ(sub("tenant@"), "tenant@");
    EXPECT_EQ(sub("@tenan@"), "@tenan@");
    EXPECT_EQ(sub("@tenants@"), "@tenants@");
    EXPECT_EQ(sub("@ tenant@"), "@ tenant@");
    EXPECT_EQ(sub("tenant"), "tenant");
    // Case-sensitive, as @extschema@ is.
    EXPECT_EQ(sub("@TENANT@"), "@TENANT@");
    EXPECT_EQ(sub("@Tenant@"), "@Tenant@");
}

TEST(SubstituteTenant, MixedStandaloneAndNot) {
    EXPECT_EQ(sub("@tenant@_id @tenant@ x@tenant@ @tenant@."),
              "@tenant@_id \"org_1\" x@tenant@ \"org_1\".");
}

// ---- text copied byte for byte ---------------------------------------------

TEST(SubstituteTenant, EmptyText) { EXPECT_EQ(sub(""), ""); }

TEST(SubstituteTenant, TextWithoutPlaceholderIsUnchangedByteForByte) {
    std::string text = "CREATE TABLE users (id int);\n-- @ tenant\r\n$$'\"\\";
    EXPECT_EQ(sub(text), text);
    std::string with_nul("a\0b\0\0@tenant\0@\xFF\xC3", 16);
    ASSERT_EQ(with_nul.size(), 16u);
    std::string result = sub(with_nul);
    EXPECT_EQ(result.size(), with_nul.size());
    EXPECT_EQ(result, with_nul);
    std::string all_bytes;
    for (int c = 0; c < 256; c++) all_bytes.push_back(static_cast<char>(c));
    EXPECT_EQ(sub(all_bytes), all_bytes);
}

TEST(SubstituteTenant, LongTextIsCopiedExactly) {
    std::string text;
    std::string expected;
    for (int i = 0; i < 10000; i++) {
        text += "SELECT " + std::to_string(i) + " FROM @tenant@.t;\n";
        expected += "SELECT " + std::to_string(i) + " FROM \"org_1\".t;\n";
    }
    EXPECT_EQ(sub(text), expected);
}

// ---- the replacement -----------------------------------------------------

TEST(SubstituteTenant, TenantWithQuotesIsQuotedInCode) {
    EXPECT_EQ(substitute_tenant("SELECT * FROM @tenant@.t", "we\"ird"),
              "SELECT * FROM \"we\"\"ird\".t");
}

TEST(SubstituteTenant, MultibyteTenant) {
    EXPECT_EQ(substitute_tenant("@tenant@.t", "caf\xC3\xA9"), "\"caf\xC3\xA9\".t");
}

TEST(SubstituteTenant, ReplacementIsNotScannedAgain) {
    // A tenant whose name holds the placeholder does not recurse.
    EXPECT_EQ(substitute_tenant("@tenant@ @tenant@", "@tenant@"), "\"@tenant@\" \"@tenant@\"");
}

// ---- injection: a name with quotes cannot end the literal it stands in -------

TEST(SubstituteTenant, QuoteInNameIsDoubledInAStringLiteral) {
    EXPECT_EQ(substitute_tenant("SELECT '@tenant@.t'::regclass", "a'; DROP TABLE x; --"),
              "SELECT '\"a''; DROP TABLE x; --\".t'::regclass");
}

TEST(SubstituteTenant, BackslashAndQuoteAreEscapedInAnEscapeString) {
    EXPECT_EQ(substitute_tenant("SELECT E'@tenant@\\n'", "a\\'b"), "SELECT E'\"a\\\\''b\"\\n'");
    EXPECT_EQ(substitute_tenant("SELECT U&'@tenant@'", "a'b"), "SELECT U&'\"a''b\"'");
    // An identifier ending in e is no E'' prefix.
    EXPECT_EQ(substitute_tenant("SELECT name'@tenant@'", "a\\b"), "SELECT name'\"a\\b\"'");
}

TEST(SubstituteTenant, InAQuotedIdentifierTheBareNameIsDoubled) {
    EXPECT_EQ(substitute_tenant("CREATE TABLE \"@tenant@ archive\" ()", "x\"y"),
              "CREATE TABLE \"x\"\"y archive\" ()");
}

TEST(SubstituteTenant, DollarQuotedBodyRefusesNamesThatCouldEndAString) {
    std::string body = "CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $f$ BEGIN "
                       "EXECUTE 'TRUNCATE @tenant@.t'; END $f$";
    EXPECT_EQ(substitute_tenant(body, "org_1"),
              "CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $f$ BEGIN "
              "EXECUTE 'TRUNCATE \"org_1\".t'; END $f$");
    for (const char* name : {"a'b", "a\\b", "a$f$b", "a$$b"}) {
        try {
            substitute_tenant(body, name);
            ADD_FAILURE() << name;
        } catch (const Error& e) {
            EXPECT_STREQ(e.sqlstate(), "42602") << name;
        }
    }
    // Outside the body the same names are fine.
    EXPECT_EQ(substitute_tenant("SELECT 1 FROM @tenant@.t", "a$f$b"), "SELECT 1 FROM \"a$f$b\".t");
}

TEST(SubstituteTenant, DollarSignsThatOpenNoQuote) {
    // $1 is a parameter, a$b$ an identifier: neither opens a dollar quote.
    EXPECT_EQ(sub("SELECT $1, a$b$ FROM @tenant@.t"), "SELECT $1, a$b$ FROM \"org_1\".t");
}

TEST(SubstituteTenant, NameCannotChangeTheTokenStructure) {
    // (In code the name becomes a quoted identifier of its own, so the text
    // holds it only where it stands inside something.)
    std::string text = "SELECT '@tenant@', E'@tenant@', U&'@tenant@', \"@tenant@\" -- @tenant@\n/* @tenant@ */";
    for (const char* name : {"a'b", "a\"b", "a\\b", "a\nb", "*/", "--", "a''b"}) {
        std::string out = substitute_tenant(text, name);
        std::vector<SqlStretch> before = split_sql(text), after = split_sql(out);
        ASSERT_EQ(before.size(), after.size()) << name;
        for (std::size_t i = 0; i < before.size(); i++) EXPECT_EQ(before[i].region, after[i].region) << name;
    }
}

