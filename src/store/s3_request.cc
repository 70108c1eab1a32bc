#include "store/s3_request.h"

#include <expat.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <memory>
#include <type_traits>

namespace sp::s3 {

namespace {

constexpr char kHex[] = "0123456789abcdef";
constexpr char kUpperHex[] = "0123456789ABCDEF";

bool Unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
         c == '.' || c == '~';
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// The body of a PUT, read by libcurl; it may rewind (a 100-continue refused, a re-sent request).
struct Upload {
  std::string_view data;
  size_t pos = 0;
};

size_t ReadBody(char* buffer, size_t size, size_t n, void* arg) {
  auto* up = static_cast<Upload*>(arg);
  const size_t len = std::min(size * n, up->data.size() - up->pos);
  std::copy_n(up->data.data() + up->pos, len, buffer);
  up->pos += len;
  return len;
}

int SeekBody(void* arg, curl_off_t offset, int origin) {
  auto* up = static_cast<Upload*>(arg);
  if (origin != SEEK_SET || offset < 0 || static_cast<uint64_t>(offset) > up->data.size()) {
    return CURL_SEEKFUNC_CANTSEEK;
  }
  up->pos = static_cast<size_t>(offset);
  return CURL_SEEKFUNC_OK;
}

// Where an answer's body goes: the request's sink once the status says success, else the response.
struct Download {
  CURL* curl;
  const std::function<bool(std::string_view)>& sink;
  HttpResponse* response;
};

size_t WriteBody(char* data, size_t size, size_t n, void* arg) {
  auto* d = static_cast<Download*>(arg);
  const std::string_view piece(data, size * n);
  if (d->sink) {
    long status = 0;
    curl_easy_getinfo(d->curl, CURLINFO_RESPONSE_CODE, &status);
    if (status >= 200 && status < 300) return d->sink(piece) ? piece.size() : 0;
  }
  d->response->body.append(piece);
  return piece.size();
}

size_t ReadHeader(char* data, size_t size, size_t n, void* arg) {
  const std::string_view line(data, size * n);
  const size_t colon = line.find(':');
  if (colon != std::string_view::npos && EqualsIgnoreCase(line.substr(0, colon), "etag")) {
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) {
      value.remove_suffix(1);
    }
    static_cast<HttpResponse*>(arg)->etag = std::string(value);
  }
  return size * n;
}

struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

// Builds the tree as expat reports elements. The stack holds the path from the root to the open
// element; a child is only appended to the innermost open element, so the pointers stay valid.
struct XmlBuilder {
  XmlElement root;
  std::vector<XmlElement*> open;
  bool seen_root = false;
};

std::string_view LocalName(const XML_Char* name) {
  std::string_view n(name);
  const size_t colon = n.rfind(':');
  return colon == std::string_view::npos ? n : n.substr(colon + 1);
}

void XMLCALL StartElement(void* arg, const XML_Char* name, const XML_Char** /*attributes*/) {
  auto* b = static_cast<XmlBuilder*>(arg);
  XmlElement* e;
  if (b->open.empty()) {
    e = &b->root;
    b->seen_root = true;
  } else {
    e = &b->open.back()->children.emplace_back();
  }
  e->name = std::string(LocalName(name));
  b->open.push_back(e);
}

void XMLCALL EndElement(void* arg, const XML_Char* /*name*/) {
  static_cast<XmlBuilder*>(arg)->open.pop_back();
}

void XMLCALL CharacterData(void* arg, const XML_Char* s, int len) {
  auto* b = static_cast<XmlBuilder*>(arg);
  if (!b->open.empty()) b->open.back()->text.append(s, static_cast<size_t>(len));
}

}  // namespace

std::string UriEncode(std::string_view s, bool keep_slash) {
  std::string out;
  out.reserve(s.size());
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (Unreserved(c) || (keep_slash && c == '/')) {
      out += ch;
    } else {
      out += '%';
      out += kUpperHex[c >> 4];
      out += kUpperHex[c & 15];
    }
  }
  return out;
}

std::string CanonicalQuery(QueryParams params) {
  for (auto& [name, value] : params) {
    name = UriEncode(name, false);
    value = UriEncode(value, false);
  }
  std::sort(params.begin(), params.end());
  std::string out;
  for (const auto& [name, value] : params) {
    if (!out.empty()) out += '&';
    out += name + "=" + value;
  }
  return out;
}

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr);
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 15];
  }
  return out;
}

