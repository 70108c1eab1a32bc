// The default rule (`SELECT * FROM '#'` into readings): the seed's message mapped exactly.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <bit>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "common/json_writer.h"
#include "common/testing.h"
#include "common/time.h"
#include "rules/error_record.h"
#include "rules/reading.h"
#include "rules/rule.h"

namespace sp {
namespace {

// 2026-11-25 00:00:00 UTC: "now" for the skew check.
constexpr int64_t kNow = 1795564800LL * 1000000;

std::vector<std::string> FileLines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

struct Outcome {
  bool ok;
  Record record;
  Rejection rejection;
};

Outcome Apply(RuleRunner& rules, std::string_view payload, std::string_view client_id = "",
             std::string_view topic = "sensor/data") {
  RuleBatch batch(rules.rules().streams().size());
  Message msg{topic, payload, client_id, kNow};
  EXPECT_TRUE(rules.Apply(msg, &batch));
  Outcome o{};
  o.ok = batch.rejections().empty();
  if (o.ok) {
    EXPECT_EQ(batch.records(0).size(), 1u);
    o.record = batch.records(0)[0];
  } else {
    EXPECT_EQ(batch.total_records(), 0u);
    o.rejection = batch.rejections()[0];
  }
  return o;
}

std::unique_ptr<RuleRunner> Make(RuleOptions options = {}) {
  auto r = RuleSet::Compile({}, options);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)->streams(), std::vector<std::string>{"readings"});
  return std::make_unique<RuleRunner>(std::move(r).value());
}

TEST(DefaultRule, EveryHostileFixtureGetsItsReason) {
  auto rule = Make();
  auto bad = FileLines(testing::FixturesDir() + "/bad_messages.txt");
  const std::vector<std::string> expected = testing::ExpectedBadMessageReasons();
  ASSERT_EQ(bad.size(), expected.size());
  ASSERT_EQ(bad.size(), 13u);
  for (size_t i = 0; i < bad.size(); ++i) {
    Outcome o = Apply(*rule, bad[i]);
    EXPECT_FALSE(o.ok) << "line " << i + 1 << " was accepted: " << o.record.value;
    EXPECT_EQ(ReasonName(o.rejection.reason), expected[i]) << "line " << i + 1 << ": " << o.rejection.detail;
    EXPECT_FALSE(o.rejection.detail.empty());
  }
}

TEST(DefaultRule, EmptyClientIdFallsBackToTheMqttClientIdWhenConfigured) {
  const std::string line9 = FileLines(testing::FixturesDir() + "/bad_messages.txt")[8];
  RuleOptions options;
  options.client_id_fallback = true;
  auto rule = Make(options);
  Outcome o = Apply(*rule, line9, "pi-kitchen");
  ASSERT_TRUE(o.ok) << o.rejection.detail;
  EXPECT_EQ(o.record.key, "pi-kitchen");
  // An unsafe MQTT client id does not rescue it.
  EXPECT_FALSE(Apply(*rule, line9, "../x").ok);
}

TEST(DefaultRule, ATopicThatSpeaksForADeviceMustMatchItsClientId) {
  EXPECT_EQ(TopicIdentity("sensor/pi-1/data", "sensor/"), "pi-1");
  EXPECT_EQ(TopicIdentity("sensor/pi-1/a/b", "sensor/"), "pi-1");
  EXPECT_EQ(TopicIdentity("sensor/data", "sensor/"), "");  // the seed's topic carries no identity
  EXPECT_EQ(TopicIdentity("sensor/pi-1/", "sensor/"), "pi-1");  // the ACL refuses it too
  EXPECT_EQ(TopicIdentity("sensor//data", "sensor/"), "");
  EXPECT_EQ(TopicIdentity("other/pi-1/data", "sensor/"), "");
  EXPECT_EQ(TopicIdentity("sensor/pi-1/data", ""), "");
  EXPECT_EQ(TopicIdentity("site/7/dev/pi-1/x", "site/7/dev/"), "pi-1");

  auto rule = Make();
  const std::string pi1 = R"({"client_id":"pi-1","timestamp":"2022-07-14 00:00:00","temperature":20})";
  const std::string claims_pi2 = R"({"client_id":"pi-2","timestamp":"2022-07-14 00:00:00","temperature":20})";
  Outcome o = Apply(*rule, pi1, "", "sensor/pi-1/data");
  ASSERT_TRUE(o.ok) << o.rejection.detail;
  EXPECT_EQ(o.record.key, "pi-1");
  o = Apply(*rule, claims_pi2, "", "sensor/pi-1/data");
  ASSERT_FALSE(o.ok);
  EXPECT_EQ(ReasonName(o.rejection.reason), "spoofed_device");
  EXPECT_EQ(o.rejection.detail, "client_id 'pi-2' is not the device 'pi-1' that the topic speaks for");
  EXPECT_TRUE(Apply(*rule, claims_pi2, "", "sensor/data").ok);  // no identity in the topic: the claim stands

  RuleOptions off;
  off.identity_topic_prefix = "";
  EXPECT_TRUE(Apply(*Make(off), claims_pi2, "", "sensor/pi-1/data").ok);
}

