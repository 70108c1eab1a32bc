// Evaluator: runs a compiled rule on one message. Semantics follow AWS IoT SQL where users rely
// on them: a missing field is Undefined and leaves its output key out; an operation on values of
// the wrong type (known only per message, as payloads are schemaless) is Undefined rather than an
// error; Int op Int stays Int, anything with a Decimal is a Decimal.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>

#include "rules/sql.h"

namespace sp::sql {

namespace {

using Kind = Value::Kind;

// -1, 0, 1, or 2 when the values cannot be ordered (different types, or a missing one).
int Compare(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.kind == Kind::kInt && b.kind == Kind::kInt) return a.i < b.i ? -1 : a.i > b.i ? 1 : 0;
    const double x = a.number(), y = b.number();
    return x < y ? -1 : x > y ? 1 : x == y ? 0 : 2;
  }
  if (a.kind == Kind::kString && b.kind == Kind::kString) {
    const int c = a.s.compare(b.s);
    return c < 0 ? -1 : c > 0 ? 1 : 0;
  }
  if (a.kind == Kind::kBool && b.kind == Kind::kBool) return a.b == b.b ? 0 : a.b ? 1 : -1;
  return 2;
}

// Whole doubles within int64 become Int; the rest stay Decimal.
bool ToInt(double d, int64_t* out) {
  if (!std::isfinite(d) || d < -9.2233720368547758e18 || d >= 9.2233720368547758e18) return false;
  *out = static_cast<int64_t>(d);
  return true;
}

}  // namespace

void Evaluator::Bind(const Message* msg, simdjson::dom::element payload) {
  msg_ = msg;
  payload_ = payload;
  scratch_used_ = 0;
}

std::string& Evaluator::Scratch() {
  if (scratch_used_ == scratch_.size()) scratch_.emplace_back();
  std::string& s = scratch_[scratch_used_++];
  s.clear();
  return s;
}

bool Evaluator::Where() {
  if (program_->where < 0) return true;
  const Value v = Eval(program_->where);
  return v.kind == Kind::kBool && v.b;
}

void Evaluator::Put(std::string_view name, const Value& v) {
  // A later item replaces an earlier one of the same name (`SELECT *, topic() AS topic`).
  for (Field& f : out_) {
    if (f.name == name) {
      f.value = v;
      return;
    }
  }
  out_.push_back({name, v});
}

std::span<const Field> Evaluator::Select() {
  out_.clear();
  for (const SelectItem& item : program_->select) {
    if (item.star) {
      // The message's own keys are checked only against the items before the star, so a payload
      // with many keys costs linear time, not quadratic.
      const size_t before = out_.size();
      const simdjson::dom::object object = payload_.get_object().value_unsafe();
      for (const auto field : object) {
        const std::string_view key = field.key;
        auto same = std::find_if(out_.begin(), out_.begin() + before, [&](const Field& f) { return f.name == key; });
        if (same != out_.begin() + before) {
          same->value = Value::FromJson(field.value);
        } else {
          out_.push_back({key, Value::FromJson(field.value)});
        }
      }
    } else {
      Put(item.name, Eval(item.expr));
    }
  }
  // Undefined means "no such key" in the output.
  out_.erase(std::remove_if(out_.begin(), out_.end(), [](const Field& f) { return f.value.kind == Kind::kUndefined; }),
             out_.end());
  return out_;
}

