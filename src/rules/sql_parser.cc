// Compile(): a hand-written lexer and recursive-descent parser for the rule SQL, then a type
// check. Both report the first mistake with its position; nothing here runs per message.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>

#include "common/json_writer.h"
#include "rules/reading.h"
#include "rules/sql.h"

namespace sp::sql {

namespace {

// Deep enough for any rule a person writes; shallow enough that evaluating a hostile rule (the
// fuzz target) cannot exhaust the stack.
constexpr int kMaxNesting = 64;

enum class Tok { kEnd, kIdent, kQuotedIdent, kString, kInt, kDecimal, kSymbol };

struct Token {
  Tok kind = Tok::kEnd;
  uint32_t pos = 0;
  std::string_view text;  // the source text (for kString/kQuotedIdent: between the quotes, raw)
};

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return std::tolower(x) == std::tolower(y); });
}

// Words that cannot be field names without double quotes.
constexpr std::string_view kReserved[] = {"SELECT", "FROM", "WHERE", "AS",   "AND",  "OR",   "NOT",  "IS",
                                          "NULL",   "TRUE", "FALSE", "CASE", "WHEN", "THEN", "ELSE", "END"};

bool IsReserved(std::string_view word) {
  return std::any_of(std::begin(kReserved), std::end(kReserved), [&](std::string_view k) { return IEquals(k, word); });
}

struct FuncInfo {
  std::string_view name;
  Func func;
  int min_args, max_args;  // max -1: any number
};
constexpr FuncInfo kFuncs[] = {
    {"topic", Func::kTopic, 0, 1},        {"clientid", Func::kClientId, 0, 0}, {"timestamp", Func::kTimestamp, 0, 0},
    {"coalesce", Func::kCoalesce, 1, -1}, {"abs", Func::kAbs, 1, 1},           {"round", Func::kRound, 1, 2},
    {"lower", Func::kLower, 1, 1},        {"upper", Func::kUpper, 1, 1},       {"concat", Func::kConcat, 2, -1},
};

// What the checker knows of an expression's type before any message is seen.
enum class Type { kAny, kNull, kBool, kNumber, kString };

const char* TypeName(Type t) {
  switch (t) {
    case Type::kAny:
      return "any";
    case Type::kNull:
      return "NULL";
    case Type::kBool:
      return "a boolean";
    case Type::kNumber:
      return "a number";
    case Type::kString:
      return "a string";
  }
  return "?";
}

class Compiler {
 public:
  explicit Compiler(Program* p) : p_(p), src_(p->text) {}

  Status Run() {
    // Strings in the rule end up in JSON records, which must be valid UTF-8.
    if (!IsValidUtf8(src_)) return ErrorAt(0, "the rule is not valid UTF-8 text");
    SP_RETURN_IF_ERROR(Lex());
    SP_RETURN_IF_ERROR(ParseQuery());
    return CheckQuery();
  }

 private:
  // ---- Errors ----

  Status ErrorAt(uint32_t pos, const std::string& what) const {
    const size_t nl = pos == 0 ? std::string_view::npos : src_.rfind('\n', pos - 1);
    const size_t line_start = nl == std::string_view::npos ? 0 : nl + 1;
    size_t line_end = src_.find('\n', pos);
    if (line_end == std::string_view::npos) line_end = src_.size();
    const size_t line = 1 + std::count(src_.begin(), src_.begin() + line_start, '\n');
    const size_t column = pos - line_start + 1;
    std::string msg = "line " + std::to_string(line) + ", column " + std::to_string(column) + ": " + what + "\n  " +
                      std::string(src_.substr(line_start, line_end - line_start)) + "\n  " +
                      std::string(column - 1, ' ') + "^";
    return Status::InvalidArgument(msg);
  }

  // ---- Lexer ----

