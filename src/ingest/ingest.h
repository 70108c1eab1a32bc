// The ingest stage, in place of IoT Core's subscription: takes messages from the broker, applies
// the rule, appends accepted records to the "readings" stream and rejected ones (with their
// reason and raw bytes) to the "errors" stream, and only then acknowledges them to the broker.
// A message is acknowledged only after both appends returned, i.e. once it is durable under the
// log's fsync policy, so a crash at any moment loses nothing the broker handed over: what was not
// acknowledged is redelivered from the broker's persistent session.
#pragma once

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "common/env.h"
#include "common/metrics.h"
#include "ingest/mqtt_client.h"
#include "log/log.h"
#include "rules/rule.h"

namespace sp {

//! The counters both ways in (MQTT and HTTP) add to, registered once per registry.
struct IngestCounters {
  Counter* appended;
  std::vector<Counter*> rejected;  // by Reason; every reason registered, so /metrics shows zeros
  static IngestCounters Register(Metrics* metrics);
};

class Ingest {
 public:
  struct Options {
    size_t max_batch = 4096;  // messages per group commit
  };
  //! Nothing is owned; everything must outlive the Ingest.
  Ingest(MqttSubscriber* subscriber, Rule* rule, Stream* readings, Stream* errors, Clock* clock, Metrics* metrics,
         Options options);
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
  Rule* rule_;
  Stream* readings_;
  Stream* errors_;
  Clock* clock_;
  Options options_;

  Counter* received_;
  Counter* append_errors_;
  IngestCounters counters_;

  std::vector<Record> accepted_;  // reused across rounds so their strings keep their capacity
  std::vector<Record> rejects_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace sp
