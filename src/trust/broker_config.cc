#include "trust/broker_config.h"

#include <fmt/format.h>

#include "trust/certs.h"

namespace sp {

std::string AclPathFor(const std::string& conf_path) {
  constexpr std::string_view kConf = ".conf";
  if (conf_path.ends_with(kConf)) return conf_path.substr(0, conf_path.size() - kConf.size()) + ".acl";
  return conf_path + ".acl";
}

Result<BrokerConfigFiles> WriteBrokerConfig(Env* env, const BrokerConfigOptions& options) {
  const std::string certs = AbsolutePath(options.certs_dir);
  for (const char* name : {CertFiles::kCaCert, CertFiles::kServerCert, CertFiles::kServerKey, CertFiles::kCrl}) {
    if (!env->FileExists(JoinPath(certs, name))) {
      return Status::NotFound("no " + std::string(name) + " in " + options.certs_dir +
                              ": run `sensorpipe certs init --dir " + options.certs_dir + "` first");
    }
  }
  BrokerConfigFiles files;
  files.conf = AbsolutePath(options.out);
  files.acl = AclPathFor(files.conf);
  files.data_dir =
      AbsolutePath(options.data_dir.empty() ? JoinPath(DirName(options.out), "mosquitto-data") : options.data_dir);
  SP_RETURN_IF_ERROR(env->CreateDirs(DirName(files.conf)));
  SP_RETURN_IF_ERROR(env->CreateDirs(files.data_dir));
  auto cert = [&](const char* name) { return JoinPath(certs, name); };

  const std::string conf = fmt::format(
      R"(# Written by `sensorpipe broker-config` (docs/trust.md). Only clients holding a certificate of the
# device CA in {certs} connect; the certificate's CN becomes the client's user name and
# client id, so no device can take over another's session, and the ACL lets a device publish only
# under sensor/<its id>/. Revoked certificates (crl.pem) are refused at the next connection after
# a SIGHUP or restart of the broker.
per_listener_settings false
allow_anonymous false
acl_file {acl}

# mosquitto's defaults lose messages silently: 1000 queued per offline client,
# 20 in flight, and nothing kept across a restart without persistence.
persistence true
persistence_location {data}/
autosave_interval 10
max_queued_messages 1000000
max_inflight_messages 1000
log_dest file {data}/mosquitto.log
{user}
# Listener options must follow their `listener` line: before it, mosquitto 2.0 applies them to a
# default listener that it then opens on port 1883 as well, without TLS and without them.
listener {port} {bind}
cafile {ca}
certfile {server_cert}
keyfile {server_key}
crlfile {crl}
require_certificate true
use_identity_as_username true
use_username_as_clientid true
)",
      fmt::arg("certs", certs), fmt::arg("acl", files.acl), fmt::arg("data", files.data_dir),
      fmt::arg("user", options.user.empty() ? "" : "user " + options.user + "\n"), fmt::arg("port", options.port),
      fmt::arg("bind", options.bind), fmt::arg("ca", cert(CertFiles::kCaCert)),
      fmt::arg("server_cert", cert(CertFiles::kServerCert)), fmt::arg("server_key", cert(CertFiles::kServerKey)),
      fmt::arg("crl", cert(CertFiles::kCrl)));

  const std::string acl = fmt::format(
      R"(# Written by `sensorpipe broker-config` (docs/trust.md). mosquitto 2.0.11 checks write access on
# each publish and read access on each message it delivers, against that message's topic (also
# for a shared subscription, $share/<group>/...); subscribing itself is never refused.

# A device (user name = its certificate's CN, %u) may publish under sensor/<its id>/<something>
# and nowhere else, and reads nothing. The rule is +/# because # also matches its parent level:
# sensor/%u/# would allow sensor/<its id> itself. + matches an empty level too, so sensor/<its id>/
# is denied by name; deny rules are checked first.
pattern deny sensor/%u/
pattern write sensor/%u/+/#

# sensorpipe's own identity reads every device's data.
user {service}
topic read sensor/#
)",
      fmt::arg("service", CertFiles::kService));

  SP_RETURN_IF_ERROR(env->WriteFileAtomic(files.acl, acl));
  SP_RETURN_IF_ERROR(env->WriteFileAtomic(files.conf, conf));
  return files;
}

}  // namespace sp