  Status Lex() {
    size_t i = 0;
    while (true) {
      while (i < src_.size() && std::isspace(static_cast<unsigned char>(src_[i]))) ++i;
      Token t;
      t.pos = static_cast<uint32_t>(i);
      if (i == src_.size()) {
        tokens_.push_back(t);
        return Status::OK();
      }
      const char c = src_[i];
      if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
        size_t j = i;
        while (j < src_.size() && (std::isalnum(static_cast<unsigned char>(src_[j])) || src_[j] == '_')) ++j;
        t.kind = Tok::kIdent;
        t.text = src_.substr(i, j - i);
        i = j;
      } else if (std::isdigit(static_cast<unsigned char>(c))) {
        size_t j = i;
        while (j < src_.size() && std::isdigit(static_cast<unsigned char>(src_[j]))) ++j;
        t.kind = Tok::kInt;
        if (j + 1 < src_.size() && src_[j] == '.' && std::isdigit(static_cast<unsigned char>(src_[j + 1]))) {
          t.kind = Tok::kDecimal;
          ++j;
          while (j < src_.size() && std::isdigit(static_cast<unsigned char>(src_[j]))) ++j;
        }
        if (j < src_.size() && (src_[j] == 'e' || src_[j] == 'E')) {
          size_t k = j + 1;
          if (k < src_.size() && (src_[k] == '+' || src_[k] == '-')) ++k;
          if (k < src_.size() && std::isdigit(static_cast<unsigned char>(src_[k]))) {
            t.kind = Tok::kDecimal;
            j = k;
            while (j < src_.size() && std::isdigit(static_cast<unsigned char>(src_[j]))) ++j;
          }
        }
        t.text = src_.substr(i, j - i);
        i = j;
      } else if (c == '\'' || c == '"') {
        // 'string' and "quoted name"; the quote doubled stands for itself, as in standard SQL.
        size_t j = i + 1;
        while (true) {
          if (j >= src_.size()) {
            return ErrorAt(t.pos, c == '\'' ? "this string has no closing '" : "this name has no closing \"");
          }
          if (src_[j] == c) {
            if (j + 1 < src_.size() && src_[j + 1] == c) {
              j += 2;
              continue;
            }
            break;
          }
          ++j;
        }
        t.kind = c == '\'' ? Tok::kString : Tok::kQuotedIdent;
        t.text = src_.substr(i + 1, j - i - 1);
        i = j + 1;
      } else {
        static constexpr std::string_view kTwo[] = {"<>", "!=", "<=", ">="};
        t.kind = Tok::kSymbol;
        t.text = src_.substr(i, 1);
        for (std::string_view two : kTwo) {
          if (src_.compare(i, 2, two) == 0) t.text = src_.substr(i, 2);
        }
        if (t.text.size() == 1 && std::strchr("(),.*/%+-=<>[];", c) == nullptr) {
          return ErrorAt(t.pos, std::string("unexpected character '") + c + "'");
        }
        i += t.text.size();
      }
      tokens_.push_back(t);
    }
  }

  // ---- Parser ----

  const Token& Peek(size_t ahead = 0) const { return tokens_[std::min(at_ + ahead, tokens_.size() - 1)]; }
  bool IsKeyword(std::string_view kw, size_t ahead = 0) const {
    return Peek(ahead).kind == Tok::kIdent && IEquals(Peek(ahead).text, kw);
  }
  bool IsSymbol(std::string_view s, size_t ahead = 0) const {
    return Peek(ahead).kind == Tok::kSymbol && Peek(ahead).text == s;
  }
  bool AcceptKeyword(std::string_view kw) {
    if (!IsKeyword(kw)) return false;
    ++at_;
    return true;
  }
  bool AcceptSymbol(std::string_view s) {
    if (!IsSymbol(s)) return false;
    ++at_;
    return true;
  }
  std::string Describe(const Token& t) const {
    if (t.kind == Tok::kEnd) return "the end of the rule";
    if (t.kind == Tok::kString) return "'" + std::string(t.text) + "'";
    return "'" + std::string(t.text) + "'";
  }
  Status Expected(const std::string& what) const {
    return ErrorAt(Peek().pos, "expected " + what + ", found " + Describe(Peek()));
  }
  Status ExpectKeyword(std::string_view kw) {
    if (AcceptKeyword(kw)) return Status::OK();
    return Expected(std::string(kw));
  }
  Status ExpectSymbol(std::string_view s) {
    if (AcceptSymbol(s)) return Status::OK();
    return Expected("'" + std::string(s) + "'");
  }

  // A literal or quoted name with doubled quotes collapsed; kept in the program's strings.
  std::string_view Unquote(const Token& t) {
    const char q = t.kind == Tok::kString ? '\'' : '"';
    std::string s;
    for (size_t i = 0; i < t.text.size(); ++i) {
      s += t.text[i];
      if (t.text[i] == q) ++i;  // the second of a doubled quote
    }
    return p_->strings.emplace_back(std::move(s));
  }

  int32_t Add(Node n) {
    p_->nodes.push_back(std::move(n));
    return static_cast<int32_t>(p_->nodes.size() - 1);
  }
  Node Make(Op op, uint32_t pos, std::vector<int32_t> args = {}) {
    Node n;
    n.op = op;
    n.pos = pos;
    n.args = std::move(args);
    return n;
  }

  Status ParseQuery() {
    SP_RETURN_IF_ERROR(ExpectKeyword("SELECT"));
    do {
      SelectItem item;
      const Token& start = Peek();
      if (IsSymbol("*")) {
        ++at_;
        item.star = true;
      } else {
        SP_ASSIGN_OR_RETURN(item.expr, ParseExpr());
        if (AcceptKeyword("AS")) {
          const Token& name = Peek();
          if (name.kind == Tok::kIdent && !IsReserved(name.text)) {
            item.name = std::string(name.text);
          } else if (name.kind == Tok::kQuotedIdent) {
            item.name = std::string(Unquote(name));
          } else {
            return Expected("a name after AS");
          }
          if (item.name.empty()) return ErrorAt(name.pos, "the name after AS is empty");
          ++at_;
        } else {
          item.name = ImplicitName(p_->nodes[item.expr]);
          if (item.name.empty()) {
            return ErrorAt(start.pos,
                           "give this expression a name with AS (only fields and functions name themselves)");
          }
        }
      }
      names_pos_.push_back(start.pos);
      p_->select.push_back(std::move(item));
    } while (AcceptSymbol(","));

    SP_RETURN_IF_ERROR(ExpectKeyword("FROM"));
    if (Peek().kind != Tok::kString) return Expected("a topic filter in single quotes, such as 'sensor/#'");
    const Token& from = Peek();
    p_->from = std::string(Unquote(from));
    if (Status s = ValidateTopicFilter(p_->from); !s.ok()) return ErrorAt(from.pos, std::string(s.message()));
    ++at_;
    if (AcceptKeyword("WHERE")) {
      where_pos_ = Peek().pos;
      SP_ASSIGN_OR_RETURN(p_->where, ParseExpr());
    }
    AcceptSymbol(";");
    if (Peek().kind != Tok::kEnd)
      return Expected(p_->where < 0 ? "WHERE or the end of the rule" : "the end of the rule");
    return Status::OK();
  }

  // A field names itself after its last key (AWS IoT: SELECT a.b gives "b"); a function after itself.
  static std::string ImplicitName(const Node& n) {
    if (n.op == Op::kPath) {
      for (auto it = n.path.rbegin(); it != n.path.rend(); ++it) {
        if (!it->key.empty()) return std::string(it->key);
      }
    }
    if (n.op == Op::kCall) {
      for (const FuncInfo& f : kFuncs) {
        if (f.func == n.func) return std::string(f.name);
      }
    }
    return "";
  }

  Result<int32_t> ParseExpr() {
    if (++depth_ > kMaxNesting) return ErrorAt(Peek().pos, "expression nested too deeply");
    auto e = ParseOr();
    --depth_;
    return e;
  }

  Result<int32_t> ParseOr() {
    SP_ASSIGN_OR_RETURN(int32_t left, ParseAnd());
    while (IsKeyword("OR")) {
      uint32_t pos = Peek().pos;
      ++at_;
      SP_ASSIGN_OR_RETURN(int32_t right, ParseAnd());
      left = Add(Make(Op::kOr, pos, {left, right}));
    }
    return left;
  }

  Result<int32_t> ParseAnd() {
    SP_ASSIGN_OR_RETURN(int32_t left, ParseNot());
    while (IsKeyword("AND")) {
      uint32_t pos = Peek().pos;
      ++at_;
      SP_ASSIGN_OR_RETURN(int32_t right, ParseNot());
      left = Add(Make(Op::kAnd, pos, {left, right}));
    }
    return left;
  }

  Result<int32_t> ParseNot() {
    if (IsKeyword("NOT")) {
      uint32_t pos = Peek().pos;
      ++at_;
      if (++depth_ > kMaxNesting) return ErrorAt(pos, "expression nested too deeply");
      SP_ASSIGN_OR_RETURN(int32_t operand, ParseNot());
      --depth_;
      return Add(Make(Op::kNot, pos, {operand}));
    }
    return ParseComparison();
  }

  Result<int32_t> ParseComparison() {
    SP_ASSIGN_OR_RETURN(int32_t left, ParseAdditive());
    if (IsKeyword("IS")) {
      uint32_t pos = Peek().pos;
      ++at_;
      const bool negated = AcceptKeyword("NOT");
      SP_RETURN_IF_ERROR(ExpectKeyword("NULL"));
      return Add(Make(negated ? Op::kIsNotNull : Op::kIsNull, pos, {left}));
    }
    static constexpr std::pair<std::string_view, Op> kOps[] = {{"=", Op::kEq}, {"<>", Op::kNe}, {"!=", Op::kNe},
                                                               {"<", Op::kLt}, {"<=", Op::kLe}, {">", Op::kGt},
                                                               {">=", Op::kGe}};
    for (auto [text, op] : kOps) {
      if (IsSymbol(text)) {
        uint32_t pos = Peek().pos;
        ++at_;
        SP_ASSIGN_OR_RETURN(int32_t right, ParseAdditive());
        return Add(Make(op, pos, {left, right}));
      }
    }
    return left;
  }

  Result<int32_t> ParseAdditive() {
    SP_ASSIGN_OR_RETURN(int32_t left, ParseMultiplicative());
    while (IsSymbol("+") || IsSymbol("-")) {
      const Op op = Peek().text == "+" ? Op::kAdd : Op::kSub;
      uint32_t pos = Peek().pos;
      ++at_;
      SP_ASSIGN_OR_RETURN(int32_t right, ParseMultiplicative());
      left = Add(Make(op, pos, {left, right}));
    }
    return left;
  }

  Result<int32_t> ParseMultiplicative() {
    SP_ASSIGN_OR_RETURN(int32_t left, ParseUnary());
    while (IsSymbol("*") || IsSymbol("/") || IsSymbol("%")) {
      const Op op = Peek().text == "*" ? Op::kMul : Peek().text == "/" ? Op::kDiv : Op::kMod;
      uint32_t pos = Peek().pos;
      ++at_;
      SP_ASSIGN_OR_RETURN(int32_t right, ParseUnary());
      left = Add(Make(op, pos, {left, right}));
    }
    return left;
  }

  Result<int32_t> ParseUnary() {
    if (IsSymbol("-")) {
      uint32_t pos = Peek().pos;
      ++at_;
      if (++depth_ > kMaxNesting) return ErrorAt(pos, "expression nested too deeply");
      SP_ASSIGN_OR_RETURN(int32_t operand, ParseUnary());
      --depth_;
      return Add(Make(Op::kNeg, pos, {operand}));
    }
    return ParsePrimary();
  }

  Result<int32_t> ParsePrimary() {
    const Token& t = Peek();
    Node n = Make(Op::kLiteral, t.pos);
    switch (t.kind) {
      case Tok::kInt: {
        ++at_;
        int64_t v = 0;
        auto [end, ec] = std::from_chars(t.text.data(), t.text.data() + t.text.size(), v);
        if (ec == std::errc()) {
          n.literal = Value::Int(v);
          return Add(std::move(n));
        }
        [[fallthrough]];  // too large for an integer: a decimal
      }
      case Tok::kDecimal: {
        if (t.kind == Tok::kDecimal) ++at_;
        double v = 0;
        auto [end, ec] = std::from_chars(t.text.data(), t.text.data() + t.text.size(), v);
        if (ec != std::errc()) return ErrorAt(t.pos, "number out of range");
        n.literal = Value::Double(v);
        return Add(std::move(n));
      }
      case Tok::kString:
        ++at_;
        n.literal = Value::String(Unquote(t));
        return Add(std::move(n));
      case Tok::kQuotedIdent:
        return ParsePath();
      case Tok::kSymbol:
        if (t.text == "(") {
          ++at_;
          SP_ASSIGN_OR_RETURN(int32_t inner, ParseExpr());
          SP_RETURN_IF_ERROR(ExpectSymbol(")"));
          return inner;
        }
        return Expected("an expression");
      case Tok::kEnd:
        return Expected("an expression");
      case Tok::kIdent:
        break;
    }
    if (AcceptKeyword("NULL")) {
      n.literal = Value::Null();
      return Add(std::move(n));
    }
    if (IsKeyword("TRUE") || IsKeyword("FALSE")) {
      n.literal = Value::Bool(IsKeyword("TRUE"));
      ++at_;
      return Add(std::move(n));
    }
    if (IsKeyword("CASE")) return ParseCase();
    if (IsKeyword("CAST") && IsSymbol("(", 1)) return ParseCast();
    if (IsSymbol("(", 1)) return ParseCall();
    if (IsReserved(t.text)) return Expected("an expression");
    return ParsePath();
  }

  // a.b[2]."odd name"
  Result<int32_t> ParsePath() {
    Node n = Make(Op::kPath, Peek().pos);
    while (true) {
      const Token& t = Peek();
      if (t.kind == Tok::kIdent && !IsReserved(t.text)) {
        n.path.push_back({t.text, -1});
      } else if (t.kind == Tok::kQuotedIdent) {
        n.path.push_back({Unquote(t), -1});
      } else {
        return Expected("a field name");
      }
      ++at_;
      while (AcceptSymbol("[")) {
        const Token& index = Peek();
        int64_t v = -1;
        if (index.kind != Tok::kInt ||
            std::from_chars(index.text.data(), index.text.data() + index.text.size(), v).ec != std::errc()) {
          return Expected("an array index (0, 1, ...)");
        }
        ++at_;
        n.path.push_back({{}, v});
        SP_RETURN_IF_ERROR(ExpectSymbol("]"));
      }
      if (!AcceptSymbol(".")) break;
    }
    return Add(std::move(n));
  }

  Result<int32_t> ParseCall() {
    const Token& name = Peek();
    const FuncInfo* info = nullptr;
    for (const FuncInfo& f : kFuncs) {
      if (IEquals(f.name, name.text)) info = &f;
    }
    if (info == nullptr) {
      return ErrorAt(name.pos,
                     "unknown function '" + std::string(name.text) +
                         "'; known: topic, clientid, timestamp, cast, coalesce, abs, round, lower, upper, concat");
    }
    at_ += 2;  // name and '('
    Node n = Make(Op::kCall, name.pos);
    n.func = info->func;
    if (!IsSymbol(")")) {
      do {
        SP_ASSIGN_OR_RETURN(int32_t arg, ParseExpr());
        n.args.push_back(arg);
      } while (AcceptSymbol(","));
    }
    SP_RETURN_IF_ERROR(ExpectSymbol(")"));
    const int count = static_cast<int>(n.args.size());
    if (count < info->min_args || (info->max_args >= 0 && count > info->max_args)) {
      std::string want = info->min_args == info->max_args ? std::to_string(info->min_args)
                         : info->max_args < 0
                             ? "at least " + std::to_string(info->min_args)
                             : std::to_string(info->min_args) + " or " + std::to_string(info->max_args);
      return ErrorAt(name.pos, std::string(info->name) + "() takes " + want + " argument" + (want == "1" ? "" : "s") +
                                   ", not " + std::to_string(count));
    }
    return Add(std::move(n));
  }

  // CAST(expr AS Int|Decimal|Bool|String)
  Result<int32_t> ParseCast() {
    Node n = Make(Op::kCast, Peek().pos);
    at_ += 2;
    SP_ASSIGN_OR_RETURN(int32_t operand, ParseExpr());
    n.args.push_back(operand);
    SP_RETURN_IF_ERROR(ExpectKeyword("AS"));
    static constexpr std::pair<std::string_view, CastType> kTypes[] = {
        {"Int", CastType::kInt},        {"Integer", CastType::kInt}, {"Decimal", CastType::kDecimal},
        {"Double", CastType::kDecimal}, {"Bool", CastType::kBool},   {"Boolean", CastType::kBool},
        {"String", CastType::kString}};
    bool found = false;
    for (auto [text, type] : kTypes) {
      if (IsKeyword(text)) {
        n.cast = type;
        found = true;
      }
    }
    if (!found) return Expected("a type: Int, Decimal, Bool or String");
    ++at_;
    SP_RETURN_IF_ERROR(ExpectSymbol(")"));
    return Add(std::move(n));
  }

  // CASE [operand] WHEN x THEN y ... [ELSE z] END
  Result<int32_t> ParseCase() {
    Node n = Make(Op::kCase, Peek().pos);
    ++at_;
    if (!IsKeyword("WHEN")) {
      SP_ASSIGN_OR_RETURN(int32_t operand, ParseExpr());
      n.args.push_back(operand);
      n.case_operand = true;
    }
    if (!IsKeyword("WHEN")) return Expected("WHEN");
    while (AcceptKeyword("WHEN")) {
      SP_ASSIGN_OR_RETURN(int32_t when, ParseExpr());
      SP_RETURN_IF_ERROR(ExpectKeyword("THEN"));
      SP_ASSIGN_OR_RETURN(int32_t then, ParseExpr());
      n.args.push_back(when);
      n.args.push_back(then);
    }
    if (AcceptKeyword("ELSE")) {
      SP_ASSIGN_OR_RETURN(int32_t otherwise, ParseExpr());
      n.args.push_back(otherwise);
      n.case_else = true;
    }
    SP_RETURN_IF_ERROR(ExpectKeyword("END"));
    return Add(std::move(n));
  }

  // ---- Type check ----

  Status CheckQuery() {
    for (size_t i = 0; i < p_->select.size(); ++i) {
      const SelectItem& item = p_->select[i];
      if (item.star) continue;
      SP_RETURN_IF_ERROR(Check(item.expr).status());
      for (size_t j = 0; j < i; ++j) {
        if (!p_->select[j].star && p_->select[j].name == item.name) {
          return ErrorAt(names_pos_[i], "the output name '" + item.name + "' is used twice");
        }
      }
    }
    if (p_->where >= 0) {
      SP_ASSIGN_OR_RETURN(Type t, Check(p_->where));
      if (t != Type::kBool && t != Type::kAny) {
        return ErrorAt(where_pos_, std::string("WHERE needs a condition, but this is ") + TypeName(t));
      }
    }
    return Status::OK();
  }

  // A message's sensor fields and its count are numbers by contract (docs/rules.md, "Types"; a
  // reading holding another type is rejected as wrong_type), so `temperature > 'hot'` is a mistake
  // to point at now, not a WHERE that quietly drops every message (a number never equals a string).
  static bool IsMessageNumber(const std::vector<PathStep>& path) {
    if (path.size() != 1 || path[0].key.empty()) return false;
    const std::string_view key = path[0].key;
    return std::ranges::any_of(kReadingColumns, [key](const ReadingColumn& c) {
      return c.field == key && (c.kind == ColumnKind::kInteger || IsMetricKind(c.kind));
    });
  }

  Status Want(int32_t node, Type t, Type want, const std::string& context) const {
    if (t == Type::kAny || t == want) return Status::OK();
    return ErrorAt(p_->nodes[node].pos, context + " needs " + TypeName(want) + ", but this is " + TypeName(t));
  }

  Result<Type> Check(int32_t id) {
    const Node& n = p_->nodes[id];
    std::vector<Type> t;
    for (int32_t a : n.args) {
      SP_ASSIGN_OR_RETURN(Type at, Check(a));
      t.push_back(at);
    }
    switch (n.op) {
      case Op::kLiteral:
        switch (n.literal.kind) {
          case Value::Kind::kNull:
            return Type::kNull;
          case Value::Kind::kBool:
            return Type::kBool;
          case Value::Kind::kString:
            return Type::kString;
          default:
            return Type::kNumber;
        }
      case Op::kPath:
        return IsMessageNumber(n.path) ? Type::kNumber : Type::kAny;
      case Op::kNeg:
        SP_RETURN_IF_ERROR(Want(n.args[0], t[0], Type::kNumber, "'-'"));
        return Type::kNumber;
      case Op::kNot:
        SP_RETURN_IF_ERROR(Want(n.args[0], t[0], Type::kBool, "NOT"));
        return Type::kBool;
      case Op::kAdd:
      case Op::kSub:
      case Op::kMul:
      case Op::kDiv:
      case Op::kMod:
        SP_RETURN_IF_ERROR(Want(n.args[0], t[0], Type::kNumber, "arithmetic"));
        SP_RETURN_IF_ERROR(Want(n.args[1], t[1], Type::kNumber, "arithmetic"));
        return Type::kNumber;
      case Op::kAnd:
      case Op::kOr:
        SP_RETURN_IF_ERROR(Want(n.args[0], t[0], Type::kBool, n.op == Op::kAnd ? "AND" : "OR"));
        SP_RETURN_IF_ERROR(Want(n.args[1], t[1], Type::kBool, n.op == Op::kAnd ? "AND" : "OR"));
        return Type::kBool;
      case Op::kEq:
      case Op::kNe:
      case Op::kLt:
      case Op::kLe:
      case Op::kGt:
      case Op::kGe:
        if (t[0] == Type::kNull || t[1] == Type::kNull) {
          return ErrorAt(n.pos, "a comparison with NULL is never true; use IS NULL or IS NOT NULL");
        }
        if (t[0] != Type::kAny && t[1] != Type::kAny && t[0] != t[1]) {
          return ErrorAt(n.pos, std::string("compares ") + TypeName(t[0]) + " with " + TypeName(t[1]));
        }
        if (t[0] == Type::kBool && n.op != Op::kEq && n.op != Op::kNe) {
          return ErrorAt(n.pos, "booleans can only be compared with = and <>");
        }
        return Type::kBool;
      case Op::kIsNull:
      case Op::kIsNotNull:
        return Type::kBool;
      case Op::kCase: {
        size_t i = 0;
        if (n.case_operand) ++i;
        Type result = Type::kAny;
        bool first = true;
        auto merge = [&](Type branch) {
          if (branch == Type::kNull) return;
          result = first || result == branch ? branch : Type::kAny;
          first = false;
        };
        for (; i + 1 < n.args.size(); i += 2) {
          if (n.case_operand) {
            if (t[0] != Type::kAny && t[i] != Type::kAny && t[0] != t[i] && t[i] != Type::kNull) {
              return ErrorAt(p_->nodes[n.args[i]].pos,
                             std::string("WHEN compares ") + TypeName(t[0]) + " with " + TypeName(t[i]));
            }
          } else {
            SP_RETURN_IF_ERROR(Want(n.args[i], t[i], Type::kBool, "WHEN"));
          }
          merge(t[i + 1]);
        }
        if (n.case_else) merge(t.back());
        return result;
      }
      case Op::kCast:
        switch (n.cast) {
          case CastType::kInt:
          case CastType::kDecimal:
            return Type::kNumber;
          case CastType::kBool:
            return Type::kBool;
          case CastType::kString:
            return Type::kString;
        }
        return Type::kAny;
      case Op::kCall:
        return CheckCall(n, t);
    }
    return Type::kAny;
  }

  Result<Type> CheckCall(const Node& n, const std::vector<Type>& t) {
    switch (n.func) {
      case Func::kTopic:
        if (!n.args.empty()) {
          const Node& arg = p_->nodes[n.args[0]];
          if (arg.op != Op::kLiteral || arg.literal.kind != Value::Kind::kInt || arg.literal.i < 1) {
            return ErrorAt(arg.pos, "topic(n) needs a whole number n >= 1, the level of the topic (1 is the first)");
          }
        }
        return Type::kString;
      case Func::kClientId:
        return Type::kString;
      case Func::kTimestamp:
        return Type::kNumber;
      case Func::kCoalesce: {
        Type result = Type::kAny;
        for (Type a : t) {
          if (a != Type::kNull) return a == Type::kAny ? Type::kAny : result == Type::kAny ? a : result;
        }
        return result;
      }
      case Func::kAbs:
        SP_RETURN_IF_ERROR(Want(n.args[0], t[0], Type::kNumber, "abs()"));
        return Type::kNumber;
      case Func::kRound:
        SP_RETURN_IF_ERROR(Want(n.args[0], t[0], Type::kNumber, "round()"));
        if (n.args.size() == 2) {
          const Node& digits = p_->nodes[n.args[1]];
          if (digits.op != Op::kLiteral || digits.literal.kind != Value::Kind::kInt || digits.literal.i < 0 ||
              digits.literal.i > 15) {
            return ErrorAt(digits.pos, "round(x, digits) needs digits as a whole number from 0 to 15");
          }
        }
        return Type::kNumber;
      case Func::kLower:
      case Func::kUpper:
        SP_RETURN_IF_ERROR(Want(n.args[0], t[0], Type::kString, n.func == Func::kLower ? "lower()" : "upper()"));
        return Type::kString;
      case Func::kConcat:
        for (size_t i = 0; i < t.size(); ++i) {
          if (t[i] == Type::kNull) return ErrorAt(p_->nodes[n.args[i]].pos, "concat() of NULL is never defined");
        }
        return Type::kString;
    }
    return Type::kAny;
  }

  Program* p_;
  std::string_view src_;
  std::vector<Token> tokens_;
  size_t at_ = 0;
  int depth_ = 0;
  std::vector<uint32_t> names_pos_;  // where each SELECT item starts
  uint32_t where_pos_ = 0;
};

}  // namespace

