// The reading: what a rule that targets the `readings` stream must produce. A rule's output (the
// message itself for `SELECT *`) is mapped to the reading line of docs/format/record.md, with the
// checks that make the lake trustworthy: a safe device id, a parseable timestamp not too far in
// the future, typed and finite sensor fields.
#pragma once

#include <array>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/device_id.h"
#include "common/reading_columns.h"
#include "common/record.h"
#include "common/timestamp.h"
#include "rules/rule.h"
#include "rules/value.h"

namespace sp {

struct ReadingOptions {
  int64_t max_future_skew_s = 300;
  bool client_id_fallback = false;  // an empty client_id takes the MQTT client id
  std::string identity_topic_prefix = "sensor/";  // see TopicIdentity; empty: off
};

class ReadingMapper {
 public:
  ReadingMapper(ReadingOptions options, TimestampParser timestamps) : options_(options), timestamps_(timestamps) {}

  //! Writes the reading for fields (those kReadingColumns take from a message, the rest as extra)
  //! into *out, reusing its strings, or fills *rejection and returns false.
  bool Map(const Message& msg, std::span<const Field> fields, Record* out, Rejection* rejection) const;

 private:
  const ReadingOptions options_;
  const TimestampParser timestamps_;
};

//! What a reader of the readings stream takes from a line besides its key (device) and timestamp.
struct ReadingLineFields {
  int64_t received_at_us = 0;
  std::optional<int64_t> seq;
  std::array<std::optional<double>, kMetricCount> numbers;  // in Metric's order
};

//! Reads a line ReadingMapper wrote, relying on its fixed key order and compact form (about 900
//! instructions a line, under a third of simdjson's on-demand parse of it), with the values a
//! JSON parser gives. False when the line is not in that form (then use a JSON parser); `extra`
//! and what follows it is not read.
bool ParseReadingLine(std::string_view line, ReadingLineFields* out);

//! The device a topic speaks for: <id> in "<prefix><id>/<rest>" (rest may be empty), or empty.
//! Behind a broker whose ACL lets a device publish only under `sensor/<its id>/+/#` (see
//! docs/trust.md), that part of the topic is the identity the broker verified, while the payload's
//! client_id is only a claim. The slash after <id> is required, so the seed's `sensor/data`
//! carries none.
std::string_view TopicIdentity(std::string_view topic, std::string_view prefix);


}  // namespace sp
