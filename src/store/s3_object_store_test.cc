#include "store/s3_object_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <iostream>
#include <map>
#include <random>
#include <thread>

#include "common/env.h"
#include "common/json_writer.h"
#include "common/testing.h"
#include "support/s3_server.h"
#include "support/scripted_http_server.h"

namespace sp {
namespace {

using std::chrono::milliseconds;
using testing::CapturedRequest;
using testing::ForwardTo;
using ::testing::HasSubstr;
using testing::HttpAnswer;
using testing::S3Server;
using testing::ScriptedHttpServer;
using testing::SharedS3Server;

constexpr char kBucket[] = "lake";
constexpr char kEmptySha256[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

std::string S3ErrorXml(const std::string& code, const std::string& message) {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>" + code + "</Code><Message>" + message +
         "</Message></Error>";
}

std::string RandomBytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string out(n, '\0');
  for (char& c : out) c = static_cast<char>(rng());
  return out;
}

// ---- Options, environment and addressing: no server needed ----

S3Options ValidOptions() {
  S3Options o;
  o.region = "eu-west-1";
  o.bucket = kBucket;
  o.access_key_id = "AKID";
  o.secret_access_key = "secret";
  return o;
}

TEST(S3Options, EnvironmentFillsWhatTheConfigLeavesEmpty) {
  const std::map<std::string, std::string> vars = {{"AWS_ACCESS_KEY_ID", "env-key"},
                                                   {"AWS_SECRET_ACCESS_KEY", "env-secret"},
                                                   {"AWS_SESSION_TOKEN", "env-token"},
                                                   {"AWS_REGION", "eu-central-1"},
                                                   {"AWS_DEFAULT_REGION", "us-west-2"},
                                                   {"AWS_ENDPOINT_URL", "http://generic:9000"},
                                                   {"AWS_ENDPOINT_URL_S3", "http://s3-specific:9000"}};
  const EnvLookup env = [&](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    return it == vars.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
  S3Options empty;
  ApplyAwsEnvironment(&empty, env);
  EXPECT_EQ(empty.access_key_id, "env-key");
  EXPECT_EQ(empty.secret_access_key, "env-secret");
  EXPECT_EQ(empty.session_token, "env-token");
  EXPECT_EQ(empty.region, "eu-central-1");               // AWS_REGION before AWS_DEFAULT_REGION
  EXPECT_EQ(empty.endpoint, "http://s3-specific:9000");  // the S3-specific URL first

  S3Options configured = ValidOptions();
  configured.endpoint = "http://configured:9000";
  ApplyAwsEnvironment(&configured, env);
  EXPECT_EQ(configured.access_key_id, "AKID");
  EXPECT_EQ(configured.secret_access_key, "secret");
  EXPECT_EQ(configured.session_token, "");  // a token belongs to the environment's keys only
  EXPECT_EQ(configured.region, "eu-west-1");
  EXPECT_EQ(configured.endpoint, "http://configured:9000");

  S3Options fallback;
  ApplyAwsEnvironment(&fallback, [&](const std::string& name) -> std::optional<std::string> {
    if (name == "AWS_DEFAULT_REGION") return "us-west-2";
    if (name == "AWS_ENDPOINT_URL") return "http://generic:9000";
    if (name == "AWS_REGION") return "";  // set but empty counts as unset
    return std::nullopt;
  });
  EXPECT_EQ(fallback.region, "us-west-2");
  EXPECT_EQ(fallback.endpoint, "http://generic:9000");
}

TEST(S3Options, OpenSaysWhatIsWrong) {
  const std::vector<std::pair<std::function<void(S3Options&)>, std::string>> cases = {
      {[](S3Options& o) { o.bucket = ""; }, "no bucket"},
      {[](S3Options& o) { o.bucket = "My_Bucket"; }, "not a valid S3 bucket name"},
      {[](S3Options& o) { o.region = ""; }, "no region"},
      {[](S3Options& o) { o.region = "eu:west"; }, "region 'eu:west'"},
      {[](S3Options& o) { o.secret_access_key = ""; }, "no credentials"},
      {[](S3Options& o) { o.session_token = "a\r\nX-Evil: 1"; }, "control characters"},
      {[](S3Options& o) { o.endpoint = "ftp://host"; }, "must start with http:// or https://"},
      {[](S3Options& o) { o.endpoint = "http://host:9000/s3"; }, "without a path"},
      {[](S3Options& o) { o.endpoint = "http://[bad"; }, "is not a URL"},
      {[](S3Options& o) { o.endpoint = "http://127.0.0.1:9000"; }, "set [s3] path_style = true"},
      {[](S3Options& o) { o.multipart_bytes = 1 << 20; }, "5 MiB to 5 GiB"},
      {[](S3Options& o) { o.list_page_size = 5000; }, "list_page_size"},
  };
  for (const auto& [mutate, want] : cases) {
    S3Options o = ValidOptions();
    mutate(o);
    auto store = S3ObjectStore::Open(o, Env::Default());
    ASSERT_FALSE(store.ok()) << want;
    EXPECT_EQ(store.status().code(), Status::Code::kInvalidArgument);
    EXPECT_THAT(std::string(store.status().message()), HasSubstr(want));
  }
}

TEST(S3Options, AddressingAndLocations) {
  S3Options o = ValidOptions();
  o.prefix = "/lake/";  // slashes around the prefix are dropped
  ASSERT_OK_AND_ASSIGN(auto aws, S3ObjectStore::Open(o, Env::Default()));
  // No endpoint: AWS's regional one, virtual-host style; keys UriEncode'd with their slashes kept.
  EXPECT_EQ(aws->ObjectUrl("raw/dt=2022-07-14/a b+c.json"),
            "https://lake.s3.eu-west-1.amazonaws.com/lake/raw/dt%3D2022-07-14/a%20b%2Bc.json");
  EXPECT_EQ(aws->Locate("raw/dt=2022-07-14/a b+c.json"), "s3://lake/lake/raw/dt=2022-07-14/a b+c.json");

  o.endpoint = "http://127.0.0.1:9000";
  o.path_style = true;
  o.prefix = "";
  ASSERT_OK_AND_ASSIGN(auto local, S3ObjectStore::Open(o, Env::Default()));
  EXPECT_EQ(local->ObjectUrl("raw/dt=2022-07-14/x.json"), "http://127.0.0.1:9000/lake/raw/dt%3D2022-07-14/x.json");
  EXPECT_EQ(local->Locate("raw/x.json"), "s3://lake/raw/x.json");
  EXPECT_EQ(local->Put("", "x").code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(local->Get("/abs").status().code(), Status::Code::kInvalidArgument);
}

// ---- The encodings SigV4 signs ----

TEST(SigV4, UriEncode) {
  EXPECT_EQ(s3::UriEncode("dt=2022-07-14/hour=15/a b.json", true), "dt%3D2022-07-14/hour%3D15/a%20b.json");
  EXPECT_EQ(s3::UriEncode("a/b", false), "a%2Fb");
  EXPECT_EQ(s3::UriEncode("AZaz09-_.~", false), "AZaz09-_.~");
  EXPECT_EQ(s3::UriEncode("+*!'()$&,;:@?#[]%", false), "%2B%2A%21%27%28%29%24%26%2C%3B%3A%40%3F%23%5B%5D%25");
  EXPECT_EQ(s3::UriEncode("\xc3\xbc", false), "%C3%BC");  // ü: each UTF-8 byte
}

TEST(SigV4, CanonicalQuerySortsAndEncodes) {
  EXPECT_EQ(s3::CanonicalQuery({{"prefix", "raw/dt=1"}, {"list-type", "2"}, {"continuation-token", "a+b/c="}}),
            "continuation-token=a%2Bb%2Fc%3D&list-type=2&prefix=raw%2Fdt%3D1");
  EXPECT_EQ(s3::CanonicalQuery({{"uploads", ""}}), "uploads=");
}

TEST(SigV4, Sha256Hex) {
  EXPECT_EQ(s3::Sha256Hex(""), kEmptySha256);
  // The payload hash of the S3 API reference's PUT example, "Welcome to Amazon S3.".
  EXPECT_EQ(s3::Sha256Hex("Welcome to Amazon S3."), "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
}

TEST(SigV4, XmlDecodesEntities) {
  ASSERT_OK_AND_ASSIGN(s3::XmlElement xml,
                       s3::ParseXml("<?xml version=\"1.0\"?><R xmlns=\"http://s3\"><s3:Key xmlns:s3=\"x\">a &amp; "
                                    "b &lt;c&gt; &quot;d&quot; &apos;e&apos; &#233;&#x41;</s3:Key>"
                                    "<Size>5</Size><![CDATA[<raw>]]></R>"));
  EXPECT_EQ(xml.name, "R");
  EXPECT_EQ(xml.ChildText("Key"),
            "a & b <c> \"d\" 'e' \xc3\xa9"
            "A");
  EXPECT_EQ(xml.ChildText("Size"), "5");
  EXPECT_EQ(xml.ChildText("Missing"), "");
  EXPECT_EQ(xml.text, "<raw>");
  EXPECT_EQ(XmlEscape("\"a\"&<b>"), "&quot;a&quot;&amp;&lt;b&gt;");
  EXPECT_TRUE(s3::ParseXml("<a><b></a>").status().IsCorruption());
  EXPECT_TRUE(s3::ParseXml("").status().IsCorruption());
}

// ---- libcurl's signatures against AWS's published examples ----
//
// curl 7.88 signs with the X-Amz-Date header of the request when there is one (find_date_hdr in
// lib/http_aws_sigv4.c) instead of the clock, which is what lets these fixed examples be replayed
// (it then sends that header twice; the store never sets it, so curl's clock dates its requests).
// Each request goes through s3::Perform, the function the store sends with, to a capture server
// that stands in for the example's host on port 80 (CURLOPT_CONNECT_TO), so the Host header is the
// example's. curl writes ", " between the Authorization fields, as AWS's test suite does; the S3 API
// reference prints the same fields joined by "," alone, which S3 accepts too.

struct Captured {
  std::string authorization;
  CapturedRequest request;
};

Captured SendToCapture(const s3::Signer& signer, s3::HttpRequest request) {
  auto server = ScriptedHttpServer::Start([](const CapturedRequest&, int) { return HttpAnswer(200, ""); });
  EXPECT_TRUE(server.ok()) << server.status().ToString();
  if (!server.ok()) return {};
  CURL* curl = curl_easy_init();
  curl_slist* connect_to = curl_slist_append(nullptr, ("::127.0.0.1:" + std::to_string((*server)->port())).c_str());
  curl_easy_setopt(curl, CURLOPT_CONNECT_TO, connect_to);
  auto response = s3::Perform(curl, signer, request);
  curl_easy_cleanup(curl);
  curl_slist_free_all(connect_to);
  EXPECT_TRUE(response.ok() && response->curl_code == CURLE_OK && response->status == 200)
      << (response.ok() ? response->curl_error : response.status().ToString());
  const auto requests = (*server)->requests();
  if (requests.size() != 1) {
    ADD_FAILURE() << requests.size() << " requests";
    return {};
  }
  return {requests[0].Header("Authorization"), requests[0]};
}

// aws-sig-v4-test-suite (as kept in awslabs/aws-c-auth, tests/aws-signing-test-suite/v4).
const s3::Signer kSuiteSigner{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "us-east-1", "service"};
constexpr char kSuiteDate[] = "X-Amz-Date: 20150830T123600Z";
constexpr char kSuiteAuthorization[] =
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, "
    "Signature=";

TEST(SigV4Examples, TestSuiteGetVanilla) {
  const Captured c = SendToCapture(kSuiteSigner, {"GET", "http://example.amazonaws.com/", {kSuiteDate}, ""});
  EXPECT_EQ(c.request.Header("Host"), "example.amazonaws.com");
  EXPECT_EQ(c.authorization,
            std::string(kSuiteAuthorization) + "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

TEST(SigV4Examples, TestSuitePostVanilla) {
  const Captured c = SendToCapture(kSuiteSigner, {"POST", "http://example.amazonaws.com/", {kSuiteDate}, ""});
  EXPECT_EQ(c.request.Method(), "POST");
  EXPECT_EQ(c.authorization,
            std::string(kSuiteAuthorization) + "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b");
}

// The suite sends "?Param2=value2&Param1=value1". curl 7.88 signs the query exactly as given, so it
// would sign the unsorted order and miss; CanonicalQuery sorts first, which is why the store never
// hands curl a query of its own making.
TEST(SigV4Examples, TestSuiteGetVanillaQueryOrderKeyCase) {
  const std::string query = s3::CanonicalQuery({{"Param2", "value2"}, {"Param1", "value1"}});
  const Captured c = SendToCapture(kSuiteSigner, {"GET", "http://example.amazonaws.com/?" + query, {kSuiteDate}, ""});
  EXPECT_EQ(c.request.Target(), "/?Param1=value1&Param2=value2");
  EXPECT_EQ(c.authorization,
            std::string(kSuiteAuthorization) + "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");
}

// "Signature Calculations for the Authorization Header: Transferring Payload in a Single Chunk",
// examples section, in the Amazon S3 API Reference.
const s3::Signer kS3Signer{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "us-east-1", "s3"};
constexpr char kS3Date[] = "X-Amz-Date: 20130524T000000Z";
constexpr char kS3Host[] = "http://examplebucket.s3.amazonaws.com";
std::string S3Authorization(const std::string& signed_headers, const std::string& signature) {
  return "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=" +
         signed_headers + ", Signature=" + signature;
}

TEST(SigV4Examples, S3GetObject) {
  const Captured c =
      SendToCapture(kS3Signer, {"GET",
                                std::string(kS3Host) + "/" + s3::UriEncode("test.txt", true),
                                {"Range: bytes=0-9", "x-amz-content-sha256: " + s3::Sha256Hex(""), kS3Date},
                                ""});
  EXPECT_EQ(c.request.Header("Host"), "examplebucket.s3.amazonaws.com");
  EXPECT_EQ(c.authorization, S3Authorization("host;range;x-amz-content-sha256;x-amz-date",
                                             "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"));
}

TEST(SigV4Examples, S3PutObject) {
  const std::string payload = "Welcome to Amazon S3.";
  const Captured c = SendToCapture(
      kS3Signer, {"PUT",
                  std::string(kS3Host) + "/" + s3::UriEncode("test$file.text", true),
                  {"Date: Fri, 24 May 2013 00:00:00 GMT", kS3Date, "x-amz-storage-class: REDUCED_REDUNDANCY",
                   "x-amz-content-sha256: " + s3::Sha256Hex(payload)},
                  payload});
  EXPECT_EQ(c.request.Target(), "/test%24file.text");
  EXPECT_EQ(c.request.body, payload);
  EXPECT_EQ(c.authorization, S3Authorization("date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
                                             "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"));
}

TEST(SigV4Examples, S3GetBucketLifecycle) {
  const Captured c = SendToCapture(kS3Signer, {"GET",
                                               std::string(kS3Host) + "/?" + s3::CanonicalQuery({{"lifecycle", ""}}),
                                               {kS3Date, "x-amz-content-sha256: " + s3::Sha256Hex("")},
                                               ""});
  EXPECT_EQ(c.authorization, S3Authorization("host;x-amz-content-sha256;x-amz-date",
                                             "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"));
}

TEST(SigV4Examples, S3ListObjects) {
  const Captured c =
      SendToCapture(kS3Signer, {"GET",
                                std::string(kS3Host) + "/?" + s3::CanonicalQuery({{"prefix", "J"}, {"max-keys", "2"}}),
                                {kS3Date, "x-amz-content-sha256: " + s3::Sha256Hex("")},
                                ""});
  EXPECT_EQ(c.request.Target(), "/?max-keys=2&prefix=J");
  EXPECT_EQ(c.authorization, S3Authorization("host;x-amz-content-sha256;x-amz-date",
                                             "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"));
}

// ---- The store against a real S3-compatible server ----

class S3Test : public ::testing::Test {
 protected:
  // One server for the whole suite; each test works under a prefix of its own name.
  static void SetUpTestSuite() { SharedS3Server::Start({.buckets = {kBucket}}); }
  static void TearDownTestSuite() { SharedS3Server::Stop(); }
  void SetUp() override {
    server_ = SharedS3Server::Get();
    ASSERT_NE(server_, nullptr) << SharedS3Server::Error();
  }
  void TearDown() override {
    if (HasFailure() && server_ != nullptr) std::cerr << "s3rver log:\n" << server_->Log().substr(0, 20000);
  }

  static std::string TestPrefix() {
    return std::string("t/") + ::testing::UnitTest::GetInstance()->current_test_info()->name();
  }
  S3Options Options(const std::string& endpoint = "") const {
    S3Options o;
    o.endpoint = endpoint.empty() ? server_->endpoint() : endpoint;
    o.region = "us-east-1";
    o.bucket = kBucket;
    o.prefix = TestPrefix();
    o.path_style = true;
    o.access_key_id = S3Server::kAccessKeyId;
    o.secret_access_key = S3Server::kSecretAccessKey;
    o.retry_base_delay = milliseconds(1);
    o.retry_max_delay = milliseconds(5);
    return o;
  }
  std::unique_ptr<S3ObjectStore> Open(S3Options o) {
    auto store = S3ObjectStore::Open(std::move(o), Env::Default(), &metrics_);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(store).value() : nullptr;
  }
  uint64_t Requests(const std::string& op) const {
    return metrics_.CounterValue("sensorpipe_s3_requests_total", {{"operation", op}});
  }
  uint64_t Retries(const std::string& op) const {
    return metrics_.CounterValue("sensorpipe_s3_retries_total", {{"operation", op}});
  }
  static std::vector<std::string> Keys(const std::vector<ObjectInfo>& objects) {
    std::vector<std::string> keys;
    for (const ObjectInfo& o : objects) keys.push_back(o.key);
    return keys;
  }

  // A folder for a test's own files, beside the server's.
  static std::string Path(const std::string& name) { return SharedS3Server::Dir() + "/" + name; }

  S3Server* server_ = nullptr;
  Metrics metrics_;
};

TEST_F(S3Test, PutGetRoundTrip) {
  auto store = Open(Options());
  ASSERT_NE(store, nullptr);
  ASSERT_OK(store->Check());
  const std::string binary("a\0b\xff\r\n", 6);
  ASSERT_OK(store->Put("raw/x.bin", binary));
  ASSERT_OK(store->Put("raw/empty", ""));
  EXPECT_EQ(store->Get("raw/x.bin").value(), binary);
  EXPECT_EQ(store->Get("raw/empty").value(), "");
  EXPECT_EQ(store->Locate("raw/x.bin"), "s3://lake/" + TestPrefix() + "/raw/x.bin");

  // The object really is under the prefix: a store without one finds it at prefix/key.
  S3Options bare = Options();
  bare.prefix = "";
  auto root = Open(bare);
  EXPECT_EQ(root->Get(TestPrefix() + "/raw/x.bin").value(), binary);
  EXPECT_EQ(Requests("PutObject"), 2u);
  EXPECT_EQ(Retries("PutObject"), 0u);
}

TEST_F(S3Test, KeysWithEqualsSignsSpacesAndPunctuation) {
  auto store = Open(Options());
  ASSERT_NE(store, nullptr);
  const std::vector<std::string> keys = {
      "raw/dt=2022-07-14/hour=15/part 1.ndjson.zst",
      "x/a+b=c;e,f:g@h$i!j(l)m*n[o]p.txt",
      "x/ünïcödé/ß.txt",
      "x/tilde~dash-under_dot.txt",
      "x/percent%41.txt",
  };
  // s3rver escapes these characters twice in its listings ("&amp;amp;"), where S3 escapes them
  // once, so they are only put and got here; ListDecodesXmlEntities checks how List reads them.
  const std::vector<std::string> xml_special = {"x/<tag> & \"quoted\" 's'"};
  for (const auto& list : {keys, xml_special}) {
    for (const std::string& key : list) ASSERT_OK(store->Put(key, "value of " + key));
    for (const std::string& key : list) EXPECT_EQ(store->Get(key).value(), "value of " + key) << key;
  }
  ASSERT_OK_AND_ASSIGN(auto listed, store->List("raw/"));
  ASSERT_OK_AND_ASSIGN(auto more, store->List("x/"));
  listed.insert(listed.end(), more.begin(), more.end());
  std::erase_if(listed, [&](const ObjectInfo& o) { return o.key.starts_with("x/&lt;"); });
  std::vector<std::string> sorted = keys;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(Keys(listed), sorted);
  for (const ObjectInfo& o : listed) EXPECT_EQ(o.size, ("value of " + o.key).size()) << o.key;
}

TEST_F(S3Test, ListPaginates) {
  S3Options o = Options();
  o.list_page_size = 3;
  auto store = Open(o);
  ASSERT_NE(store, nullptr);
  std::vector<std::string> keys;
  for (int i = 0; i < 10; ++i) {
    keys.push_back("k/" + std::to_string(i) + "/dt=2022-07-14");
    ASSERT_OK(store->Put(keys.back(), std::string(i + 1, 'x')));
  }
  const uint64_t before = Requests("ListObjectsV2");
  ASSERT_OK_AND_ASSIGN(auto listed, store->List("k/"));
  EXPECT_EQ(Requests("ListObjectsV2") - before, 4u);  // pages of 3, 3, 3 and 1
  EXPECT_EQ(Keys(listed), keys);
  for (size_t i = 0; i < listed.size(); ++i) EXPECT_EQ(listed[i].size, i + 1);
}

TEST_F(S3Test, ListUnderAPrefix) {
  auto store = Open(Options());
  ASSERT_NE(store, nullptr);
  for (const char* key : {"a/1", "a/2", "ab/3", "b/4"}) ASSERT_OK(store->Put(key, key));
  EXPECT_EQ(Keys(store->List("a/").value()), (std::vector<std::string>{"a/1", "a/2"}));
  EXPECT_EQ(Keys(store->List("a").value()), (std::vector<std::string>{"a/1", "a/2", "ab/3"}));
  EXPECT_EQ(Keys(store->List("").value()), (std::vector<std::string>{"a/1", "a/2", "ab/3", "b/4"}));
  EXPECT_TRUE(store->List("c").value().empty());

  // A store whose prefix is one of those folders sees its keys relative to it, and only them.
  S3Options nested = Options();
  nested.prefix = TestPrefix() + "/a";
  EXPECT_EQ(Keys(Open(nested)->List("").value()), (std::vector<std::string>{"1", "2"}));
}

TEST_F(S3Test, DeleteIsOkWhenTheObjectIsGone) {
  auto store = Open(Options());
  ASSERT_NE(store, nullptr);
  ASSERT_OK(store->Put("dt=2022-07-14/x", "x"));
  ASSERT_OK(store->Delete("dt=2022-07-14/x"));
  const Status gone = store->Get("dt=2022-07-14/x").status();
  EXPECT_TRUE(gone.IsNotFound()) << gone.ToString();
  EXPECT_THAT(std::string(gone.message()), HasSubstr("HTTP 404 NoSuchKey"));
  EXPECT_OK(store->Delete("dt=2022-07-14/x"));
  EXPECT_OK(store->Delete("never/was"));
  EXPECT_TRUE(store->List("").value().empty());
}

TEST_F(S3Test, PutReplacesAnObject) {
  auto store = Open(Options());
  ASSERT_NE(store, nullptr);
  ASSERT_OK(store->Put("k", "the first version"));
  ASSERT_OK(store->Put("k", "v2"));
  EXPECT_EQ(store->Get("k").value(), "v2");
  ASSERT_OK_AND_ASSIGN(auto listed, store->List(""));
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].size, 2u);
}

TEST_F(S3Test, MultipartAboveTheThreshold) {
  S3Options o = Options();
  o.multipart_bytes = 5 << 20;  // S3's smallest part
  auto store = Open(o);
  ASSERT_NE(store, nullptr);
  const std::string big = RandomBytes((11 << 20) + 123, 1);  // parts of 5 MiB, 5 MiB and 1 MiB + 123 bytes
  ASSERT_OK(store->Put("big/dt=2022-07-14/object", big));
  EXPECT_EQ(Requests("CreateMultipartUpload"), 1u);
  EXPECT_EQ(Requests("UploadPart"), 3u);
  EXPECT_EQ(Requests("CompleteMultipartUpload"), 1u);
  EXPECT_EQ(Requests("PutObject"), 0u);
  EXPECT_TRUE(store->Get("big/dt=2022-07-14/object").value() == big);
  EXPECT_EQ(store->List("big/").value().at(0).size, big.size());

  // Exactly the threshold still goes up in one PUT.
  ASSERT_OK(store->Put("exact", RandomBytes(5 << 20, 2)));
  EXPECT_EQ(Requests("PutObject"), 1u);
  EXPECT_EQ(Requests("CreateMultipartUpload"), 1u);
}

TEST_F(S3Test, PutFileGoesUpOnePartAtATimeAndRemovesTheFile) {
  S3Options o = Options();
  o.multipart_bytes = 5 << 20;
  auto store = Open(o);
  ASSERT_NE(store, nullptr);
  const std::string big = RandomBytes((11 << 20) + 7, 5);
  const std::string path = Path("PutFile.parquet");
  ASSERT_OK(Env::Default()->WriteFileAtomic(path, big));
  ASSERT_OK(store->PutFile("compacted/big.parquet", path));
  EXPECT_FALSE(Env::Default()->FileExists(path));
  EXPECT_EQ(Requests("UploadPart"), 3u);
  EXPECT_TRUE(store->Get("compacted/big.parquet").value() == big);

  ASSERT_OK(Env::Default()->WriteFileAtomic(path, "small"));
  ASSERT_OK(store->PutFile("compacted/small.parquet", path));
  EXPECT_EQ(Requests("PutObject"), 1u);
  EXPECT_EQ(store->Get("compacted/small.parquet").value(), "small");
  EXPECT_FALSE(Env::Default()->FileExists(path));
}

TEST_F(S3Test, GetFileWritesTheObjectIntoAFile) {
  auto store = Open(Options());
  ASSERT_NE(store, nullptr);
  const std::string data = RandomBytes(3 << 20, 6);
  ASSERT_OK(store->Put("raw/x", data));
  const std::string path = Path("GetFile.out");
  ASSERT_OK(store->GetFile("raw/x", path));
  EXPECT_TRUE(Env::Default()->ReadFile(path).value() == data);
  // S3's <Error> answer is the Status, not the file's content.
  const Status missing = store->GetFile("raw/none", path);
  EXPECT_TRUE(missing.IsNotFound()) << missing.ToString();
  EXPECT_THAT(missing.ToString(), HasSubstr("HTTP 404 NoSuchKey"));
}

TEST_F(S3Test, GetFileStartsAgainAfterATransferCutOffHalfWay) {
  const std::string data = RandomBytes(1 << 20, 7);
  ASSERT_OK(Open(Options())->Put("k", data));
  auto proxy = ScriptedHttpServer::Start([port = server_->port()](const CapturedRequest& r, int index) {
    const std::string answer = ForwardTo(port, r);
    return index == 0 ? answer.substr(0, answer.size() / 2) : answer;  // the first closes after half the body
  });
  ASSERT_TRUE(proxy.ok());
  const std::string path = Path("GetFileRetried.out");
  ASSERT_OK(Open(Options((*proxy)->url()))->GetFile("k", path));
  EXPECT_TRUE(Env::Default()->ReadFile(path).value() == data);
  EXPECT_EQ((*proxy)->requests().size(), 2u);
  EXPECT_EQ(Retries("GetObject"), 1u);
}

TEST_F(S3Test, ThreadsShareOneStore) {
  auto store = Open(Options());
  ASSERT_NE(store, nullptr);
  constexpr int kThreads = 4;
  constexpr int kEach = 10;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        const std::string key = "t" + std::to_string(t) + "/" + std::to_string(i);
        if (!store->Put(key, key).ok() || store->Get(key).value() != key) ++failures;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(store->List("").value().size(), static_cast<size_t>(kThreads * kEach));
}

TEST_F(S3Test, WrongSecretKeyFailsWithTheS3ErrorCode) {
  S3Options o = Options();
  o.secret_access_key = "not-the-secret";
  auto store = Open(o);
  ASSERT_NE(store, nullptr);
  const Status s = store->Put("dt=2022-07-14/k", "x");
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << s.ToString();
  EXPECT_THAT(s.ToString(), HasSubstr("s3 PutObject s3://lake/" + TestPrefix() +
                                      "/dt=2022-07-14/k: HTTP 403 "
                                      "SignatureDoesNotMatch: The request signature we calculated does not match"));
  EXPECT_THAT(s.ToString(), HasSubstr("(1 attempt)"));
  EXPECT_EQ(Requests("PutObject"), 1u);  // a 403 is not retried

  o.secret_access_key = S3Server::kSecretAccessKey;
  o.access_key_id = "AKIDNOBODY";
  const Status unknown = Open(o)->Get("k").status();
  EXPECT_THAT(unknown.ToString(), HasSubstr("HTTP 403 InvalidAccessKeyId"));
}

TEST_F(S3Test, MissingBucket) {
  S3Options o = Options();
  o.bucket = "no-such-bucket";
  auto store = Open(o);
  ASSERT_NE(store, nullptr);
  const Status check = store->Check();
  EXPECT_TRUE(check.IsNotFound()) << check.ToString();
  EXPECT_THAT(check.ToString(), HasSubstr("HTTP 404 NoSuchBucket"));
  EXPECT_THAT(store->Put("k", "x").ToString(), HasSubstr("NoSuchBucket"));
  EXPECT_THAT(store->List("").status().ToString(), HasSubstr("NoSuchBucket"));
  // Deleting from a bucket that is not there is no success, unlike deleting a missing key.
  EXPECT_THAT(store->Delete("k").ToString(), HasSubstr("NoSuchBucket"));
}

TEST_F(S3Test, VirtualHostStyle) {
  S3Server::Options lenient{.buckets = {kBucket}, .allow_mismatched_signatures = true};
  ASSERT_OK_AND_ASSIGN(auto server, S3Server::Start(Path("vhost"), lenient));
  S3Options o = Options(server->vhost_endpoint());
  o.path_style = false;
  auto store = Open(o);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->ObjectUrl("dt=2022-07-14/a b"),
            "http://lake.s3.localhost:" + std::to_string(server->port()) + "/t/VirtualHostStyle/dt%3D2022-07-14/a%20b");
  ASSERT_OK(store->Put("dt=2022-07-14/a b", "vhost"));
  EXPECT_EQ(store->Get("dt=2022-07-14/a b").value(), "vhost");
  EXPECT_EQ(Keys(store->List("").value()), std::vector<std::string>{"dt=2022-07-14/a b"});
  ASSERT_OK(store->Delete("dt=2022-07-14/a b"));
  // The server found the bucket in the host name alone: the object is in "lake" path-style too.
  o = Options(server->endpoint());
  ASSERT_OK(Open(o)->Put("path-style", "p"));
  EXPECT_EQ(Keys(store->List("").value()), std::vector<std::string>{"path-style"});
}

// ---- Faults a real server cannot be made to produce, from a scripted one ----

TEST_F(S3Test, RetriesSlowDownThenSucceeds) {
  // Answers SlowDown twice, then passes the (same, still validly signed) request to the real server.
  auto proxy = ScriptedHttpServer::Start([port = server_->port()](const CapturedRequest& r, int index) {
    return index < 2 ? HttpAnswer(503, S3ErrorXml("SlowDown", "Please reduce your request rate.")) : ForwardTo(port, r);
  });
  ASSERT_TRUE(proxy.ok());
  auto store = Open(Options((*proxy)->url()));
  ASSERT_NE(store, nullptr);
  ASSERT_OK(store->Put("dt=2022-07-14/retried", "payload"));
  const auto requests = (*proxy)->requests();
  ASSERT_EQ(requests.size(), 3u);
  for (const CapturedRequest& r : requests) {
    EXPECT_EQ(r.Method(), "PUT");
    EXPECT_EQ(r.Target(), "/lake/t/RetriesSlowDownThenSucceeds/dt%3D2022-07-14/retried");
    EXPECT_EQ(r.body, "payload");
  }
  EXPECT_EQ(Requests("PutObject"), 3u);
  EXPECT_EQ(Retries("PutObject"), 2u);
  EXPECT_EQ(Open(Options())->Get("dt=2022-07-14/retried").value(), "payload");
}

TEST_F(S3Test, GivesUpAfterMaxRetries) {
  auto proxy = ScriptedHttpServer::Start([](const CapturedRequest&, int) {
    return HttpAnswer(503, S3ErrorXml("SlowDown", "Please reduce your request rate."));
  });
  ASSERT_TRUE(proxy.ok());
  S3Options o = Options((*proxy)->url());
  o.max_retries = 3;
  const Status s = Open(o)->Put("k", "x");
  EXPECT_EQ(s.code(), Status::Code::kUnavailable) << s.ToString();
  EXPECT_THAT(s.ToString(), HasSubstr("HTTP 503 SlowDown: Please reduce your request rate. (4 attempts)"));
  EXPECT_EQ((*proxy)->requests().size(), 4u);
  EXPECT_EQ(Retries("PutObject"), 3u);
}

TEST_F(S3Test, RetriesADroppedConnection) {
  auto seed = Open(Options());
  ASSERT_NE(seed, nullptr);
  ASSERT_OK(seed->Put("k", "survives"));
  auto proxy = ScriptedHttpServer::Start([port = server_->port()](const CapturedRequest& r, int index) {
    return index == 0 ? std::string() : ForwardTo(port, r);  // the first connection closes unanswered
  });
  ASSERT_TRUE(proxy.ok());
  EXPECT_EQ(Open(Options((*proxy)->url()))->Get("k").value(), "survives");
  EXPECT_EQ((*proxy)->requests().size(), 2u);
  EXPECT_EQ(Retries("GetObject"), 1u);
}

TEST_F(S3Test, OtherClientErrorsAreNotRetried) {
  auto proxy = ScriptedHttpServer::Start([](const CapturedRequest& r, int) {
    return r.Method() == "PUT" ? HttpAnswer(400, S3ErrorXml("InvalidRequest", "Nope."))
                               : HttpAnswer(403, S3ErrorXml("AccessDenied", "Access Denied"));
  });
  ASSERT_TRUE(proxy.ok());
  auto store = Open(Options((*proxy)->url()));
  const Status put = store->Put("k", "x");
  EXPECT_EQ(put.code(), Status::Code::kIOError);
  EXPECT_THAT(put.ToString(), HasSubstr("HTTP 400 InvalidRequest: Nope. (1 attempt)"));
  const Status get = store->Get("k").status();
  EXPECT_EQ(get.code(), Status::Code::kInvalidArgument);
  EXPECT_THAT(get.ToString(), HasSubstr("HTTP 403 AccessDenied: Access Denied (1 attempt)"));
  EXPECT_EQ((*proxy)->requests().size(), 2u);
}

TEST_F(S3Test, UnreachableEndpointIsUnavailable) {
  S3Options o = Options("http://127.0.0.1:" + std::to_string(testing::FreePort()));
  o.max_retries = 2;
  const Status s = Open(o)->Get("k").status();
  EXPECT_EQ(s.code(), Status::Code::kUnavailable) << s.ToString();
  EXPECT_THAT(s.ToString(), HasSubstr("Couldn't connect to server"));
  EXPECT_THAT(s.ToString(), HasSubstr("(3 attempts)"));
}

// A scripted multipart upload: each step answers as S3 would, except the ones a test makes fail.
std::string MultipartAnswer(const CapturedRequest& r, int part_status, int complete_failures, int* completes) {
  const std::string target = r.Target();
  if (r.Method() == "POST" && target.ends_with("?uploads=")) {
    return HttpAnswer(200,
                      "<InitiateMultipartUploadResult><UploadId>up&amp;1</UploadId></InitiateMultipartUploadResult>");
  }
  if (r.Method() == "PUT") {
    const bool second = target.find("partNumber=2&") != std::string::npos;
    if (second && part_status != 200) return HttpAnswer(part_status, S3ErrorXml("InvalidArgument", "Bad part."));
    return HttpAnswer(200, "", "ETag: \"etag-" + target.substr(target.find("partNumber=") + 11, 1) + "\"\r\n");
  }
  if (r.Method() == "POST") {
    // CompleteMultipartUpload may fail after its 200 has been sent, with an <Error> body.
    if ((*completes)++ < complete_failures) {
      return HttpAnswer(200, S3ErrorXml("InternalError", "We encountered an internal error. Please try again."));
    }
    return HttpAnswer(200, "<CompleteMultipartUploadResult><ETag>\"x-3\"</ETag></CompleteMultipartUploadResult>");
  }
  return HttpAnswer(204, "");
}

TEST_F(S3Test, AFailedMultipartUploadIsAborted) {
  int completes = 0;
  auto fake =
      ScriptedHttpServer::Start([&](const CapturedRequest& r, int) { return MultipartAnswer(r, 400, 0, &completes); });
  ASSERT_TRUE(fake.ok());
  S3Options o = Options((*fake)->url());
  o.multipart_bytes = 5 << 20;
  const Status s = Open(o)->Put("k", RandomBytes(11 << 20, 3));
  EXPECT_THAT(s.ToString(), HasSubstr("s3 UploadPart s3://lake/t/AFailedMultipartUploadIsAborted/k: HTTP 400 "
                                      "InvalidArgument: Bad part. (1 attempt)"));
  std::vector<std::string> seen;
  for (const CapturedRequest& r : (*fake)->requests()) seen.push_back(r.Method() + " " + r.Target());
  const std::string object = "/lake/t/AFailedMultipartUploadIsAborted/k";
  EXPECT_EQ(seen, (std::vector<std::string>{
                      "POST " + object + "?uploads=", "PUT " + object + "?partNumber=1&uploadId=up%261",
                      "PUT " + object + "?partNumber=2&uploadId=up%261", "DELETE " + object + "?uploadId=up%261"}));
}

TEST_F(S3Test, AnErrorInsideA200IsRetried) {
  int completes = 0;
  auto fake =
      ScriptedHttpServer::Start([&](const CapturedRequest& r, int) { return MultipartAnswer(r, 200, 1, &completes); });
  ASSERT_TRUE(fake.ok());
  S3Options o = Options((*fake)->url());
  o.multipart_bytes = 5 << 20;
  ASSERT_OK(Open(o)->Put("k", RandomBytes(11 << 20, 4)));
  EXPECT_EQ(completes, 2);
  EXPECT_EQ(Retries("CompleteMultipartUpload"), 1u);
  EXPECT_EQ(Requests("AbortMultipartUpload"), 0u);
  const CapturedRequest complete = (*fake)->requests().back();
  EXPECT_EQ(complete.Header("Content-Type"), "application/xml");
  EXPECT_EQ(complete.body,
            "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&quot;etag-1&quot;</ETag></Part>"
            "<Part><PartNumber>2</PartNumber><ETag>&quot;etag-2&quot;</ETag></Part>"
            "<Part><PartNumber>3</PartNumber><ETag>&quot;etag-3&quot;</ETag></Part></CompleteMultipartUpload>");
}

TEST_F(S3Test, ListDecodesXmlEntities) {
  // A page as S3 writes it: each key escaped once.
  auto fake = ScriptedHttpServer::Start([](const CapturedRequest&, int) {
    return HttpAnswer(200,
                      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult "
                      "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>lake</Name><IsTruncated>false</"
                      "IsTruncated><Contents><Key>p/x/&lt;tag&gt; &amp; &quot;quoted&quot; &apos;s&#x27;</Key><ETag>"
                      "&quot;e&quot;</ETag><Size>17</Size></Contents></ListBucketResult>");
  });
  ASSERT_TRUE(fake.ok());
  S3Options o = Options((*fake)->url());
  o.prefix = "p";
  ASSERT_OK_AND_ASSIGN(auto listed, Open(o)->List("x/"));
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].key, "x/<tag> & \"quoted\" 's'");
  EXPECT_EQ(listed[0].size, 17u);
  EXPECT_EQ((*fake)->requests().at(0).Target(), "/lake?list-type=2&max-keys=1000&prefix=p%2Fx%2F");
}

TEST_F(S3Test, SignsTheSessionTokenAndThePayloadHash) {
  auto capture = ScriptedHttpServer::Start([](const CapturedRequest&, int) { return HttpAnswer(200, ""); });
  ASSERT_TRUE(capture.ok());
  S3Options o = Options((*capture)->url());
  o.session_token = "FwoGZXIvYXdzEXAMPLE";
  ASSERT_OK(Open(o)->Put("k", "payload"));
  const CapturedRequest r = (*capture)->requests().at(0);
  EXPECT_EQ(r.Header("x-amz-security-token"), "FwoGZXIvYXdzEXAMPLE");
  EXPECT_EQ(r.Header("x-amz-content-sha256"), s3::Sha256Hex("payload"));
  EXPECT_THAT(r.Header("Authorization"),
              HasSubstr("SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token, "));
}

}  // namespace
}  // namespace sp
