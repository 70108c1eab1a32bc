// Fuzz target for the rule SQL compiler and evaluator: any text either compiles or gives an error
// with a position; whatever compiles runs on a few messages (into readings and into another
// stream) without crashing, and every record it makes is a JSON object.
#include <cstdint>
#include <string>

#include "fuzz/fuzz.h"
#include "rules/rule.h"
#include "rules/sql.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096) return 0;  // rules are short; longer inputs only slow the search
  const std::string sql(reinterpret_cast<const char*>(data), size);
  auto program = sp::sql::Compile(sql);
  if (!program.ok()) {
    if (program.status().message().rfind("line ", 0) != 0) {
      std::fprintf(stderr, "error without a position: %s\n", program.status().ToString().c_str());
      std::abort();
    }
    return 0;
  }
  auto rules = sp::RuleSet::Compile({{"a", sql, "readings"}, {"b", sql, "out"}}, {});
  if (!rules.ok()) std::abort();  // it compiled alone
  sp::RuleRunner runner(*rules);
  sp::RuleBatch batch((*rules)->streams().size());
  static const char* kPayloads[] = {
      R"({"client_id":"pi","timestamp":"2022-07-14 00:00:00","temperature":39.7,"humidity":45,"count":3})",
      R"({"a":{"b":[1,2.5,"x",null,true,{"c":-9223372036854775808}]},"s":"\u00e9\n","n":18446744073709551615})",
      R"({"client_id":"","timestamp":1e300,"count":1.5,"temperature":"hot","x":[[[]]]})",
      R"({})",
  };
  for (const char* payload : kPayloads) {
    for (const char* topic : {"sensor/pi-1/data", "a", "$SYS/x", "http"}) {
      batch.Clear();
      runner.Apply(sp::Message{topic, payload, "client-1", 1795564800LL * 1000000}, &batch);
      for (size_t s = 0; s < (*rules)->streams().size(); ++s) {
        for (const sp::Record& r : batch.records(s)) sp::fuzz::CheckJsonObject(r.value, "a record");
      }
      for (const sp::Record& r : batch.errors()) sp::fuzz::CheckJsonObject(r.value, "an error record");
    }
  }
  return 0;
}
