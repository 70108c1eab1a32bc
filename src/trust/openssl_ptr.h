// Owning pointers for OpenSSL's objects, freed by their own *_free functions. Shared by the trust
// stage and its tests.
#pragma once

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

namespace sp {

template <auto F>
struct OpenSslFree {
  template <typename T>
  void operator()(T* p) const {
    F(p);
  }
};
using X509Ptr = std::unique_ptr<X509, OpenSslFree<X509_free>>;
using KeyPtr = std::unique_ptr<EVP_PKEY, OpenSslFree<EVP_PKEY_free>>;
using CrlPtr = std::unique_ptr<X509_CRL, OpenSslFree<X509_CRL_free>>;
using BioPtr = std::unique_ptr<BIO, OpenSslFree<BIO_free_all>>;
using BnPtr = std::unique_ptr<BIGNUM, OpenSslFree<BN_free>>;
using IntPtr = std::unique_ptr<ASN1_INTEGER, OpenSslFree<ASN1_INTEGER_free>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, OpenSslFree<X509_EXTENSION_free>>;
using TimePtr = std::unique_ptr<ASN1_TIME, OpenSslFree<ASN1_TIME_free>>;
using RevokedPtr = std::unique_ptr<X509_REVOKED, OpenSslFree<X509_REVOKED_free>>;

}  // namespace sp
