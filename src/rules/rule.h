// The rules stage, in place of IoT Rules SQL: turns one incoming message (MQTT or HTTP) into
// records for the streams its rules target, or into rejections with a reason code for the error
// output. A RuleSet is compiled once at start-up from `[[rules]]` (rules/sql.h; without any, the
// default rule `SELECT * FROM '#'` into `readings`) and shared; each ingest thread runs it with
// its own RuleRunner, which keeps its buffers from one message to the next.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/record.h"
#include "common/status.h"

namespace sp {

//! Why a message was rejected. The names are a contract (docs/architecture.md, "Contracts"; metric label `reason`).
enum class Reason {
  kMalformedJson,
  kNotObject,
  kTooDeep,
  kOversize,
  kMissingField,
  kWrongType,
  kNonFinite,
  kBadTimestamp,
  kTimestampSkew,
  kBadDeviceId,
  kSpoofedDevice,
};
inline constexpr Reason kAllReasons[] = {
    Reason::kMalformedJson, Reason::kNotObject,    Reason::kTooDeep,       Reason::kOversize,
    Reason::kMissingField,  Reason::kWrongType,    Reason::kNonFinite,     Reason::kBadTimestamp,
    Reason::kTimestampSkew, Reason::kBadDeviceId,  Reason::kSpoofedDevice,
};
//! "malformed_json", "not_object", ...
std::string_view ReasonName(Reason r);

//! A message as it arrived.
struct Message {
  std::string_view topic;
  std::string_view payload;
  std::string_view client_id;  // the MQTT client id when the broker exposes it, else empty
  int64_t received_at_us = 0;  // UTC
};

struct Rejection {
  Reason reason;
  std::string detail;  // for humans: which field, what was wrong
};

//! Fills *rejection and returns false: the checks that say whether a message passes end with
//! `return Reject(rejection, reason, why);`.
inline bool Reject(Rejection* rejection, Reason reason, std::string detail) {
  rejection->reason = reason;
  rejection->detail = std::move(detail);
  return false;
}

//! One configured rule: `[[rules]] name, sql, stream`.
struct RuleSpec {
  std::string name;
  std::string sql;
  std::string stream = "readings";
  uint32_t line = 0;  // of `sql` in the config file, so a compile error can point there; 0: not from a file
};

struct RuleOptions {
  std::string device_time_zone = "UTC";  // timestamps without an offset are read in this zone
  size_t max_payload_bytes = 131072;
  int64_t max_future_skew_s = 300;
  int max_depth = 16;
  bool client_id_fallback = false;  // an empty client_id takes the MQTT client id
  std::string identity_topic_prefix = "sensor/";  // a topic "<prefix><id>/..." speaks for device <id>
};

//! What applying the rules to messages produced: records per target stream (by index into
//! RuleSet::streams()) and rejections for the error output. Reused across batches so the
//! records' strings keep their capacity.
class RuleBatch {
 public:
  explicit RuleBatch(size_t streams) : records_(streams), used_(streams, 0) {}
  void Clear();
  //! A record slot of stream, to fill; DropLast gives it back.
  Record* Add(size_t stream);
  void DropLast(size_t stream) { --used_[stream]; }
  std::span<const Record> records(size_t stream) const { return {records_[stream].data(), used_[stream]}; }
  size_t total_records() const;
  //! Adds msg to the error output. original_size: see MakeErrorRecord.
  void Reject(const Message& msg, std::string_view rule, Rejection rejection, size_t original_size = 0);
  //! The error records and, in the same order, why.
  const std::vector<Record>& errors() const { return errors_; }
  const std::vector<Rejection>& rejections() const { return rejections_; }

 private:
  std::vector<std::vector<Record>> records_;
  std::vector<size_t> used_;
  std::vector<Record> errors_;
  std::vector<Rejection> rejections_;
};

class RuleRunner;
class TimestampParser;

//! The compiled rules of a daemon: immutable, shared by every ingest thread.
class RuleSet {
 public:
  //! Compiles specs (none: the default rule). A bad rule is an InvalidArgument naming the rule,
  //! with the line and column of the mistake in its SQL.
  static Result<std::shared_ptr<const RuleSet>> Compile(const std::vector<RuleSpec>& specs, const RuleOptions& options);
  ~RuleSet();

  //! The streams the rules write to, each once, in the order the rules name them.
  const std::vector<std::string>& streams() const { return streams_; }
  //! The options it was compiled with.
  const RuleOptions& options() const { return options_; }
  //! The name of the first rule whose topic filter matches topic ("" when none), for rejections
  //! made before any rule ran (a payload cut short on receipt).
  std::string_view RuleFor(std::string_view topic) const;

 private:
  friend class RuleRunner;
  struct Compiled;
  RuleSet() = default;
  std::vector<std::unique_ptr<Compiled>> rules_;
  std::vector<std::string> streams_;
  RuleOptions options_;
};

//! Runs a RuleSet; one thread at a time.
class RuleRunner {
 public:
  explicit RuleRunner(std::shared_ptr<const RuleSet> rules);
  //! A runner that reads timestamps without an offset in device_time_zone instead of the rules'
  //! own (HTTP ingest's ?device_time_zone=); an unknown zone is an InvalidArgument.
  static Result<std::unique_ptr<RuleRunner>> ForZone(std::shared_ptr<const RuleSet> rules,
                                                     const std::string& device_time_zone);
  ~RuleRunner();
  RuleRunner(const RuleRunner&) = delete;
  RuleRunner& operator=(const RuleRunner&) = delete;

  //! Applies every rule whose FROM matches the message's topic and whose WHERE holds, adding its
  //! record (or its rejection) to batch. A payload that is not a valid JSON object is rejected
  //! once, by the first matching rule. Returns false when no rule kept anything of the message
  //! (no filter matched, or every WHERE was false): the rules chose to drop it.
  bool Apply(const Message& msg, RuleBatch* batch);
  const RuleSet& rules() const { return *rules_; }

 private:
  struct Impl;
  RuleRunner(std::shared_ptr<const RuleSet> rules, const TimestampParser& timestamps);
  std::shared_ptr<const RuleSet> rules_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sp