Value Evaluator::Eval(int32_t id) {
  const Node& n = program_->nodes[id];
  switch (n.op) {
    case Op::kLiteral:
      return n.literal;

    case Op::kPath: {
      simdjson::dom::element e = payload_;
      for (const PathStep& step : n.path) {
        if (step.index < 0) {
          simdjson::dom::object o;
          if (e.get(o) != simdjson::SUCCESS || o.at_key(step.key).get(e) != simdjson::SUCCESS)
            return Value::Undefined();
        } else {
          simdjson::dom::array a;
          if (e.get(a) != simdjson::SUCCESS || a.at(static_cast<size_t>(step.index)).get(e) != simdjson::SUCCESS) {
            return Value::Undefined();
          }
        }
      }
      return Value::FromJson(e);
    }

    case Op::kNeg: {
      const Value v = Eval(n.args[0]);
      if (v.kind == Kind::kInt && v.i != std::numeric_limits<int64_t>::min()) return Value::Int(-v.i);
      if (v.is_number()) return Value::Double(-v.number());
      return Value::Undefined();
    }

    case Op::kNot: {
      const Value v = Eval(n.args[0]);
      return v.kind == Kind::kBool ? Value::Bool(!v.b) : Value::Undefined();
    }

    case Op::kAdd:
    case Op::kSub:
    case Op::kMul:
    case Op::kDiv:
    case Op::kMod: {
      const Value a = Eval(n.args[0]), b = Eval(n.args[1]);
      if (!a.is_number() || !b.is_number()) return Value::Undefined();
      if (a.kind == Kind::kInt && b.kind == Kind::kInt) {
        int64_t r = 0;
        switch (n.op) {
          case Op::kAdd:
            if (!__builtin_add_overflow(a.i, b.i, &r)) return Value::Int(r);
            break;
          case Op::kSub:
            if (!__builtin_sub_overflow(a.i, b.i, &r)) return Value::Int(r);
            break;
          case Op::kMul:
            if (!__builtin_mul_overflow(a.i, b.i, &r)) return Value::Int(r);
            break;
          case Op::kDiv:
          case Op::kMod:
            if (b.i == 0) return Value::Undefined();
            if (b.i == -1 && a.i == std::numeric_limits<int64_t>::min()) break;  // overflows: Decimal
            return Value::Int(n.op == Op::kDiv ? a.i / b.i : a.i % b.i);
          default:
            break;
        }
        // An Int result that would overflow is computed as a Decimal instead.
      }
      const double x = a.number(), y = b.number();
      double r = 0;
      switch (n.op) {
        case Op::kAdd:
          r = x + y;
          break;
        case Op::kSub:
          r = x - y;
          break;
        case Op::kMul:
          r = x * y;
          break;
        case Op::kDiv:
          if (y == 0) return Value::Undefined();
          r = x / y;
          break;
        case Op::kMod:
          if (y == 0) return Value::Undefined();
          r = std::fmod(x, y);
          break;
        default:
          break;
      }
      return std::isfinite(r) ? Value::Double(r) : Value::Undefined();
    }

    case Op::kEq:
    case Op::kNe:
    case Op::kLt:
    case Op::kLe:
    case Op::kGt:
    case Op::kGe: {
      const int c = Compare(Eval(n.args[0]), Eval(n.args[1]));
      if (c == 2) return Value::Undefined();
      switch (n.op) {
        case Op::kEq:
          return Value::Bool(c == 0);
        case Op::kNe:
          return Value::Bool(c != 0);
        case Op::kLt:
          return Value::Bool(c < 0);
        case Op::kLe:
          return Value::Bool(c <= 0);
        case Op::kGt:
          return Value::Bool(c > 0);
        default:
          return Value::Bool(c >= 0);
      }
    }

    case Op::kAnd:
    case Op::kOr: {
      // Three-valued: FALSE AND x is FALSE, TRUE OR x is TRUE whatever x is; otherwise Undefined
      // unless both sides are booleans.
      const bool is_and = n.op == Op::kAnd;
      const Value a = Eval(n.args[0]);
      if (a.kind == Kind::kBool && a.b != is_and) return a;
      const Value b = Eval(n.args[1]);
      if (b.kind == Kind::kBool && b.b != is_and) return b;
      if (a.kind == Kind::kBool && b.kind == Kind::kBool) return Value::Bool(is_and);
      return Value::Undefined();
    }

    case Op::kIsNull:
      return Value::Bool(Eval(n.args[0]).is_missing());
    case Op::kIsNotNull:
      return Value::Bool(!Eval(n.args[0]).is_missing());

    case Op::kCase: {
      size_t i = 0;
      Value operand;
      if (n.case_operand) operand = Eval(n.args[i++]);
      for (; i + 1 < n.args.size(); i += 2) {
        const Value when = Eval(n.args[i]);
        const bool hit = n.case_operand ? Compare(operand, when) == 0 : (when.kind == Kind::kBool && when.b);
        if (hit) return Eval(n.args[i + 1]);
      }
      return n.case_else ? Eval(n.args.back()) : Value::Undefined();
    }

    case Op::kCast:
      return Cast(Eval(n.args[0]), n.cast);
    case Op::kCall:
      return Call(n);
  }
  return Value::Undefined();
}

