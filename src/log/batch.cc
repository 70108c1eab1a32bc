#include "log/batch.h"

#include <cstring>

#include "common/coding.h"
#include "common/crc32c.h"

namespace sp::batch {

namespace {

void PutVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}
bool GetVarint(std::string_view* in, uint64_t* v) {
  *v = 0;
  for (int shift = 0; shift < 64 && !in->empty(); shift += 7) {
    auto byte = static_cast<unsigned char>(in->front());
    in->remove_prefix(1);
    *v |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if (byte < 0x80) return true;
  }
  return false;
}
bool GetBytes(std::string_view* in, std::string_view* out) {
  uint64_t n;
  if (!GetVarint(in, &n) || n > in->size()) return false;
  *out = in->substr(0, n);
  in->remove_prefix(n);
  return true;
}
uint64_t ZigZag(int64_t v) { return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63); }
int64_t UnZigZag(uint64_t v) { return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1); }

}  // namespace

void Encode(uint64_t first_offset, std::span<const Record* const> records, std::string* out) {
  const size_t start = out->size();
  int64_t first_ts = records.empty() ? 0 : records[0]->timestamp_us;
  int64_t max_ts = first_ts;
  for (const Record* r : records) max_ts = std::max(max_ts, r->timestamp_us);
  PutFixed32(out, 0);  // crc, filled below
  PutFixed32(out, 0);  // length, filled below
  out->push_back(1);  // version
  out->push_back(0);  // attributes
  out->append(2, '\0');
  PutFixed64(out, first_offset);
  PutFixed32(out, static_cast<uint32_t>(records.size()));
  PutFixed64(out, static_cast<uint64_t>(first_ts));
  PutFixed64(out, static_cast<uint64_t>(max_ts));
  for (const Record* r : records) {
    PutVarint(out, r->key.size());
    out->append(r->key);
    PutVarint(out, r->value.size());
    out->append(r->value);
    PutVarint(out, ZigZag(r->timestamp_us - first_ts));
  }
  uint32_t length = static_cast<uint32_t>(out->size() - start - kLengthPrefix);
  char* base = out->data() + start;
  EncodeFixed32(base + 4, length);
  EncodeFixed32(base, crc32c::Extend(0, base + 4, out->size() - start - 4));
}

Result<Header> DecodeHeader(std::string_view bytes) {
  if (bytes.size() < kHeaderSize) return Status::Corruption("short batch header");
  const char* p = bytes.data();
  Header h;
  h.length = DecodeFixed32(p + 4);
  if (h.length < kHeaderSize - kLengthPrefix || h.length > kMaxLength) return Status::Corruption("bad batch length");
  if (p[8] != 1) return Status::Corruption("unknown batch version");
  h.first_offset = DecodeFixed64(p + 12);
  h.count = DecodeFixed32(p + 20);
  if (h.count == 0) return Status::Corruption("empty batch");
  h.first_timestamp_us = static_cast<int64_t>(DecodeFixed64(p + 24));
  h.max_timestamp_us = static_cast<int64_t>(DecodeFixed64(p + 32));
  return h;
}

bool CrcMatches(std::string_view whole_batch) {
  if (whole_batch.size() < kLengthPrefix) return false;
  return DecodeFixed32(whole_batch.data()) == crc32c::Extend(0, whole_batch.data() + 4, whole_batch.size() - 4);
}

Status Decode(std::string_view whole_batch, uint32_t shard, uint64_t min_offset, RecordBuffer* out) {
  SP_ASSIGN_OR_RETURN(Header h, DecodeHeader(whole_batch));
  if (whole_batch.size() != h.total_size() || !CrcMatches(whole_batch)) {
    return Status::Corruption("batch at offset " + std::to_string(h.first_offset) + " fails its CRC");
  }
  const size_t before = out->size();
  std::string_view in = whole_batch.substr(kHeaderSize);
  for (uint32_t i = 0; i < h.count; ++i) {
    std::string_view key, value;
    uint64_t delta;
    if (!GetBytes(&in, &key) || !GetBytes(&in, &value) || !GetVarint(&in, &delta)) {
      out->Truncate(before);
      return Status::Corruption("record " + std::to_string(i) + " of the batch at offset " +
                                std::to_string(h.first_offset) + " is cut short");
    }
    if (h.first_offset + i < min_offset) continue;
    StoredRecord& r = out->Add();
    r.shard = shard;
    r.offset = h.first_offset + i;
    r.timestamp_us = h.first_timestamp_us + UnZigZag(delta);
    r.key = key;
    r.value = value;
  }
  return Status::OK();
}

char* RecordBuffer::BatchRoom(size_t size) {
  if (size > kChunkBytes) return large_.emplace_back(new char[size]).get();
  if (chunk_used_ + size > kChunkBytes || chunks_.empty()) {
    if (!chunks_.empty()) ++chunk_;
    if (chunk_ == chunks_.size()) chunks_.emplace_back(new char[kChunkBytes]);
    chunk_used_ = 0;
  }
  char* room = chunks_[chunk_].get() + chunk_used_;
  chunk_used_ += size;
  return room;
}

void RecordBuffer::Clear() {
  size_ = 0;
  chunk_ = 0;
  chunk_used_ = 0;
  large_.clear();
  // A read of many large records took more chunks than usual reads need: do not keep them all.
  if (chunks_.size() > kKeptChunks) chunks_.resize(kKeptChunks);
}

}  // namespace sp::batch
