// The HTTP layer under S3ObjectStore: SigV4's encodings, one signed request through libcurl, and the
// XML S3 answers with. libcurl signs (CURLOPT_AWS_SIGV4), but the libcurl we build against (7.88)
// takes the URL's path and query as they are, so callers must hand it both already in SigV4's
// canonical form: UriEncode'd keys and a CanonicalQuery. Separate from the store so the tests can
// check the signatures against AWS's published examples. Everything here is thread-safe; a CURL
// handle is used by one thread at a time.
#pragma once

#include <curl/curl.h>

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace sp::s3 {

//! SigV4's UriEncode: every byte but A-Z a-z 0-9 - _ . ~ as %XX (upper-case hex); '/' too unless
//! keep_slash, which object keys want and query values do not.
std::string UriEncode(std::string_view s, bool keep_slash);

using QueryParams = std::vector<std::pair<std::string, std::string>>;
//! The canonical query string: names and values UriEncode'd, sorted by name then value, each as
//! name=value (with the '=' even when the value is empty), joined by '&'.
std::string CanonicalQuery(QueryParams params);

//! Lower-case hex SHA-256 of data: the payload hash SigV4 signs and x-amz-content-sha256 carries.
std::string Sha256Hex(std::string_view data);

//! The key and scope libcurl signs with: CURLOPT_AWS_SIGV4 "aws:amz:<region>:<service>".
struct Signer {
  std::string access_key_id;
  std::string secret_access_key;
  std::string region;
  std::string service = "s3";
};

struct HttpRequest {
  std::string method = "GET";  // GET, PUT (body uploaded), POST (body posted) or DELETE
  std::string url;             // scheme://host[:port]/path?query, path and query already canonical
  //! "Name: value" lines; libcurl signs every one of them along with Host and X-Amz-Date.
  std::vector<std::string> headers;
  std::string_view body;
  //! When set, receives the body of a 2xx answer piece by piece instead of HttpResponse::body (an
  //! error's body, S3's <Error>, still goes there); returning false stops the transfer
  //! (CURLE_WRITE_ERROR).
  std::function<bool(std::string_view)> sink{};
};

struct HttpResponse {
  CURLcode curl_code = CURLE_OK;  // not OK: no complete HTTP answer (then status is 0)
  std::string curl_error;         // libcurl's words for curl_code
  long status = 0;
  std::string body;
  std::string etag;  // the ETag header, quotes included
};

//! Sends request once on curl, signed with signer. Transport failures come back in the response
//! (curl_code) for the caller to retry; the Status is an error only when curl cannot be set up.
//! Leaves curl's options set; options set before the call (timeouts, CONNECT_TO) apply.
Result<HttpResponse> Perform(CURL* curl, const Signer& signer, const HttpRequest& request);

//! An XML element: its name without any namespace prefix, its own text with entities decoded.
struct XmlElement {
  std::string name;
  std::string text;
  std::vector<XmlElement> children;

  //! The first child called name, or null.
  const XmlElement* Child(std::string_view child_name) const;
  //! The text of the first child called name, or "" when there is none.
  std::string ChildText(std::string_view child_name) const;
};
//! Parses a whole document with expat; Corruption when it is not well-formed.
Result<XmlElement> ParseXml(std::string_view xml);

}  // namespace sp::s3