TEST(DefaultRule, NestingUpToTheLimitPassesAndOneDeeperIsTooDeep) {
  RuleOptions options;
  options.max_depth = 4;
  auto rule = Make(options);
  auto nested = [](int depth) {  // the message object is depth 1
    std::string inner = "1";
    for (int d = 1; d < depth; ++d) inner = "[" + inner + "]";
    return R"({"client_id":"a","timestamp":"2022-07-14 00:00:00","x":)" + inner + "}";
  };
  EXPECT_TRUE(Apply(*rule, nested(4)).ok) << Apply(*rule, nested(4)).rejection.detail;
  Outcome o = Apply(*rule, nested(5));
  ASSERT_FALSE(o.ok);
  EXPECT_EQ(o.rejection.reason, Reason::kTooDeep);
  EXPECT_EQ(o.rejection.detail, "arrays and objects nested deeper than the limit of 4");
}

TEST(DefaultRule, OversizeIsCheckedFirst) {
  RuleOptions options;
  options.max_payload_bytes = 100;
  auto rule = Make(options);
  std::string big = R"({"client_id":"a","timestamp":"2022-07-14 00:00:00","pad":")" + std::string(100, 'x') + "\"}";
  Outcome o = Apply(*rule, big);
  EXPECT_FALSE(o.ok);
  EXPECT_EQ(o.rejection.reason, Reason::kOversize);
}

TEST(DefaultRule, TheSeedDayMapsExactly) {
  RuleOptions options;
  options.device_time_zone = "Asia/Seoul";
  auto rule = Make(options);
  auto lines = FileLines(testing::FixturesDir() + "/seed_day.ndjson");
  ASSERT_EQ(lines.size(), 5400u);
  for (size_t i = 0; i < lines.size(); ++i) {
    Outcome o = Apply(*rule, lines[i]);
    ASSERT_TRUE(o.ok) << "line " << i + 1 << ": " << o.rejection.detail;
  }
  Outcome first = Apply(*rule, lines[0]);
  EXPECT_EQ(first.record.key, "raspberrypi");
  EXPECT_EQ(FormatTimestamp(first.record.timestamp_us), "2022-07-13 15:00:00");
  EXPECT_EQ(first.record.value,
            R"({"device":"raspberrypi","ts":"2022-07-13 15:00:00","received_at":"2026-11-25 00:00:00",)"
            R"("topic":"sensor/data","seq":0,"temperature":39.743,"humidity":45.259,"pressure":1008.606,)"
            R"("pitch":1.768,"roll":359.348,"yaw":185.857})");
  // Every record is valid JSON.
  simdjson::dom::parser parser;
  simdjson::dom::element e;
  EXPECT_FALSE(parser.parse(first.record.value).get(e));
}

