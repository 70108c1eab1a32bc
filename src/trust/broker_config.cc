#include "trust/broker_config.h"

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

  const std::string conf =
      "# Written by `sensorpipe broker-config` (docs/trust.md). Only clients holding a certificate of the\n"
      "# device CA in " +
      certs +
      " connect; the certificate's CN becomes the client's user name and\n"
      "# client id, so no device can take over another's session, and the ACL lets a device publish only\n"
      "# under sensor/<its id>/. Revoked certificates (crl.pem) are refused at the next connection after\n"
      "# a SIGHUP or restart of the broker.\n"
      "per_listener_settings false\n"
      "allow_anonymous false\n"
      "acl_file " +
      files.acl +
      "\n"
      "\n"
      "# mosquitto's defaults lose messages silently: 1000 queued per offline client,\n"
      "# 20 in flight, and nothing kept across a restart without persistence.\n"
      "persistence true\n"
      "persistence_location " +
      files.data_dir +
      "/\n"
      "autosave_interval 10\n"
      "max_queued_messages 1000000\n"
      "max_inflight_messages 1000\n"
      "log_dest file " +
      files.data_dir + "/mosquitto.log\n" + (options.user.empty() ? "" : "user " + options.user + "\n") +
      "\n"
      "# Listener options must follow their `listener` line: before it, mosquitto 2.0 applies them to a\n"
      "# default listener that it then opens on port 1883 as well, without TLS and without them.\n"
      "listener " +
      std::to_string(options.port) + " " + options.bind +
      "\n"
      "cafile " +
      cert(CertFiles::kCaCert) +
      "\n"
      "certfile " +
      cert(CertFiles::kServerCert) +
      "\n"
      "keyfile " +
      cert(CertFiles::kServerKey) +
      "\n"
      "crlfile " +
      cert(CertFiles::kCrl) +
      "\n"
      "require_certificate true\n"
      "use_identity_as_username true\n"
      "use_username_as_clientid true\n";

  const std::string acl =
      "# Written by `sensorpipe broker-config` (docs/trust.md). mosquitto 2.0.11 checks write access on\n"
      "# each publish and read access on each message it delivers, against that message's topic (also\n"
      "# for a shared subscription, $share/<group>/...); subscribing itself is never refused.\n"
      "\n"
      "# A device (user name = its certificate's CN, %u) may publish under sensor/<its id>/<something>\n"
      "# and nowhere else, and reads nothing. The rule is +/# because # also matches its parent level:\n"
      "# sensor/%u/# would allow sensor/<its id> itself. + matches an empty level too, so sensor/<its id>/\n"
      "# (a topic that names no device to the pipeline) is denied by name; deny rules are checked first.\n"
      "pattern deny sensor/%u/\n"
      "pattern write sensor/%u/+/#\n"
      "\n"
      "# sensorpipe's own identity reads every device's data.\n"
      "user " +
      std::string(CertFiles::kService) +
      "\n"
      "topic read sensor/#\n";

  SP_RETURN_IF_ERROR(env->WriteFileAtomic(files.acl, acl));
  SP_RETURN_IF_ERROR(env->WriteFileAtomic(files.conf, conf));
  return files;
}

}  // namespace sp
