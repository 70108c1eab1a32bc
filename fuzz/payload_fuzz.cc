// Fuzz target for the payload parser and the default rule: any bytes as a message either become
// one reading (a JSON object keyed by a safe device id) or one rejection whose error record is a
// JSON object. Nothing else, and never a crash.
#include <cstdint>
#include <string_view>

#include "fuzz/fuzz.h"
#include "rules/reading.h"
#include "rules/rule.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto rules = [] {
    sp::RuleOptions options;
    options.device_time_zone = "Europe/Berlin";  // a zone with DST, so gaps and overlaps are reachable
    options.max_payload_bytes = 4096;
    options.max_depth = 8;
    return sp::RuleSet::Compile({}, options).value();
  }();
  static sp::RuleRunner runner(rules);
  static sp::RuleBatch batch(1);
  batch.Clear();
  const std::string_view payload(reinterpret_cast<const char*>(data), size);
  if (!runner.Apply(sp::Message{"sensor/data", payload, "", 1795564800LL * 1000000}, &batch)) std::abort();
  const size_t records = batch.records(0).size(), rejections = batch.rejections().size();
  if (records + rejections != 1 || batch.errors().size() != rejections) std::abort();
  if (records == 1) {
    sp::fuzz::CheckJsonObject(batch.records(0)[0].value, "a reading");
    if (!sp::IsSafeDeviceId(batch.records(0)[0].key)) std::abort();
  } else {
    sp::fuzz::CheckJsonObject(batch.errors()[0].value, "an error record");
  }
  return 0;
}