// What the mapper writes, the fast line reader reads back as a JSON parser does.
TEST(ReadingLine, ReadsBackWhatTheMapperWrote) {
  auto rule = Make();
  std::vector<std::string> payloads = FileLines(testing::FixturesDir() + "/seed_day.ndjson");
  payloads.push_back(R"({"client_id":"pi-2","timestamp":"2022-07-14T09:00:00.5+09:00","temperature":-21.25,)"
                     R"("humidity":null,"note":"x\"}","nested":{"a":[1,2]}})");
  payloads.push_back(R"({"client_id":"pi-3","timestamp":"2022-07-14 00:00:00","yaw":1e-7,"count":-3})");
  payloads.push_back(R"({"client_id":"pi-4","timestamp":"2022-07-14 00:00:00","pressure":1e300})");
  simdjson::dom::parser parser;
  for (const std::string& payload : payloads) {
    Outcome o = Apply(*rule, payload, "", "sensor/a \"b\"");
    ASSERT_TRUE(o.ok) << payload << ": " << o.rejection.detail;
    ReadingLineFields fast;
    ASSERT_TRUE(ParseReadingLine(o.record.value, &fast)) << o.record.value;
    simdjson::dom::element doc = parser.parse(o.record.value);
    EXPECT_EQ(FormatTimestamp(fast.received_at_us), std::string_view(doc["received_at"].get_string().value()));
    int64_t seq;
    EXPECT_EQ(fast.seq.has_value(), doc["seq"].get(seq) == simdjson::SUCCESS) << o.record.value;
    if (fast.seq) {
      EXPECT_EQ(*fast.seq, seq);
    }
    for (size_t i = 0; i < kMetricCount; ++i) {
      double v;
      const bool present = doc[kMetricNames[i]].get(v) == simdjson::SUCCESS;
      ASSERT_EQ(fast.numbers[i].has_value(), present) << kMetricNames[i] << " in " << o.record.value;
      if (present) {
        EXPECT_EQ(*fast.numbers[i], v) << kMetricNames[i] << " in " << o.record.value;
      }
    }
  }
  // Anything not in the writer's exact form is left to a JSON parser.
  ReadingLineFields f;
  for (const char* line : {
           R"({ "device":"a","ts":"2022-07-14 00:00:00","received_at":"2022-07-14 00:00:00","topic":"t"})",
           R"({"ts":"2022-07-14 00:00:00","device":"a","received_at":"2022-07-14 00:00:00","topic":"t"})",
           R"({"device":"a","ts":"2022-07-14 00:00:00","received_at":"2022-07-14 00:00:00","topic":"t")",
           R"({"device":"a","ts":"2022-07-14 00:00:00","received_at":"yesterday","topic":"t"})",
           R"({"device":"a","ts":"2022-07-14 00:00:00","received_at":"2022-07-14 00:00:00","topic":"t","seq":x})",
           R"({"device":"a","ts":"2022-07-14 00:00:00","received_at":"2022-07-14 00:00:00","topic":"t","yaw":1,"roll":2})",
           R"({"device":"a)",
       }) {
    EXPECT_FALSE(ParseReadingLine(line, &f)) << line;
  }
}

// A reading line holds the keys of common/reading_columns.h in the table's order, each column
// filled from the message field the table names (sent here in the reverse order), and nothing else.
TEST(ReadingLine, KeysAreTheColumnsTable) {
  std::string payload;
  for (auto c = kReadingColumns.rbegin(); c != kReadingColumns.rend(); ++c) {
    if (c->field.empty() && c->kind != ColumnKind::kObject) continue;  // ingest fills these in
    payload += payload.empty() ? "{" : ",";
    if (c->kind == ColumnKind::kObject) {
      payload += R"("note":"x")";
      continue;
    }
    payload += "\"" + std::string(c->field) + "\":";
    switch (c->kind) {
      case ColumnKind::kText:
        payload += R"("pi")";
        break;
      case ColumnKind::kTimestamp:
        payload += R"("2022-07-14 00:00:00")";
        break;
      case ColumnKind::kInteger:
        payload += "7";
        break;
      default:
        payload += "1.5";
    }
  }
  payload += "}";
  auto rule = Make();
  Outcome o = Apply(*rule, payload);
  ASSERT_TRUE(o.ok) << payload << ": " << o.rejection.detail;
  simdjson::dom::parser parser;
  simdjson::dom::object line = parser.parse(o.record.value).get_object();
  std::vector<std::string> keys, columns;
  for (auto [key, value] : line) keys.emplace_back(key);
  for (const ReadingColumn& c : kReadingColumns) columns.emplace_back(c.name);
  EXPECT_EQ(keys, columns) << o.record.value;
  EXPECT_EQ(std::string_view(line["extra"]["note"].get_string().value()), "x") << o.record.value;
}

