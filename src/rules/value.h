// A value while a rule runs: a JSON scalar, a view of a JSON object or array in the parsed
// payload, or Undefined (a field that is not there), as in AWS IoT SQL. Values never own memory:
// strings point into the payload, the compiled rule, or the runner's scratch strings, which all
// live until the next message. That is what keeps evaluation free of allocation.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace sp {

struct Value {
  enum class Kind : uint8_t { kUndefined, kNull, kBool, kInt, kDouble, kString, kObject, kArray };
  Kind kind = Kind::kUndefined;
  bool b = false;
  int64_t i = 0;
  double d = 0;
  std::string_view s;
  simdjson::dom::element json;  // kObject, kArray

  static Value Undefined() { return {}; }
  static Value Null() { return Make(Kind::kNull); }
  static Value Bool(bool v) {
    Value x = Make(Kind::kBool);
    x.b = v;
    return x;
  }
  static Value Int(int64_t v) {
    Value x = Make(Kind::kInt);
    x.i = v;
    return x;
  }
  static Value Double(double v) {
    Value x = Make(Kind::kDouble);
    x.d = v;
    return x;
  }
  static Value String(std::string_view v) {
    Value x = Make(Kind::kString);
    x.s = v;
    return x;
  }
  //! A view of a parsed JSON value; a uint64 beyond int64 becomes a double.
  static Value FromJson(simdjson::dom::element e);

  bool is_number() const { return kind == Kind::kInt || kind == Kind::kDouble; }
  bool is_missing() const { return kind == Kind::kUndefined || kind == Kind::kNull; }
  double number() const { return kind == Kind::kInt ? static_cast<double>(i) : d; }

 private:
  static Value Make(Kind k) {
    Value x;
    x.kind = k;
    return x;
  }
};

//! A named value: one key of a message or of a rule's output.
struct Field {
  std::string_view name;
  Value value;
};

//! Appends v as JSON (Undefined as null; the caller leaves Undefined fields out). Objects and
//! arrays are written minified from the parsed payload.
void AppendValueJson(std::string& out, const Value& v);
void AppendElementJson(std::string& out, simdjson::dom::element e);

}  // namespace sp
