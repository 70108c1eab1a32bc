// HTTP ingest: the way in for devices that cannot speak MQTT. A body of NDJSON lines or one JSON
// array goes through the same rules as MQTT messages, under the topic the request names ("http"
// unless it says ?topic=...); accepted records and rejections are appended durably before the answer, which reports per
// line what was rejected and why. The HTTP side (route, bearer token) is the web stage's; this class is the part that
// needs no HTTP. Thread-safe: requests arrive on the web server's threads.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "common/env.h"
#include "common/metrics.h"
#include "ingest/ingest.h"
#include "log/log.h"
#include "rules/rule.h"

namespace sp {

class HttpIngest {
 public:
  //! streams[i] takes the records of rules->streams()[i]; they, the clock and metrics must
  //! outlive this.
  HttpIngest(std::shared_ptr<const RuleSet> rules, std::vector<Stream*> streams, Stream* errors, Clock* clock,
             Metrics* metrics);

  struct Answer {
    int status = 200;
    std::string body;  // JSON
  };
  //! Ingests body (NDJSON, or a JSON array when it starts with '[') as messages published to
  //! topic, reading timestamps without an offset in device_time_zone (empty: [ingest]
  //! device_time_zone). A message over [ingest] max_payload_bytes is rejected as over MQTT. 200 with
  //! {"accepted":N,"rejected":M,"filtered":F,"errors":[{"line":L,"reason":..,"detail":..}]} once
  //! everything is durable; 400 when the body is not NDJSON or a JSON array at all, the topic is not
  //! one MQTT would accept for a PUBLISH, or the zone is unknown; 503 when the log refuses (nothing
  //! was acknowledged: the client may send again).
  Answer Ingest(std::string_view body, std::string_view topic = "http", const std::string& device_time_zone = "");

 private:
  //! A runner for this request's thread: taken from the idle ones, or made. A RuleRunner serves
  //! one thread at a time, and concurrent requests must not queue behind one another's rules.
  std::unique_ptr<RuleRunner> TakeRunner();
  void ReturnRunner(std::unique_ptr<RuleRunner> runner);

  std::shared_ptr<const RuleSet> rules_;
  std::mutex runners_mu_;
  std::vector<std::unique_ptr<RuleRunner>> idle_runners_;  // at most one per web server thread
  std::vector<Stream*> streams_;
  Stream* errors_;
  Clock* clock_;
  Counter* received_;
  IngestCounters counters_;
};

}  // namespace sp