bool Soak() {
  return std::getenv("SOAK") && std::string(std::getenv("SOAK")) == "1";
}

// xorshift: the same inputs every run.
struct Xorshift {
  uint64_t x = 88172645463325252ull;
  uint64_t operator()() {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  }
};

std::string LineWith(std::string_view received_at, std::string_view temperature) {
  return std::string(R"({"device":"d","ts":"2022-07-14 00:00:00","received_at":")") + std::string(received_at) +
         R"(","topic":"t","temperature":)" + std::string(temperature) + "}";
}

// received_at is read directly in the writer's form and by the rules' parser otherwise: the line
// reader must take exactly the instants and refusals TimestampParser gives, whatever the text.
TEST(ReadingLine, ReadsReceivedAtAsTheRulesParserDoes) {
  const TimestampParser utc = *TimestampParser::Create("UTC");
  constexpr int64_t kYear1 = -62135596800LL * 1000000;
  constexpr int64_t kYear2200 = 7258118400LL * 1000000;
  constexpr int64_t kAfter9999 = 253402300800LL * 1000000;
  constexpr std::string_view kNoise = "0123456789 -:.,TZ+x";
  auto check = [&utc](const std::string& text) {
    int64_t want = 0;
    const bool valid = utc.ParseText(text, &want);
    ReadingLineFields got;
    ASSERT_EQ(ParseReadingLine(LineWith(text, "1"), &got), valid) << text;
    if (valid) {
      ASSERT_EQ(got.received_at_us, want) << text;
    }
  };
  for (const char* edge :
       {"0000-12-31 23:59:59", "0001-01-01 00:00:00", "9999-12-31 23:59:59.999999", "10000-01-01 00:00:00",
        "1900-02-29 00:00:00", "2000-02-29 00:00:00", "2022-07-14 00:00:00.000000", "2022-07-14 00:00:00.123456789"}) {
    ASSERT_NO_FATAL_FAILURE(check(edge));
  }
  Xorshift next;
  const int n = Soak() ? 5'000'000 : 300'000;
  for (int i = 0; i < n; ++i) {
    int64_t us = static_cast<int64_t>(next() % static_cast<uint64_t>(kYear2200));  // 1970-2200
    if (i % 3 == 1) us = kYear1 + static_cast<int64_t>(next() % static_cast<uint64_t>(kAfter9999 - kYear1));
    if (i % 3 == 2) us = 1657756800'000000 + static_cast<int64_t>(next() % 259'200'000'000);  // three days
    if (i % 5 == 2) us -= us % 1000000;
    std::string text = FormatTimestamp(us);
    // Half are changed: a character replaced, the fraction cut, a 'T' or an offset.
    switch (next() % 8) {
      case 0:
        text[next() % text.size()] = kNoise[next() % kNoise.size()];
        break;
      case 1:
        text.resize(std::min<size_t>(text.size(), 19 + next() % 8));
        break;
      case 2:
        text[10] = 'T';
        break;
      case 3:
        text += next() % 2 ? "Z" : "+01:30";
        break;
      default:
        break;
    }
    ASSERT_NO_FATAL_FAILURE(check(text));
  }
}

