// The agent's on-disk spool (docs/format/spool.md): every reading is appended here before it is
// published and dropped only once the broker has acknowledged it, so an outage, a lost network or a
// crash of the agent loses nothing that was taken. Segments of CRC-checked readings; what was
// acknowledged is kept in memory and summarized in ACKED. Not thread-safe: one owner.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>

#include "common/env.h"
#include "common/file_lock.h"
#include "common/status.h"

namespace sp {

//! When appended readings are made durable: `always`, `interval:<ms>` or `none`. The default,
//! interval:10000, is kind to an SD card: readings are written at once (a crash of the agent loses
//! none) but synced together, one flash write per 10 s instead of one per reading, so a power cut
//! during an outage loses at most the readings of the last 10 s (docs/format/spool.md).
struct SpoolSync {
  enum class Mode { kAlways, kInterval, kNone };
  Mode mode = Mode::kInterval;
  int64_t interval_ms = 10'000;
  static Result<SpoolSync> Parse(std::string_view text);
};

struct SpoolOptions {
  uint64_t max_bytes = 64 << 20;  // the segments together; beyond, the oldest readings are dropped
  SpoolSync sync;
};

//! What the spool did since it was opened (overflowed: since it was created).
struct SpoolStats {
  uint64_t appended = 0;       // readings appended since open
  uint64_t bytes_written = 0;  // segment and ACKED bytes written since open
  uint64_t syncs = 0;          // fdatasync calls since open
  uint64_t overflowed = 0;     // readings dropped unacknowledged because the spool was full, ever
  uint64_t bytes = 0;          // bytes the segments hold now
};

class Spool {
 public:
  //! Opens (creating if needed) the spool in dir, recovering from a torn tail. Unavailable when
  //! another process holds the spool.
  static Result<std::unique_ptr<Spool>> Open(Env* env, Clock* clock, const std::string& dir, SpoolOptions options);
  //! Flushes ACKED (errors are logged): a clean stop resends nothing.
  ~Spool();
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  //! The sequence number the next Append gets (the message's `count`).
  uint64_t next_seq() const { return next_seq_; }
  //! Appends the reading numbered next_seq(); when it returns OK the reading is written (and synced
  //! under `always`; under `interval:<ms>` within <ms>, by this call or a later Tick). May drop the
  //! oldest segment when the spool is full (counted).
  Status Append(std::string_view payload);
  //! Reads the payload of reading seq. NotFound when it was dropped or acknowledged and removed.
  Status Read(uint64_t seq, std::string* payload);
  //! Marks seq acknowledged; deletes segments that hold nothing unacknowledged any more.
  Status Ack(uint64_t seq);
  bool IsAcked(uint64_t seq) const { return seq < acked_below_ || acked_above_.count(seq) > 0; }
  //! Every reading below this is acknowledged (or dropped).
  uint64_t acked_below() const { return acked_below_; }
  //! Readings not yet acknowledged.
  uint64_t pending() const { return next_seq_ - acked_below_ - acked_above_.size(); }
  //! Time-driven work: the interval sync, ACKED's periodic rewrite. Call it often (the agent does
  //! every 50 ms): under `interval:<ms>` a reading is synced by the first call <ms> after the last sync.
  Status Tick();
  //! Syncs what was appended and writes ACKED.
  Status Flush();
  SpoolStats stats() const { return stats_; }

 private:
  struct Segment {
    uint64_t first_seq;
    uint64_t end_seq;  // one past the last reading
    uint64_t bytes;
  };
  Spool(Env* env, Clock* clock, std::string dir, SpoolOptions options)
      : env_(env), clock_(clock), dir_(std::move(dir)), options_(options) {}
  Status Recover();
  Status Roll();
  Status DropOldest();  // for room: counts what was not acknowledged
  Status RemoveOldestSegment();
  Status RemoveAcknowledgedSegments();
  Status Sync();
  Status WriteAcked();
  std::string SegmentPath(uint64_t first_seq) const;

  Env* const env_;
  Clock* const clock_;
  const std::string dir_;
  const SpoolOptions options_;
  uint64_t segment_limit_ = 0;
  std::unique_ptr<FileLock> lock_;
  std::map<uint64_t, Segment> segments_;  // by first_seq; the last one is being appended to
  std::unique_ptr<WritableFile> active_;
  bool unsynced_ = false;
  bool new_file_ = false;  // the active segment was created since the last sync
  int64_t last_sync_us_ = 0;
  uint64_t next_seq_ = 0;
  uint64_t acked_below_ = 0;
  std::set<uint64_t> acked_above_;  // acknowledged readings at or above acked_below_
  uint64_t acked_written_ = 0;      // acked_below_ as ACKED last recorded it
  int64_t acked_written_us_ = 0;
  SpoolStats stats_;
  // Sequential reads (the backlog) continue where the last one ended instead of scanning again.
  std::unique_ptr<RandomAccessFile> reader_;
  uint64_t reader_segment_ = 0, reader_seq_ = 0, reader_offset_ = 0;
};

}  // namespace sp
