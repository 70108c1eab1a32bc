// The broker's half of the trust model (certs.h has the CA's): a mosquitto 2.0 config and its ACL
// file that admit only clients holding a certificate of the device CA, name each client after its
// certificate's CN, and let a device publish only under sensor/<its id>/<something> while
// sensorpipe's own identity reads all of sensor/#. docs/trust.md explains each line.
#pragma once

#include <string>

#include "common/env.h"
#include "common/status.h"

namespace sp {

struct BrokerConfigOptions {
  std::string certs_dir;  // made by `sensorpipe certs init`
  int port = 8883;
  std::string bind = "127.0.0.1";  // the listener's address
  std::string data_dir;            // persistence and log; empty: mosquitto-data beside out
  std::string out = "mosquitto.conf";
  std::string user;  // mosquitto's `user` (run as root, it switches to it); empty: its default
};

struct BrokerConfigFiles {
  std::string conf, acl, data_dir;  // absolute paths
};

//! The ACL file's path for a config path: "x.conf" -> "x.acl", anything else gets ".acl" appended.
std::string AclPathFor(const std::string& conf_path);
//! Writes the config and its ACL file (and creates the data folder); refuses when certs_dir has no CA.
Result<BrokerConfigFiles> WriteBrokerConfig(Env* env, const BrokerConfigOptions& options);

}  // namespace sp