// Numbers are read as std::from_chars reads them, to the bit, whatever their form.
TEST(ReadingLine, ReadsNumbersAsFromCharsDoes) {
  Xorshift next;
  auto digits = [&next](size_t n) {
    std::string s;
    for (size_t i = 0; i < n; ++i) s += static_cast<char>('0' + next() % 10);
    return s;
  };
  const int n = Soak() ? 20'000'000 : 1'000'000;
  const std::string received_at = "2026-11-25 00:00:00";
  for (int i = 0; i < n; ++i) {
    std::string text;
    switch (i % 4) {
      case 0: {  // what the writer prints for a sensor's few decimals, or any double
        const double v = i % 8 == 0 ? static_cast<double>(static_cast<int64_t>(next() % 2'000'000) - 1'000'000) / 1000
                                    : std::bit_cast<double>(next());
        if (!std::isfinite(v)) continue;
        AppendDouble(text, v);
        break;
      }
      case 1:  // short decimals: up to 19 digits in all, up to 22 after the point
        text = (next() % 2 ? "-" : "") + digits(1 + next() % 8) + "." + digits(1 + next() % 11);
        break;
      default:  // long, odd or not numbers at all: leading zeros, exponents, cut forms
        text = (next() % 3 == 0 ? "-" : "") + digits(next() % 24);
        if (next() % 2) text += "." + digits(next() % 26);
        if (next() % 4 == 0) text += (next() % 2 ? "e" : "E") + std::string(next() % 2 ? "-" : "") + digits(next() % 4);
        break;
    }
    double want = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), want);
    const bool valid = ec == std::errc() && end == text.data() + text.size();
    ReadingLineFields got;
    ASSERT_EQ(ParseReadingLine(LineWith(received_at, text), &got), valid) << text;
    if (valid) {
      ASSERT_EQ(std::bit_cast<uint64_t>(*got.numbers[0]), std::bit_cast<uint64_t>(want)) << text;
    }
  }
}

// seq is read as std::from_chars reads an int64_t: the limits, overflow and odd forms included.
TEST(ReadingLine, ReadsSeqAsFromCharsDoes) {
  Xorshift next;
  std::vector<std::string> texts = {"0",
                                    "-0",
                                    "-",
                                    "",
                                    "007",
                                    "9223372036854775807",
                                    "9223372036854775808",
                                    "-9223372036854775808",
                                    "-9223372036854775809",
                                    "99999999999999999999",
                                    "1.5",
                                    "1e3"};
  for (int i = 0; i < 200'000; ++i) {
    std::string text = next() % 3 == 0 ? "-" : "";
    for (size_t n = next() % 22; n > 0; --n) text += static_cast<char>('0' + next() % 10);
    texts.push_back(text);
  }
  const std::string head =
      R"({"device":"d","ts":"2022-07-14 00:00:00","received_at":"2026-11-25 00:00:00","topic":"t","seq":)";
  for (const std::string& text : texts) {
    int64_t want = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), want);
    const bool valid = ec == std::errc() && end == text.data() + text.size();
    ReadingLineFields got;
    ASSERT_EQ(ParseReadingLine(head + text + "}", &got), valid) << text;
    if (valid) {
      ASSERT_EQ(got.seq, want) << text;
    }
  }
}

TEST(DefaultRule, OptionalSensorsExtraFieldsAndOtherTimeForms) {
  auto rule = Make();
  Outcome o = Apply(*rule, R"({"client_id":"pi-2","timestamp":"2022-07-14T09:00:00+09:00","temperature":21,)"
                           R"("humidity":null,"note":"sensor 2","nested":{"a":[1,2]}})");
  ASSERT_TRUE(o.ok) << o.rejection.detail;
  EXPECT_EQ(o.record.value, R"({"device":"pi-2","ts":"2022-07-14 00:00:00","received_at":"2026-11-25 00:00:00",)"
                            R"("topic":"sensor/data","temperature":21,"extra":{"note":"sensor 2","nested":{"a":[1,2]}}})");
  o = Apply(*rule, R"({"client_id":"pi-2","timestamp":1657724400123,"count":7})");
  ASSERT_TRUE(o.ok) << o.rejection.detail;
  EXPECT_EQ(FormatTimestamp(o.record.timestamp_us), "2022-07-13 15:00:00.123000");
  o = Apply(*rule, R"({"client_id":"pi-2","timestamp":1657724400})");
  ASSERT_TRUE(o.ok) << o.rejection.detail;
  // Old data replays fine; only the future is bounded.
  EXPECT_TRUE(Apply(*rule, R"({"client_id":"pi-2","timestamp":"1999-01-01 00:00:00"})").ok);
  EXPECT_TRUE(Apply(*rule, R"({"client_id":"pi-2","timestamp":"2026-11-25T00:04:59Z"})").ok);
  EXPECT_FALSE(Apply(*rule, R"({"client_id":"pi-2","timestamp":"2026-11-25T00:05:01Z"})").ok);
}

