#include "ingest/ingest.h"

#include <algorithm>
#include <iterator>
#include <utility>

#include <spdlog/spdlog.h>

#include "common/thread_name.h"
#include "rules/error_record.h"

namespace sp {

IngestCounters IngestCounters::Register(Metrics* metrics) {
  IngestCounters c;
  c.appended = metrics->GetCounter("sensorpipe_records_appended_total",
                                   "Records the rules made, appended durably to their streams.");
  c.filtered =
      metrics->GetCounter("sensorpipe_messages_filtered_total",
                          "Messages no rule kept: no rule's FROM matched the topic, or every WHERE was false.");
  for (Reason r : kAllReasons) {
    c.rejected.push_back(metrics->GetCounter("sensorpipe_messages_rejected_total",
                                             "Messages rejected by the rule, by reason; each is in the errors output.",
                                             {{"reason", std::string(ReasonName(r))}}));
  }
  return c;
}

void RejectOversize(const RuleSet& rules, Message msg, size_t payload_size, RuleBatch* batch) {
  msg.payload = msg.payload.substr(0, rules.options().max_payload_bytes);
  batch->Reject(msg, rules.RuleFor(msg.topic),
                {Reason::kOversize, "payload of " + std::to_string(payload_size) + " bytes is over the limit"},
                payload_size);
}

Ingest::Ingest(MqttSubscriber* subscriber, std::shared_ptr<const RuleSet> rules, std::vector<Stream*> streams,
               Stream* errors, Clock* clock, Metrics* metrics, Options options)
    : subscriber_(subscriber),
      rules_(std::move(rules)),
      streams_(std::move(streams)),
      errors_(errors),
      clock_(clock),
      options_(options),
      linger_(options.linger),
      received_(metrics->GetCounter("sensorpipe_messages_received_total", "Messages received from the broker.")),
      redelivered_(
          metrics->GetCounter("sensorpipe_messages_redelivered_total",
                              "QoS 1 messages the broker sent again (DUP set): a restart or reconnect cut off "
                              "their acknowledgement, so the log may hold them twice; readings counts them once.")),
      lingered_(metrics->GetCounter("sensorpipe_ingest_lingers_total",
                                    "Group commits that waited for more messages under sustained load.")),
      append_errors_(metrics->GetCounter("sensorpipe_ingest_append_errors_total",
                                         "Failed appends to the log (retried; the messages stay unacknowledged).")),
      counters_(IngestCounters::Register(metrics)),
      batch_(streams_.size()) {}

Ingest::~Ingest() { Stop(); }

void Ingest::Start() {
  thread_ = std::thread([this] {
    NameThisThread("sp-ingest");
    Loop();
  });
}

void Ingest::Stop() {
  stopping_ = true;
  subscriber_->Wakeup();
  if (thread_.joinable()) thread_.join();
  (void)subscriber_->Disconnect();
}

void Ingest::Loop() {
  while (!stopping_) {
    Status s = RunOnce(std::chrono::milliseconds(500));
    if (!s.ok() && !s.IsAborted()) spdlog::error("ingest: {}", s.ToString());
  }
}

Status Ingest::RunOnce(std::chrono::milliseconds wait) {
  SP_ASSIGN_OR_RETURN(std::vector<MqttMessage> messages, subscriber_->Poll(wait, options_.max_batch));
  const int64_t polled_at = clock_->MonotonicMicros();
  const std::chrono::microseconds linger =
      linger_.OnPoll(messages.size(), polled_at - std::exchange(last_poll_us_, polled_at));
  if (messages.empty()) return Status::OK();
  if (linger.count() > 0 && messages.size() < options_.max_batch) {
    // The broker keeps sending fast: let more arrive so they share this group commit.
    lingered_->Inc();
    const int64_t start = clock_->MonotonicMicros();
    std::this_thread::sleep_for(linger);
    SP_ASSIGN_OR_RETURN(std::vector<MqttMessage> more,
                        subscriber_->Poll(std::chrono::milliseconds(0), options_.max_batch - messages.size()));
    linger_.OnLingered(more.size(), clock_->MonotonicMicros() - start);
    std::move(more.begin(), more.end(), std::back_inserter(messages));
  }
  received_->Inc(messages.size());
  redelivered_->Inc(std::count_if(messages.begin(), messages.end(), [](const MqttMessage& m) { return m.dup; }));

  batch_.Clear();
  const int64_t now = clock_->NowMicros();
  for (const MqttMessage& m : messages) {
    Message msg{m.topic, m.payload, /*client_id=*/{}, now};
    if (m.truncated) {
      // Only the first max_payload_bytes were kept on receipt.
      RejectOversize(rules_.rules(), msg, m.payload_size, &batch_);
    } else if (!rules_.Apply(msg, &batch_)) {
      counters_.filtered->Inc();
    }
  }
  for (const Rejection& r : batch_.rejections()) counters_.rejected[static_cast<size_t>(r.reason)]->Inc();

  // Every append must be durable before any acknowledgement: a rejected message is still data
  // the broker handed to us, and the error output is where the user finds it.
  for (size_t i = 0; i < streams_.size(); ++i) {
    SP_RETURN_IF_ERROR(AppendDurably(streams_[i], batch_.records(i)));
    counters_.appended->Inc(batch_.records(i).size());
  }
  SP_RETURN_IF_ERROR(AppendDurably(errors_, batch_.errors()));
  return subscriber_->Ack(messages);
}

Status Ingest::AppendDurably(Stream* stream, std::span<const Record> records) {
  if (records.empty()) return Status::OK();
  auto backoff = std::chrono::milliseconds(50);
  while (true) {
    Status s = stream->Append(records);
    if (s.ok()) return s;
    append_errors_->Inc();
    spdlog::error("ingest: append to {} failed, retrying in {} ms: {}", stream->name(), backoff.count(),
                  s.ToString());
    // Sleep in short steps so Stop() is not held up by a long backoff, and keep the connection
    // alive meanwhile: if the broker dropped it, it would redeliver every message we hold.
    for (auto slept = std::chrono::milliseconds(0); slept < backoff; slept += std::chrono::milliseconds(10)) {
      if (stopping_) return Status::Aborted("stopping with an append outstanding; the broker keeps the messages");
      SP_RETURN_IF_ERROR(subscriber_->KeepAlive());
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
  }
}

}  // namespace sp
