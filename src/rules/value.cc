#include "rules/value.h"

#include <charconv>

#include "common/json_writer.h"

namespace sp {

Value Value::FromJson(simdjson::dom::element e) {
  switch (e.type()) {
    case simdjson::dom::element_type::OBJECT:
    case simdjson::dom::element_type::ARRAY: {
      Value x = Make(e.type() == simdjson::dom::element_type::OBJECT ? Kind::kObject : Kind::kArray);
      x.json = e;
      return x;
    }
    case simdjson::dom::element_type::INT64:
      return Int(e.get_int64().value_unsafe());
    case simdjson::dom::element_type::UINT64:
      return Double(static_cast<double>(e.get_uint64().value_unsafe()));
    case simdjson::dom::element_type::DOUBLE:
      return Double(e.get_double().value_unsafe());
    case simdjson::dom::element_type::STRING:
      return String(e.get_string().value_unsafe());
    case simdjson::dom::element_type::BOOL:
      return Bool(e.get_bool().value_unsafe());
    case simdjson::dom::element_type::NULL_VALUE:
      return Null();
  }
  return Undefined();
}

void AppendElementJson(std::string& out, simdjson::dom::element e) {
  switch (e.type()) {
    case simdjson::dom::element_type::OBJECT: {
      out += '{';
      bool first = true;
      const simdjson::dom::object object = e.get_object().value_unsafe();
      for (auto [key, value] : object) {
        if (!first) out += ',';
        first = false;
        AppendJsonString(out, key);
        out += ':';
        AppendElementJson(out, value);
      }
      out += '}';
      return;
    }
    case simdjson::dom::element_type::ARRAY: {
      out += '[';
      bool first = true;
      const simdjson::dom::array array = e.get_array().value_unsafe();
      for (auto item : array) {
        if (!first) out += ',';
        first = false;
        AppendElementJson(out, item);
      }
      out += ']';
      return;
    }
    case simdjson::dom::element_type::UINT64: {
      char buf[24];
      auto [end, ec] = std::to_chars(buf, buf + sizeof buf, e.get_uint64().value_unsafe());
      out.append(buf, end);
      return;
    }
    default:
      AppendValueJson(out, Value::FromJson(e));
  }
}

void AppendValueJson(std::string& out, const Value& v) {
  switch (v.kind) {
    case Value::Kind::kUndefined:
    case Value::Kind::kNull:
      out += "null";
      return;
    case Value::Kind::kBool:
      out += v.b ? "true" : "false";
      return;
    case Value::Kind::kInt: {
      char buf[24];
      auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v.i);
      out.append(buf, end);
      return;
    }
    case Value::Kind::kDouble:
      AppendDouble(out, v.d);
      return;
    case Value::Kind::kString:
      AppendJsonString(out, v.s);
      return;
    case Value::Kind::kObject:
    case Value::Kind::kArray:
      AppendElementJson(out, v.json);
      return;
  }
}

}  // namespace sp