Value Evaluator::Cast(const Value& v, CastType type) {
  switch (type) {
    case CastType::kInt: {
      int64_t i = 0;
      if (v.kind == Kind::kInt) return v;
      if (v.kind == Kind::kDouble) return ToInt(std::trunc(v.d), &i) ? Value::Int(i) : Value::Undefined();
      if (v.kind == Kind::kBool) return Value::Int(v.b ? 1 : 0);
      if (v.kind == Kind::kString) {
        double d = 0;
        auto [end, ec] = std::from_chars(v.s.data(), v.s.data() + v.s.size(), d);
        if (ec != std::errc() || end != v.s.data() + v.s.size()) return Value::Undefined();
        return ToInt(std::trunc(d), &i) ? Value::Int(i) : Value::Undefined();
      }
      return Value::Undefined();
    }
    case CastType::kDecimal: {
      if (v.is_number()) return Value::Double(v.number());
      if (v.kind == Kind::kBool) return Value::Double(v.b ? 1 : 0);
      if (v.kind == Kind::kString) {
        double d = 0;
        auto [end, ec] = std::from_chars(v.s.data(), v.s.data() + v.s.size(), d);
        if (ec != std::errc() || end != v.s.data() + v.s.size() || !std::isfinite(d)) return Value::Undefined();
        return Value::Double(d);
      }
      return Value::Undefined();
    }
    case CastType::kBool: {
      if (v.kind == Kind::kBool) return v;
      if (v.is_number()) return Value::Bool(v.number() != 0);
      if (v.kind == Kind::kString) {
        auto is = [&](std::string_view word) {
          return v.s.size() == word.size() && std::equal(word.begin(), word.end(), v.s.begin(), [](char w, char c) {
                   return w == std::tolower(static_cast<unsigned char>(c));
                 });
        };
        if (is("true")) return Value::Bool(true);
        if (is("false")) return Value::Bool(false);
      }
      return Value::Undefined();
    }
    case CastType::kString: {
      if (v.kind == Kind::kString) return v;
      if (v.is_missing()) return Value::Undefined();
      std::string& s = Scratch();
      AppendValueJson(s, v);  // numbers, true/false, and objects or arrays as their JSON text
      return Value::String(s);
    }
  }
  return Value::Undefined();
}

Value Evaluator::Call(const Node& n) {
  switch (n.func) {
    case Func::kTopic: {
      const std::string_view topic = msg_->topic;
      if (n.args.empty()) return Value::String(topic);
      // topic(n): the n-th level, counting from 1 (checked at compile time to be a literal >= 1).
      int64_t level = program_->nodes[n.args[0]].literal.i;
      size_t start = 0;
      while (--level > 0) {
        const size_t slash = topic.find('/', start);
        if (slash == std::string_view::npos) return Value::Undefined();
        start = slash + 1;
      }
      return Value::String(topic.substr(start, topic.find('/', start) - start));
    }
    case Func::kClientId:
      return msg_->client_id.empty() ? Value::Undefined() : Value::String(msg_->client_id);
    case Func::kTimestamp:
      // As in AWS IoT: milliseconds since the epoch when the message was received.
      return Value::Int(msg_->received_at_us / 1000);
    case Func::kCoalesce:
      for (int32_t arg : n.args) {
        Value v = Eval(arg);
        if (!v.is_missing()) return v;
      }
      return Value::Undefined();
    case Func::kAbs: {
      const Value v = Eval(n.args[0]);
      if (v.kind == Kind::kInt && v.i != std::numeric_limits<int64_t>::min()) return Value::Int(v.i < 0 ? -v.i : v.i);
      if (v.is_number()) return Value::Double(std::fabs(v.number()));
      return Value::Undefined();
    }
    case Func::kRound: {
      const Value v = Eval(n.args[0]);
      if (v.kind == Kind::kInt) return v;
      if (!v.is_number()) return Value::Undefined();
      if (n.args.size() == 2) {
        // round(x, digits): a Decimal with that many decimals, half away from zero.
        const double scale = std::pow(10.0, static_cast<double>(program_->nodes[n.args[1]].literal.i));
        const double r = std::round(v.d * scale) / scale;
        return std::isfinite(r) ? Value::Double(r) : v;
      }
      int64_t i = 0;
      return ToInt(std::round(v.d), &i) ? Value::Int(i) : Value::Undefined();
    }
    case Func::kLower:
    case Func::kUpper: {
      const Value v = Eval(n.args[0]);
      if (v.kind != Kind::kString) return Value::Undefined();
      std::string& s = Scratch();
      s.assign(v.s);
      // ASCII only: bytes of multi-byte UTF-8 characters are >= 0x80 and left alone.
      for (char& c : s) {
        c = static_cast<char>(n.func == Func::kLower ? std::tolower(static_cast<unsigned char>(c))
                                                     : std::toupper(static_cast<unsigned char>(c)));
      }
      return Value::String(s);
    }
    case Func::kConcat: {
      // Claim the scratch string first: arguments may use scratch strings of their own.
      std::string& s = Scratch();
      for (int32_t arg : n.args) {
        const Value v = Eval(arg);
        if (v.is_missing()) return Value::Undefined();
        if (v.kind == Kind::kString) {
          s.append(v.s);
        } else {
          AppendValueJson(s, v);
        }
      }
      return Value::String(s);
    }
  }
  return Value::Undefined();
}

}  // namespace sp::sql
