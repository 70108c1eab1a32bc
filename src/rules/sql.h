// AWS IoT Rules SQL, the subset users write (docs/rules.md):
//   SELECT <expr> [AS name], ... FROM '<topic filter>' [WHERE <cond>]
// Compile() parses and type-checks a rule once, at start-up; a mistake is an InvalidArgument that
// points at the line and column. An Evaluator then runs the compiled program per message without
// allocating: values are views (rules/value.h) and the strings functions make go into scratch
// strings that keep their capacity from one message to the next.
#pragma once

#include <deque>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "rules/rule.h"
#include "rules/value.h"

namespace sp::sql {

enum class Op : uint8_t {
  kLiteral,
  kPath,  // a constant; a field of the message (a.b[0].c)
  kNeg,
  kNot,  // unary
  kAdd,
  kSub,
  kMul,
  kDiv,
  kMod,  // arithmetic
  kEq,
  kNe,
  kLt,
  kLe,
  kGt,
  kGe,  // comparison
  kAnd,
  kOr,
  kIsNull,
  kIsNotNull,  // logic
  kCase,
  kCast,
  kCall,
};
enum class Func : uint8_t { kTopic, kClientId, kTimestamp, kCoalesce, kAbs, kRound, kLower, kUpper, kConcat };
enum class CastType : uint8_t { kInt, kDecimal, kBool, kString };

//! One step of a path: a key, or an index into an array (key empty).
struct PathStep {
  std::string_view key;
  int64_t index = -1;
};

struct Node {
  Op op = Op::kLiteral;
  uint32_t pos = 0;  // byte offset in the SQL, for errors
  Value literal;
  std::vector<PathStep> path;
  std::vector<int32_t> args;  // children by index; kCase: [operand] (when, then)... [else]
  Func func = Func::kTopic;
  CastType cast = CastType::kInt;
  bool case_operand = false, case_else = false;
};

struct SelectItem {
  bool star = false;  // `*`: every field of the message
  int32_t expr = -1;
  std::string name;  // the output key
};

//! A compiled rule. Views in nodes point into text and strings, so a Program never moves.
struct Program {
  std::string text;
  std::vector<Node> nodes;
  std::vector<SelectItem> select;
  std::string from;  // the topic filter
  int32_t where = -1;
  std::deque<std::string> strings;  // unescaped literals and quoted names
};

//! Parses and type-checks sql. Errors read "line L, column C: <what>" followed by the line and a
//! caret under the column.
Result<std::unique_ptr<const Program>> Compile(std::string_view sql);

//! An MQTT topic filter: '+' is one whole level, '#' the last level; not empty.
Status ValidateTopicFilter(std::string_view filter);
//! MQTT matching: '+' one level, '#' this level and all below; wildcards at the first level do
//! not match topics starting with '$'.
bool TopicMatches(std::string_view filter, std::string_view topic);

//! Runs one Program; one thread at a time.
class Evaluator {
 public:
  explicit Evaluator(const Program* program) : program_(program) {}

  //! Points the evaluator at a message and its parsed payload (valid until the next Bind).
  void Bind(const Message* msg, simdjson::dom::element payload);
  //! True when the message passes WHERE (a rule without WHERE passes everything). Anything but
  //! TRUE fails, as in SQL and AWS IoT: NULL or Undefined do not pass.
  bool Where();
  //! The SELECT's output, valid until the next Bind. Undefined values are left out.
  std::span<const Field> Select();

 private:
  Value Eval(int32_t node);
  Value Call(const Node& n);
  Value Cast(const Value& v, CastType type);
  //! A scratch string for a value made while evaluating; kept until the next Bind.
  std::string& Scratch();
  void Put(std::string_view name, const Value& v);

  const Program* program_;
  const Message* msg_ = nullptr;
  simdjson::dom::element payload_;   // an object
  std::deque<std::string> scratch_;  // a deque: growing it never moves the strings values point into
  size_t scratch_used_ = 0;
  std::vector<Field> out_;
};

}  // namespace sp::sql