Result<std::unique_ptr<const Program>> Compile(std::string_view sql) {
  auto program = std::make_unique<Program>();
  program->text = std::string(sql);
  Compiler compiler(program.get());
  SP_RETURN_IF_ERROR(compiler.Run());
  return std::unique_ptr<const Program>(std::move(program));
}

Status ValidateTopicFilter(std::string_view filter) {
  if (filter.empty()) return Status::InvalidArgument("the topic filter is empty");
  size_t start = 0;
  while (true) {
    size_t slash = filter.find('/', start);
    std::string_view level =
        filter.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (level.find_first_of("+#") != std::string_view::npos && level.size() != 1) {
      return Status::InvalidArgument("'+' and '#' must be a whole level of the topic filter");
    }
    if (level == "#" && slash != std::string_view::npos) {
      return Status::InvalidArgument("'#' must be the last level of the topic filter");
    }
    if (slash == std::string_view::npos) return Status::OK();
    start = slash + 1;
  }
}

bool TopicMatches(std::string_view filter, std::string_view topic) {
  if (!topic.empty() && topic[0] == '$' && !filter.empty() && (filter[0] == '+' || filter[0] == '#')) return false;
  size_t f = 0, t = 0;
  while (true) {
    const size_t f_end = std::min(filter.find('/', f), filter.size());
    const std::string_view level = filter.substr(f, f_end - f);
    if (level == "#") return true;       // this level and everything below, including none ("a/#" matches "a")
    if (t > topic.size()) return false;  // the topic ran out of levels
    const size_t t_end = std::min(topic.find('/', t), topic.size());
    if (level != "+" && level != topic.substr(t, t_end - t)) return false;
    const bool filter_done = f_end == filter.size(), topic_done = t_end == topic.size();
    if (filter_done || topic_done) {
      if (filter_done && topic_done) return true;
      // "a/#" matches "a": the filter continues with exactly "#".
      return topic_done && filter.substr(f_end + 1) == "#";
    }
    f = f_end + 1;
    t = t_end + 1;
  }
}

}  // namespace sp::sql
