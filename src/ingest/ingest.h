// The ingest stage, in place of IoT Core's subscription: takes messages from the broker, applies
// the rules, appends their records to the streams the rules target ("readings" by default) and
// rejected messages (with their reason and raw bytes) to the "errors" stream, and only then
// acknowledges them to the broker. A message is acknowledged only after every append returned,
// i.e. once it is durable under the log's fsync policy, so a crash at any moment loses nothing
// the broker handed over: what was not acknowledged is redelivered from the broker's persistent
// session.
#pragma once

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "common/env.h"
#include "common/metrics.h"
#include "ingest/linger.h"
#include "log/log.h"
#include "mqtt/client.h"
#include "rules/rule.h"

namespace sp {

//! The counters both ways in (MQTT and HTTP) add to, registered once per registry.
struct IngestCounters {
  Counter* appended;
  Counter* filtered;
  std::vector<Counter*> rejected;  // by Reason; every reason registered, so /metrics shows zeros
  static IngestCounters Register(Metrics* metrics);
};

//! Adds a payload over [ingest] max_payload_bytes to batch's error output the same way for both
//! ways in (docs/format/record.md): no rule reads it; its first max_payload_bytes are kept as raw
//! (msg.payload may be longer or already cut), with raw_truncated and payload_size, the size sent.
void RejectOversize(const RuleSet& rules, Message msg, size_t payload_size, RuleBatch* batch);

class Ingest {
 public:
  struct Options {
    size_t max_batch = 4096;  // messages per group commit
    LingerOptions linger;  // see ingest/linger.h
  };
  //! streams[i] is where records for rules->streams()[i] go. Nothing else is owned; everything
  //! must outlive the Ingest.
  Ingest(MqttSubscriber* subscriber, std::shared_ptr<const RuleSet> rules, std::vector<Stream*> streams, Stream* errors,
         Clock* clock, Metrics* metrics, Options options);
  Ingest(const Ingest&) = delete;
  Ingest& operator=(const Ingest&) = delete;
  ~Ingest();

  //! Runs the loop in its own thread.
  void Start();
  //! Finishes the batch in hand (appended and acknowledged), disconnects and joins the thread.
  void Stop();
  //! One round: receive up to max_batch messages (waiting up to `wait`), append, acknowledge.
  //! Returns the first append error after retrying until success or Stop.
  Status RunOnce(std::chrono::milliseconds wait);

 private:
  void Loop();
  //! Appends records, retrying with backoff while the log fails (a full disk, say): the messages
  //! stay unacknowledged meanwhile, so the broker keeps them. Aborted when stopping.
  Status AppendDurably(Stream* stream, std::span<const Record> records);

  MqttSubscriber* subscriber_;
  RuleRunner rules_;
  std::vector<Stream*> streams_;
  Stream* errors_;
  Clock* clock_;
  Options options_;

  LingerPolicy linger_;
  int64_t last_poll_us_ = 0;  // when the last Poll returned (monotonic): the policy's arrival rate
  Counter* received_;
  Counter* redelivered_;
  Counter* lingered_;
  Counter* append_errors_;
  IngestCounters counters_;

  RuleBatch batch_;  // reused across rounds so the records' strings keep their capacity
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace sp
