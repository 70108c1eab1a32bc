// Rule SQL: parsing and type errors with their position, evaluation of every construct, and how a
// RuleSet routes one message to several rules and streams.
#include "rules/sql.h"

#include <gtest/gtest.h>

#include "common/testing.h"
#include "rules/rule.h"

namespace sp {
namespace {

constexpr int64_t kNow = 1795564800LL * 1000000;  // 2026-11-25 00:00:00 UTC

constexpr std::string_view kSeedMessage =
    R"({"client_id":"raspberrypi","timestamp":"2022-07-14 00:00:00","humidity":45.259,"temperature":39.743,)"
    R"("pressure":1008.606,"pitch":1.768,"roll":359.348,"yaw":185.857,"count":3,)"
    R"("meta":{"site":"Lab-1","tags":["a","b"],"floor":2},"label":"Kitchen"})";

std::string CompileError(std::string_view sql) {
  auto p = sql::Compile(sql);
  EXPECT_FALSE(p.ok()) << sql;
  return p.ok() ? "" : std::string(p.status().message());
}

// Runs sql on payload (topic sensor/pi-1/data) as a rule into a stream other than readings, and
// returns its output line, or "<none>" when WHERE dropped it.
std::string Eval(std::string_view sql, std::string_view payload = kSeedMessage,
                 std::string_view topic = "sensor/pi-1/data", std::string_view client_id = "") {
  auto rules = RuleSet::Compile({{"r", std::string(sql), "out"}}, {});
  EXPECT_TRUE(rules.ok()) << rules.status().ToString();
  if (!rules.ok()) return "";
  RuleRunner runner(*rules);
  RuleBatch batch(1);
  if (!runner.Apply(Message{topic, payload, client_id, kNow}, &batch)) return "<none>";
  EXPECT_TRUE(batch.rejections().empty()) << batch.rejections()[0].detail;
  EXPECT_EQ(batch.records(0).size(), 1u);
  return batch.records(0).empty() ? "" : batch.records(0)[0].value;
}

TEST(SqlCompile, AcceptsTheSubsetUsersWrite) {
  for (std::string_view sql : {
           "SELECT * FROM 'sensor/#'",
           "select *, topic(2) as device from 'sensor/+/data' where temperature > 30",
           "SELECT temperature, humidity AS h FROM '#' WHERE NOT (humidity IS NULL) AND pressure <> 0;",
           "SELECT meta.site, meta.tags[1] AS tag, \"odd key\" FROM 'a/b'",
           "SELECT CASE WHEN temperature > 30 THEN 'hot' WHEN temperature < 10 THEN 'cold' ELSE 'ok' END AS feel "
           "FROM '#'",
           "SELECT CASE label WHEN 'Kitchen' THEN 1 ELSE 0 END AS k FROM '#'",
           "SELECT cast(count AS String) AS c, coalesce(a, b, 0) AS d, abs(-1) AS e, round(1.5) AS f, "
           "lower(label) AS g, upper(label) AS h, concat(label, '-', count) AS i, clientid() AS j, timestamp() AS "
           "k FROM '#'",
           "SELECT -temperature * (2 + 3) / 4 % 5 - 1 AS x FROM '#' WHERE a = 1 OR b != 2 OR c <= 3 OR d >= 4",
           // Only the message's own sensor fields are known to be numbers; other keys may hold anything.
           "SELECT * FROM '#' WHERE meta.temperature = 'hot' OR Temperature = 'hot' OR label > 'k' OR "
           "concat(temperature, 'C') = '20C'",
       }) {
    auto p = sql::Compile(sql);
    EXPECT_TRUE(p.ok()) << sql << "\n" << p.status().ToString();
  }
}

TEST(SqlCompile, ErrorsPointAtTheMistake) {
  struct Case {
    std::string_view sql;
    std::string_view where;  // "line L, column C"
    std::string_view what;
  } cases[] = {
      {"SELEC * FROM '#'", "line 1, column 1", "expected SELECT"},
      {"SELECT * FORM '#'", "line 1, column 10", "expected FROM"},
      {"SELECT * FROM sensor", "line 1, column 15", "topic filter in single quotes"},
      {"SELECT * FROM 'a/#/b'", "line 1, column 15", "'#' must be the last level"},
      {"SELECT * FROM 'a/b+'", "line 1, column 15", "whole level"},
      {"SELECT a FROM '#' WHERE", "line 1, column 24", "expected an expression"},
      {"SELECT a +  FROM '#'", "line 1, column 13", "expected an expression"},
      {"SELECT nosuch(a) FROM '#'", "line 1, column 8", "unknown function 'nosuch'"},
      {"SELECT abs(1, 2) FROM '#'", "line 1, column 8", "abs() takes 1 argument, not 2"},
      {"SELECT concat(a) FROM '#'", "line 1, column 8", "at least 2"},
      {"SELECT topic(x) FROM '#'", "line 1, column 14", "topic(n) needs a whole number"},
      {"SELECT topic(0) FROM '#'", "line 1, column 14", "topic(n) needs a whole number"},
      {"SELECT a + 'x' AS b FROM '#'", "line 1, column 12", "arithmetic needs a number, but this is a string"},
      {"SELECT lower(5) FROM '#'", "line 1, column 14", "lower() needs a string"},
      {"SELECT abs('x') FROM '#'", "line 1, column 12", "abs() needs a number"},
      {"SELECT a FROM '#' WHERE 'x' = 5", "line 1, column 29", "compares a string with a number"},
      // The sensor fields and count are numbers by contract: this WHERE would drop every message.
      {"SELECT a FROM '#' WHERE temperature > 'hot'", "line 1, column 37", "compares a number with a string"},
      {"SELECT a FROM '#' WHERE \"count\" = '3'", "line 1, column 33", "compares a number with a string"},
      {"SELECT CASE yaw WHEN 'north' THEN 1 END AS n FROM '#'", "line 1, column 22", "WHEN compares a number"},
      {"SELECT lower(humidity) AS h FROM '#'", "line 1, column 14", "lower() needs a string, but this is a number"},
      {"SELECT a FROM '#' WHERE a = NULL", "line 1, column 27", "use IS NULL"},
      {"SELECT a FROM '#' WHERE a + 1", "line 1, column 25", "WHERE needs a condition, but this is a number"},
      {"SELECT a FROM '#' WHERE NOT 5", "line 1, column 29", "NOT needs a boolean"},
      {"SELECT a FROM '#' WHERE TRUE < FALSE", "line 1, column 30", "booleans can only be compared"},
      {"SELECT a + 1 FROM '#'", "line 1, column 8", "give this expression a name with AS"},
      {"SELECT a, b AS a FROM '#'", "line 1, column 11", "'a' is used twice"},
      {"SELECT cast(a AS Float) AS b FROM '#'", "line 1, column 18", "a type: Int, Decimal, Bool or String"},
      {"SELECT 'abc FROM x", "line 1, column 8", "no closing '"},
      {"SELECT a FROM '#' WHERE a ? 1", "line 1, column 27", "unexpected character '?'"},
      {"SELECT a FROM '#' extra", "line 1, column 19", "expected WHERE or the end of the rule"},
      {"SELECT a[x] FROM '#'", "line 1, column 10", "array index"},
      {"SELECT CASE WHEN 1 THEN 2 END AS c FROM '#'", "line 1, column 18", "WHEN needs a boolean"},
      {"SELECT CASE a END AS c FROM '#'", "line 1, column 15", "expected WHEN"},
      {"SELECT a AS FROM '#'", "line 1, column 13", "a name after AS"},
      {"SELECT select FROM '#'", "line 1, column 8", "expected an expression"},
      {"SELECT a\nFROM '#'\nWHERE a >", "line 3, column 10", "expected an expression"},
      {"", "line 1, column 1", "expected SELECT"},
  };
  for (const auto& c : cases) {
    std::string error = CompileError(c.sql);
    EXPECT_NE(error.find(std::string(c.where) + ":"), std::string::npos) << c.sql << "\n" << error;
    EXPECT_NE(error.find(c.what), std::string::npos) << c.sql << "\n" << error;
    EXPECT_NE(error.find('^'), std::string::npos) << error;
  }
  // The caret sits under the column.
  EXPECT_EQ(CompileError("SELECT a FROM '#' WHERE NOT 5"),
            "line 1, column 29: NOT needs a boolean, but this is a number\n"
            "  SELECT a FROM '#' WHERE NOT 5\n"
            "                              ^");
}

TEST(SqlCompile, HostileNestingIsRefusedNotRecursedInto) {
  EXPECT_NE(CompileError("SELECT " + std::string(10000, '(') + "1" + std::string(10000, ')') + " AS x FROM '#'")
                .find("nested too deeply"),
            std::string::npos);
  EXPECT_NE(CompileError("SELECT " + std::string(10000, '-') + "1 AS x FROM '#'").find("nested too deeply"),
            std::string::npos);
  std::string nots = "SELECT a FROM '#' WHERE ";
  for (int i = 0; i < 10000; ++i) nots += "NOT ";
  EXPECT_NE(CompileError(nots + "TRUE").find("nested too deeply"), std::string::npos);
}

TEST(TopicFilter, MatchesLikeMqtt) {
  struct Case {
    const char* filter;
    const char* topic;
    bool match;
  } cases[] = {
      {"#", "sensor/data", true},
      {"#", "$SYS/x", false},
      {"sensor/#", "sensor", true},
      {"sensor/#", "sensor/a/b", true},
      {"sensor/#", "sensors/a", false},
      {"sensor/+/data", "sensor/pi/data", true},
      {"sensor/+/data", "sensor/pi/x", false},
      {"sensor/+/data", "sensor/data", false},
      {"sensor/+", "sensor/", true},
      {"+/+", "a/b", true},
      {"+/+", "a/b/c", false},
      {"+", "$SYS", false},
      {"a/b", "a/b", true},
      {"a/b", "a/b/c", false},
      {"a/b/c", "a/b", false},
      {"+/#", "a", true},
      {"http", "http", true},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(sql::TopicMatches(c.filter, c.topic), c.match) << c.filter << " vs " << c.topic;
  }
}

TEST(SqlEval, FieldsPathsAndNames) {
  EXPECT_EQ(Eval("SELECT temperature, meta.site, meta.tags[1] AS tag, meta.nope, \"label\" FROM '#'"),
            R"({"temperature":39.743,"site":"Lab-1","tag":"b","label":"Kitchen"})");
  EXPECT_EQ(Eval("SELECT meta FROM '#'"), R"({"meta":{"site":"Lab-1","tags":["a","b"],"floor":2}})");
  EXPECT_EQ(Eval("SELECT meta.tags[5] AS x, label.y AS z, count FROM '#'"), R"({"count":3})");
}

TEST(SqlEval, StarWithOverrides) {
  EXPECT_EQ(Eval("SELECT *, topic(2) AS client_id, upper(label) AS label FROM '#'", R"({"client_id":"x","label":"a"})"),
            R"({"client_id":"pi-1","label":"A"})");
  EXPECT_EQ(Eval("SELECT topic() AS t, * FROM '#'", R"({"a":1,"t":2})"), R"({"t":2,"a":1})");
}

TEST(SqlEval, ArithmeticFollowsAwsTypes) {
  EXPECT_EQ(Eval("SELECT 7 / 2 AS a, 7.0 / 2 AS b, 7 % 3 AS c, -count AS d, count * 2 + 1 AS e, 1 / 0 AS f, "
                 "temperature - 0.743 AS g, 9223372036854775807 + 1 AS h FROM '#'"),
            R"({"a":3,"b":3.5,"c":1,"d":-3,"e":7,"g":39,"h":9.223372036854776e+18})");
  // Wrong types at run time are Undefined, not errors.
  EXPECT_EQ(Eval("SELECT label * 2 AS a, -label AS b FROM '#'"), "{}");
}

TEST(SqlEval, ComparisonsLogicAndNull) {
  EXPECT_EQ(Eval("SELECT count FROM '#' WHERE temperature > 30 AND label = 'Kitchen'"), R"({"count":3})");
  EXPECT_EQ(Eval("SELECT count FROM '#' WHERE temperature > 40"), "<none>");
  EXPECT_EQ(Eval("SELECT count FROM '#' WHERE nope > 1"), "<none>");  // Undefined does not pass
  EXPECT_EQ(Eval("SELECT count FROM '#' WHERE nope > 1 OR count = 3"), R"({"count":3})");
  EXPECT_EQ(Eval("SELECT count FROM '#' WHERE NOT (nope > 1)"), "<none>");
  EXPECT_EQ(Eval("SELECT count FROM '#' WHERE nope IS NULL AND label IS NOT NULL"), R"({"count":3})");
  EXPECT_EQ(Eval("SELECT count FROM '#' WHERE x IS NULL", R"({"count":1,"x":null})"), R"({"count":1})");
  EXPECT_EQ(Eval("SELECT count FROM '#' WHERE label < 'L' AND count <= 3.0 AND count >= 3 AND count <> 4"),
            R"({"count":3})");
  EXPECT_EQ(Eval("SELECT count FROM '#' WHERE label = 3"), "<none>");  // a string is not a number
  EXPECT_EQ(Eval("SELECT count > 1 AS big, flag = TRUE AS f FROM '#'", R"({"count":2,"flag":true})"),
            R"({"big":true,"f":true})");
}

TEST(SqlEval, CaseAndCast) {
  EXPECT_EQ(Eval("SELECT CASE WHEN temperature > 40 THEN 'hot' WHEN temperature > 30 THEN 'warm' ELSE 'cold' END "
                 "AS feel, CASE label WHEN 'Garden' THEN 1 WHEN 'Kitchen' THEN 2 END AS room, "
                 "CASE WHEN FALSE THEN 1 END AS none FROM '#'"),
            R"({"feel":"warm","room":2})");
  EXPECT_EQ(
      Eval("SELECT cast(temperature AS Int) AS a, cast('12.5' AS Decimal) AS b, cast(count AS String) AS c, "
           "cast('TRUE' AS Bool) AS d, cast(0 AS Bool) AS e, cast('x' AS Int) AS f, cast(meta AS String) AS g, "
           "cast('-7' AS Int) AS h FROM '#'"),
      R"({"a":39,"b":12.5,"c":"3","d":true,"e":false,"g":"{\"site\":\"Lab-1\",\"tags\":[\"a\",\"b\"],\"floor\":2}","h":-7})");
}

TEST(SqlEval, Functions) {
  EXPECT_EQ(Eval("SELECT topic() AS t, topic(1) AS t1, topic(2) AS t2, topic(3) AS t3, topic(4) AS t4 FROM '#'"),
            R"({"t":"sensor/pi-1/data","t1":"sensor","t2":"pi-1","t3":"data"})");
  EXPECT_EQ(Eval("SELECT clientid() FROM '#'"), "{}");  // the broker did not say
  EXPECT_EQ(Eval("SELECT clientid() FROM '#'", kSeedMessage, "a", "pi-9"), R"({"clientid":"pi-9"})");
  EXPECT_EQ(Eval("SELECT timestamp() FROM '#'"), R"({"timestamp":1795564800000})");
  EXPECT_EQ(Eval("SELECT coalesce(nope, x, label) AS a, coalesce(nope) AS b FROM '#'", R"({"x":null,"label":"L"})"),
            R"({"a":"L"})");
  EXPECT_EQ(Eval("SELECT abs(-2) AS a, abs(-2.5) AS b, round(2.5) AS c, round(-2.5) AS d, round(39.7434, 2) AS e, "
                 "round(7) AS f FROM '#'"),
            R"({"a":2,"b":2.5,"c":3,"d":-3,"e":39.74,"f":7})");
  EXPECT_EQ(Eval("SELECT lower(label) AS a, upper(meta.site) AS b, concat(label, '-', count, '-', 1.5) AS c, "
                 "concat(label, nope) AS d, concat(upper(label), lower(label)) AS e FROM '#'"),
            R"({"a":"kitchen","b":"LAB-1","c":"Kitchen-3-1.5","e":"KITCHENkitchen"})");
}

TEST(SqlEval, StringsAreEscapedAndQuotesDoubled) {
  EXPECT_EQ(Eval("SELECT 'it''s' AS a, \"we\"\"ird\" AS b FROM '#'", R"({"we\"ird":"q\"\n"})"),
            R"({"a":"it's","b":"q\"\n"})");
}

// ---- RuleSet: several rules, several streams, and readings ----

TEST(RuleSet, RoutesAMessageToEveryMatchingRule) {
  ASSERT_OK_AND_ASSIGN(
      auto rules,
      RuleSet::Compile(
          {{"all", "SELECT * FROM 'sensor/#'", "readings"},
           {"hot", "SELECT topic(2) AS device, temperature FROM 'sensor/+/data' WHERE temperature > 30", "alerts"},
           {"other", "SELECT * FROM 'other/#'", "readings"}},
          {}));
  EXPECT_EQ(rules->streams(), (std::vector<std::string>{"readings", "alerts"}));
  RuleRunner runner(rules);
  RuleBatch batch(2);
  Message hot{"sensor/raspberrypi/data", kSeedMessage, "", kNow};
  EXPECT_TRUE(runner.Apply(hot, &batch));
  ASSERT_EQ(batch.records(0).size(), 1u);
  EXPECT_EQ(batch.records(0)[0].key, "raspberrypi");
  ASSERT_EQ(batch.records(1).size(), 1u);
  EXPECT_EQ(batch.records(1)[0].value, R"({"device":"raspberrypi","temperature":39.743})");
  EXPECT_EQ(batch.records(1)[0].key, "raspberrypi");
  EXPECT_EQ(batch.records(1)[0].timestamp_us, kNow);

  // No filter matches: nothing kept, nothing rejected (the rules chose to drop it).
  batch.Clear();
  EXPECT_FALSE(runner.Apply(Message{"elsewhere", "not even json", "", kNow}, &batch));
  EXPECT_EQ(batch.total_records(), 0u);
  EXPECT_TRUE(batch.errors().empty());

  // A bad payload is rejected once, by the first rule that matched.
  batch.Clear();
  EXPECT_TRUE(runner.Apply(Message{"sensor/pi-1/data", "{bad", "", kNow}, &batch));
  ASSERT_EQ(batch.rejections().size(), 1u);
  EXPECT_EQ(batch.rejections()[0].reason, Reason::kMalformedJson);
  EXPECT_NE(batch.errors()[0].value.find(R"("rule":"all")"), std::string::npos);
  EXPECT_EQ(rules->RuleFor("sensor/x"), "all");
  EXPECT_EQ(rules->RuleFor("nowhere"), "");
}

TEST(RuleSet, ARuleIntoReadingsMustMakeAReading) {
  ASSERT_OK_AND_ASSIGN(
      auto rules,
      RuleSet::Compile({{"mapped",
                         "SELECT topic(2) AS client_id, ts AS timestamp, t AS temperature, cast(n AS Int) AS count "
                         "FROM 'dev/+/json'",
                         "readings"},
                        {"partial", "SELECT t AS temperature FROM 'partial/#'", "readings"}},
                       {}));
  RuleRunner runner(rules);
  RuleBatch batch(1);
  EXPECT_TRUE(
      runner.Apply(Message{"dev/pi-7/json", R"({"ts":"2022-07-14T00:00:00Z","t":21.5,"n":"4"})", "", kNow}, &batch));
  ASSERT_EQ(batch.records(0).size(), 1u);
  EXPECT_EQ(
      batch.records(0)[0].value,
      R"({"device":"pi-7","ts":"2022-07-14 00:00:00","received_at":"2026-11-25 00:00:00","topic":"dev/pi-7/json",)"
      R"("seq":4,"temperature":21.5})");
  // Missing the device: rejected with the rule's name, nothing appended.
  batch.Clear();
  EXPECT_TRUE(runner.Apply(Message{"partial/x", R"({"t":1})", "", kNow}, &batch));
  EXPECT_EQ(batch.total_records(), 0u);
  ASSERT_EQ(batch.rejections().size(), 1u);
  EXPECT_EQ(batch.rejections()[0].reason, Reason::kMissingField);
  EXPECT_NE(batch.errors()[0].value.find(R"("rule":"partial")"), std::string::npos);
}

TEST(RuleSet, CompileErrorsNameTheRule) {
  auto r = RuleSet::Compile({{"good", "SELECT * FROM '#'", "readings"}, {"broken", "SELECT * FROM", "readings"}}, {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("rule 'broken': line 1, column 14"), std::string_view::npos)
      << r.status().ToString();
  RuleOptions bad_zone;
  bad_zone.device_time_zone = "Mars/Olympus";
  EXPECT_FALSE(RuleSet::Compile({}, bad_zone).ok());
}

}  // namespace
}  // namespace sp