Result<HttpResponse> Perform(CURL* curl, const Signer& signer, const HttpRequest& request) {
  HttpResponse response;
  Upload upload{request.body};
  Download download{curl, request.sink, &response};
  std::unique_ptr<curl_slist, SlistDeleter> headers;
  for (const std::string& h : request.headers) {
    curl_slist* grown = curl_slist_append(headers.get(), h.c_str());
    if (grown == nullptr) return Status::IOError("curl_slist_append: out of memory");
    headers.release();
    headers.reset(grown);
  }
  const std::string sigv4 = "aws:amz:" + signer.region + ":" + signer.service;
  char error[CURL_ERROR_SIZE] = "";

  CURLcode rc = CURLE_OK;
  auto set = [&](CURLoption option, auto value) {
    if (rc == CURLE_OK) rc = curl_easy_setopt(curl, option, value);
  };
  set(CURLOPT_URL, request.url.c_str());
  // Keys may hold "./" or "//"; S3 signs and stores the path exactly as sent, so curl must not
  // normalise it.
  set(CURLOPT_PATH_AS_IS, 1L);
  set(CURLOPT_PROTOCOLS_STR, "http,https");
  set(CURLOPT_NOSIGNAL, 1L);  // no SIGALRM for DNS timeouts: we run on many threads
  set(CURLOPT_AWS_SIGV4, sigv4.c_str());
  set(CURLOPT_USERNAME, signer.access_key_id.c_str());
  set(CURLOPT_PASSWORD, signer.secret_access_key.c_str());
  set(CURLOPT_HTTPHEADER, headers.get());
  set(CURLOPT_WRITEFUNCTION, WriteBody);
  set(CURLOPT_WRITEDATA, &download);
  set(CURLOPT_HEADERFUNCTION, ReadHeader);
  set(CURLOPT_HEADERDATA, &response);
  set(CURLOPT_ERRORBUFFER, error);
  if (request.method == "GET") {
    set(CURLOPT_HTTPGET, 1L);
  } else if (request.method == "PUT") {
    set(CURLOPT_UPLOAD, 1L);
    set(CURLOPT_READFUNCTION, ReadBody);
    set(CURLOPT_READDATA, &upload);
    set(CURLOPT_SEEKFUNCTION, SeekBody);
    set(CURLOPT_SEEKDATA, &upload);
    set(CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  } else if (request.method == "POST") {
    set(CURLOPT_POST, 1L);
    set(CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    // A null POSTFIELDS would make curl read the body from the read callback instead.
    set(CURLOPT_POSTFIELDS, request.body.empty() ? "" : request.body.data());
  } else {
    set(CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
  if (rc != CURLE_OK) {
    return Status::InvalidArgument(std::string("libcurl refused an option: ") + curl_easy_strerror(rc));
  }

  response.curl_code = curl_easy_perform(curl);
  if (response.curl_code == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  } else {
    response.curl_error = curl_easy_strerror(response.curl_code);
    if (error[0] != '\0') response.curl_error += std::string(": ") + error;
  }
  // The handle outlives this call; leave it no pointers into this frame.
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, static_cast<char*>(nullptr));
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, static_cast<curl_slist*>(nullptr));
  return response;
}

const XmlElement* XmlElement::Child(std::string_view child_name) const {
  for (const XmlElement& c : children) {
    if (c.name == child_name) return &c;
  }
  return nullptr;
}

std::string XmlElement::ChildText(std::string_view child_name) const {
  const XmlElement* c = Child(child_name);
  return c == nullptr ? std::string() : c->text;
}

Result<XmlElement> ParseXml(std::string_view xml) {
  if (xml.size() > static_cast<size_t>(INT_MAX)) return Status::Corruption("XML answer too large");
  std::unique_ptr<std::remove_pointer_t<XML_Parser>, decltype(&XML_ParserFree)> parser(XML_ParserCreate(nullptr),
                                                                                       XML_ParserFree);
  if (!parser) return Status::IOError("XML_ParserCreate: out of memory");
  XmlBuilder builder;
  XML_SetUserData(parser.get(), &builder);
  XML_SetElementHandler(parser.get(), StartElement, EndElement);
  XML_SetCharacterDataHandler(parser.get(), CharacterData);
  if (XML_Parse(parser.get(), xml.data(), static_cast<int>(xml.size()), XML_TRUE) != XML_STATUS_OK) {
    return Status::Corruption(std::string("bad XML: ") + XML_ErrorString(XML_GetErrorCode(parser.get())) + " at line " +
                              std::to_string(XML_GetCurrentLineNumber(parser.get())));
  }
  if (!builder.seen_root) return Status::Corruption("bad XML: no element");
  return std::move(builder.root);
}
}  // namespace sp::s3