TEST(DefaultRule, KnownKeysAreExactAndTheFirstOfARepeatedKeyCounts) {
  auto rule = Make();
  // Names as long as a known key but not one stay in extra; so does a key repeated after the first.
  Outcome o = Apply(*rule, R"({"client_id":"pi-3","timestamp":"2022-07-14 00:00:00","yaw":1,"yaW":2,"rolls":3,)"
                           R"("Pitch":4,"pressure":5,"pressurE":6,"count":8,"temperature":9,"temperature":10,)"
                           R"("humidity":11,"timestamq":12,"client_ie":13,"pitch":14,"roll":15})");
  ASSERT_TRUE(o.ok) << o.rejection.detail;
  EXPECT_EQ(o.record.value,
            R"({"device":"pi-3","ts":"2022-07-14 00:00:00","received_at":"2026-11-25 00:00:00","topic":"sensor/data",)"
            R"("seq":8,"temperature":9,"humidity":11,"pressure":5,"pitch":14,"roll":15,"yaw":1,)"
            R"("extra":{"yaW":2,"rolls":3,"Pitch":4,"pressurE":6,"timestamq":12,"client_ie":13}})");
}

TEST(DefaultRule, TypeErrorsNameTheField) {
  auto rule = Make();
  struct Case {
    const char* payload;
    Reason reason;
    const char* field;
  } cases[] = {
      {R"({"client_id":5,"timestamp":"2022-07-14 00:00:00"})", Reason::kWrongType, "client_id"},
      {R"({"client_id":"a","timestamp":true})", Reason::kWrongType, "timestamp"},
      {R"({"client_id":"a","timestamp":"2022-07-14 00:00:00","count":1.5})", Reason::kWrongType, "count"},
      {R"({"client_id":"a","timestamp":"2022-07-14 00:00:00","yaw":[1]})", Reason::kWrongType, "yaw"},
      {R"({"timestamp":"2022-07-14 00:00:00"})", Reason::kMissingField, "client_id"},
      {R"({"client_id":"a","timestamp":"2022-07-14 00:00:00"} trailing)", Reason::kMalformedJson, ""},
      {R"({"client_id":"a","timestamp":"2022-07-14 00:00:00","pitch":-Infinity})", Reason::kNonFinite, ""},
      {"", Reason::kMalformedJson, ""},
  };
  for (const auto& c : cases) {
    Outcome o = Apply(*rule, c.payload);
    ASSERT_FALSE(o.ok) << c.payload;
    EXPECT_EQ(o.rejection.reason, c.reason) << c.payload << ": " << o.rejection.detail;
    EXPECT_NE(o.rejection.detail.find(c.field), std::string::npos) << o.rejection.detail;
  }
}

TEST(ErrorRecord, KeepsRawBytesAndReason) {
  Message msg{"sensor/data", "not json at all", "", kNow};
  Record r = MakeErrorRecord(msg, "default", Rejection{Reason::kMalformedJson, "bad"});
  EXPECT_EQ(r.key, "malformed_json");
  EXPECT_EQ(r.timestamp_us, kNow);
  EXPECT_EQ(r.value, R"({"received_at":"2026-11-25 00:00:00","topic":"sensor/data","rule":"default",)"
                     R"("reason":"malformed_json","detail":"bad","raw":"not json at all"})");
  const std::string binary("\xff\x00\x01", 3);
  msg.payload = binary;
  r = MakeErrorRecord(msg, "default", Rejection{Reason::kOversize, "big"}, 999999);
  EXPECT_NE(r.value.find(R"("raw_base64":"/wAB","raw_truncated":true,"payload_size":999999})"), std::string::npos)
      << r.value;
}

TEST(DeviceId, SafeNames) {
  EXPECT_TRUE(IsSafeDeviceId("raspberrypi"));
  EXPECT_TRUE(IsSafeDeviceId("pi-01.lab_2:a@b"));
  for (std::string_view bad : std::vector<std::string_view>{"", ".", "..", "../x", "a/b", "a b", std::string_view("a\0b", 3)}) {
    EXPECT_FALSE(IsSafeDeviceId(bad)) << bad;
  }
  EXPECT_FALSE(IsSafeDeviceId(std::string(129, 'a')));
}

}  // namespace
}  // namespace sp
