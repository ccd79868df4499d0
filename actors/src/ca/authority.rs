//! The certificate authority's cryptography: making the CA, sealing its key, issuing client
//! certificates, reading CSRs and bundling PKCS#12 files.
//!
//! Certificates follow the RFC 5280 profile that `openssl verify -x509_strict` expects: the CA
//! has a critical `CA:TRUE`, `keyCertSign` and `cRLSign`, and a subject key identifier; a client
//! certificate has `CA:FALSE`, `digitalSignature`, `clientAuth` and an authority key identifier,
//! whatever its request asked for. Every certificate gets a random 128-bit serial (top bit clear)
//! and an explicit validity. A CSR contributes only its subject's common name and its public
//! key: its requested extensions are never copied.

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, PKCS_ECDSA_P384_SHA384, PublicKeyData, SerialNumber,
    SubjectPublicKeyInfo,
};
use sha1::{Digest, Sha1};
use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::prelude::FromDer;
use x509_parser::public_key::PublicKey;

/// PBKDF2 rounds sealing the CA key (PBES2 with HMAC-SHA256 and AES-256-CBC).
const KEY_SEAL_ITERATIONS: u32 = 600_000;
/// Smallest RSA key a CSR may carry.
const MIN_RSA_BITS: usize = 2048;
/// Largest RSA key whose signature can be checked.
const MAX_RSA_BITS: usize = 8192;
/// RFC 5280's upper bound on a common name, in characters.
const MAX_COMMON_NAME: usize = 64;

/// Why the authority could not do what was asked.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AuthorityError {
    #[error("certificate generation failed: {0}")]
    Generation(String),
    #[error("the CA key could not be unsealed: wrong FLASKPASTE_PKI_CA_PASSWORD or damaged key")]
    Unseal,
}

impl From<rcgen::Error> for AuthorityError {
    fn from(err: rcgen::Error) -> Self {
        AuthorityError::Generation(err.to_string())
    }
}

/// Why a CSR was refused; each reason is shown to the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CsrError {
    #[error("CSR required")]
    Empty,
    #[error("Invalid CSR format")]
    Malformed,
    #[error("CSR signature is invalid")]
    BadSignature,
    #[error("CSR must contain a Common Name (CN)")]
    NoCommonName,
    #[error("CSR Common Name must be at most 64 characters")]
    CommonNameTooLong,
    #[error("Unsupported key: use EC P-256 or P-384, Ed25519, or RSA of at least 2048 bits")]
    UnsupportedKey,
}

/// A certificate as issued: its DER, PEM and the facts the API shows.
#[derive(Debug, Clone)]
pub struct Issued {
    pub der: Vec<u8>,
    pub pem: String,
    pub serial: String,
    pub fingerprint: String,
    pub common_name: String,
    pub created_at: i64,
    pub expires_at: i64,
}

/// A freshly made CA: its certificate and its key, in plain PKCS#8 DER (to be sealed).
pub struct NewCa {
    pub certificate: Issued,
    pub key: KeyPair,
}

/// What a verified CSR contributes.
pub struct CsrSubject {
    pub common_name: String,
    pub public_key: SubjectPublicKeyInfo,
}

/// Makes a self-signed EC P-384 CA valid for `days` from `now`.
pub fn create_ca(common_name: &str, days: i64, now: i64) -> Result<NewCa, AuthorityError> {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P384_SHA384)?;
    let (serial, serial_hex) = random_serial();
    let mut params = CertificateParams::default();
    params.distinguished_name = common_name_only(common_name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.serial_number = Some(serial);
    set_validity(&mut params, now, days)?;

    let cert = params.self_signed(&key)?;
    Ok(NewCa {
        certificate: described(
            cert.der().to_vec(),
            cert.pem(),
            serial_hex,
            common_name,
            now,
            days,
        ),
        key,
    })
}

/// A new EC P-384 key for a client certificate made on the server.
pub fn new_client_key() -> Result<KeyPair, AuthorityError> {
    Ok(KeyPair::generate_for(&PKCS_ECDSA_P384_SHA384)?)
}

/// Signs a client certificate for `public_key` with the CA.
pub fn issue_client(
    ca_pem: &str,
    ca_key: &KeyPair,
    common_name: &str,
    public_key: &impl PublicKeyData,
    days: i64,
    now: i64,
) -> Result<Issued, AuthorityError> {
    let ca_key = KeyPair::try_from(ca_key.serialize_der().as_slice())?;
    let issuer = Issuer::from_ca_cert_pem(ca_pem, ca_key)?;
    let (serial, serial_hex) = random_serial();
    let mut params = CertificateParams::default();
    params.distinguished_name = common_name_only(common_name);
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    params.use_authority_key_identifier_extension = true;
    params.serial_number = Some(serial);
    set_validity(&mut params, now, days)?;

    let cert = params.signed_by(public_key, &issuer)?;
    Ok(described(
        cert.der().to_vec(),
        cert.pem(),
        serial_hex,
        common_name,
        now,
        days,
    ))
}

/// Seals the CA key as a standard encrypted PKCS#8 PEM (PBES2: PBKDF2-HMAC-SHA256, AES-256).
pub fn seal_key(key: &KeyPair, password: &str) -> Result<String, AuthorityError> {
    let generation = |err: &dyn std::fmt::Display| AuthorityError::Generation(err.to_string());
    let der = zeroize_on_drop(key.serialize_der());
    let info = pkcs8::PrivateKeyInfoRef::try_from(der.as_slice()).map_err(|e| generation(&e))?;
    let mut salt = [0u8; 16];
    let mut iv = [0u8; 16];
    rand::fill(&mut salt);
    rand::fill(&mut iv);
    let params = pkcs8::pkcs5::pbes2::Parameters::generate_pbkdf2_sha256_aes256cbc(
        KEY_SEAL_ITERATIONS,
        &salt,
        iv,
    )
    .map_err(|e| generation(&e))?;
    let sealed = info
        .encrypt_with_params(params, password.as_bytes())
        .map_err(|e| generation(&e))?;
    let pem = sealed
        .to_pem("ENCRYPTED PRIVATE KEY", pkcs8::LineEnding::LF)
        .map_err(|e| generation(&e))?;
    Ok(pem.to_string())
}

/// Opens a key sealed by [`seal_key`].
pub fn unseal_key(pem: &str, password: &str) -> Result<KeyPair, AuthorityError> {
    let (_, document) = pkcs8::SecretDocument::from_pem(pem).map_err(|_| AuthorityError::Unseal)?;
    let encrypted = pkcs8::EncryptedPrivateKeyInfoRef::try_from(document.as_bytes())
        .map_err(|_| AuthorityError::Unseal)?;
    let plain = encrypted
        .decrypt(password.as_bytes())
        .map_err(|_| AuthorityError::Unseal)?;
    KeyPair::try_from(plain.as_bytes()).map_err(|_| AuthorityError::Unseal)
}

/// Reads and checks a CSR (PEM, or DER): signature, key type and size, common name.
pub fn read_csr(body: &[u8]) -> Result<CsrSubject, CsrError> {
    let text = std::str::from_utf8(body)
        .map_err(|_| CsrError::Malformed)?
        .trim();
    if text.is_empty() {
        return Err(CsrError::Empty);
    }
    let der = pem::parse(text)
        .ok()
        .filter(|block| {
            block.tag() == "CERTIFICATE REQUEST" || block.tag() == "NEW CERTIFICATE REQUEST"
        })
        .map(pem::Pem::into_contents)
        .ok_or(CsrError::Malformed)?;
    let (rest, csr) = X509CertificationRequest::from_der(&der).map_err(|_| CsrError::Malformed)?;
    if !rest.is_empty() {
        return Err(CsrError::Malformed);
    }
    // The key is judged before the signature: ring will not even check a signature made with
    // a key it does not accept, and the answer should say why.
    let info = &csr.certification_request_info;
    let rsa_size_ok = |bits: usize| (MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits);
    match info.subject_pki.parsed() {
        Ok(PublicKey::RSA(rsa)) if rsa_size_ok(rsa.key_size()) => {}
        Ok(PublicKey::EC(_)) => {}
        Ok(_)
            if info.subject_pki.algorithm.algorithm
                == x509_parser::oid_registry::OID_SIG_ED25519 => {}
        _ => return Err(CsrError::UnsupportedKey),
    }
    // Only the curves we can sign for (P-256, P-384) get past this.
    let public_key = SubjectPublicKeyInfo::from_der(info.subject_pki.raw)
        .map_err(|_| CsrError::UnsupportedKey)?;
    csr.verify_signature().map_err(|_| CsrError::BadSignature)?;

    let common_name = info
        .subject
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .filter(|cn| !cn.trim().is_empty())
        .ok_or(CsrError::NoCommonName)?
        .to_owned();
    if common_name.chars().count() > MAX_COMMON_NAME {
        return Err(CsrError::CommonNameTooLong);
    }
    Ok(CsrSubject {
        common_name,
        public_key,
    })
}

/// An unencrypted PKCS#12 bundle of the key, its certificate and the CA certificate, as OpenSSL
/// 3 opens it with an empty password (PBES2, AES-256, SHA-256 MAC).
pub fn pkcs12(
    key: &KeyPair,
    certificate_der: &[u8],
    ca_der: &[u8],
) -> Result<Vec<u8>, AuthorityError> {
    let generation = |err: &dyn std::fmt::Display| AuthorityError::Generation(err.to_string());
    let key_der = zeroize_on_drop(key.serialize_der());
    let private_key = p12_keystore::PrivateKey::from_der(&key_der).map_err(|e| generation(&e))?;
    let leaf = p12_keystore::Certificate::from_der(certificate_der).map_err(|e| generation(&e))?;
    let ca = p12_keystore::Certificate::from_der(ca_der).map_err(|e| generation(&e))?;
    let local_key_id = fingerprint(certificate_der);
    let chain =
        p12_keystore::PrivateKeyChain::new(local_key_id.as_bytes(), private_key, [leaf, ca]);
    let mut store = p12_keystore::KeyStore::new();
    store.add_entry(
        "client",
        p12_keystore::KeyStoreEntry::PrivateKeyChain(chain),
    );
    store.writer("").write().map_err(|e| generation(&e))
}

/// SHA-1 over the certificate's DER, lowercase hex: what `X-SSL-Client-SHA1` carries.
pub fn fingerprint(der: &[u8]) -> String {
    hex::encode(Sha1::digest(der))
}

fn described(der: Vec<u8>, pem: String, serial: String, cn: &str, now: i64, days: i64) -> Issued {
    Issued {
        fingerprint: fingerprint(&der),
        der,
        pem,
        serial,
        common_name: cn.to_owned(),
        created_at: now,
        expires_at: now + days * 86_400,
    }
}

fn common_name_only(common_name: &str) -> DistinguishedName {
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, common_name);
    name
}

fn set_validity(params: &mut CertificateParams, now: i64, days: i64) -> Result<(), AuthorityError> {
    let at = |seconds| {
        time::OffsetDateTime::from_unix_timestamp(seconds)
            .map_err(|err| AuthorityError::Generation(err.to_string()))
    };
    params.not_before = at(now)?;
    params.not_after = at(now + days * 86_400)?;
    Ok(())
}

/// 128 random bits with the top bit clear (a positive DER integer of 16 bytes at most).
fn random_serial() -> (SerialNumber, String) {
    let mut bytes = [0u8; 16];
    rand::fill(&mut bytes);
    bytes[0] &= 0x7f;
    (SerialNumber::from_slice(&bytes), hex::encode(bytes))
}

/// Key bytes that are wiped when dropped.
fn zeroize_on_drop(bytes: Vec<u8>) -> pkcs8::der::zeroize::Zeroizing<Vec<u8>> {
    pkcs8::der::zeroize::Zeroizing::new(bytes)
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::process::Command;

    use super::*;

    const NOW: i64 = 1_790_000_000;

    fn openssl(args: &[&str], dir: &Path) -> (bool, String) {
        let output = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl runs");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        (output.status.success(), text)
    }

    fn now() -> i64 {
        crate::clock::unix_now()
    }

    #[test]
    fn openssl_verifies_a_client_certificate_against_the_ca() {
        let dir = tempfile::tempdir().unwrap();
        let ca = create_ca("Test CA", 30, now()).unwrap();
        let client_key = new_client_key().unwrap();
        let client =
            issue_client(&ca.certificate.pem, &ca.key, "alice", &client_key, 7, now()).unwrap();
        std::fs::write(dir.path().join("ca.crt"), &ca.certificate.pem).unwrap();
        std::fs::write(dir.path().join("client.crt"), &client.pem).unwrap();

        let (ok, text) = openssl(
            &[
                "verify",
                "-CAfile",
                "ca.crt",
                "-x509_strict",
                "-purpose",
                "sslclient",
                "client.crt",
            ],
            dir.path(),
        );
        let (_, fingerprint) = openssl(
            &[
                "x509",
                "-in",
                "client.crt",
                "-noout",
                "-fingerprint",
                "-sha1",
            ],
            dir.path(),
        );

        assert!(ok, "{text}");
        let printed = fingerprint
            .trim()
            .rsplit('=')
            .next()
            .unwrap()
            .replace(':', "")
            .to_lowercase();
        assert_eq!(printed, client.fingerprint);
        assert_eq!(client.serial.len(), 32);
    }

    #[test]
    fn the_sealed_ca_key_opens_with_the_password_only() {
        let dir = tempfile::tempdir().unwrap();
        let ca = create_ca("Test CA", 30, NOW).unwrap();
        let sealed = seal_key(&ca.key, "correct horse").unwrap();
        std::fs::write(dir.path().join("ca.key"), &sealed).unwrap();

        let (with_password, text) = openssl(
            &[
                "pkey",
                "-in",
                "ca.key",
                "-passin",
                "pass:correct horse",
                "-noout",
            ],
            dir.path(),
        );
        let (without, _) = openssl(
            &["pkey", "-in", "ca.key", "-passin", "pass:wrong", "-noout"],
            dir.path(),
        );

        assert!(sealed.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
        assert!(with_password, "{text}");
        assert!(!without);
        assert!(unseal_key(&sealed, "correct horse").is_ok());
        assert!(matches!(
            unseal_key(&sealed, "wrong"),
            Err(AuthorityError::Unseal)
        ));
    }

    #[test]
    fn a_pkcs12_bundle_opens_with_openssl_defaults_and_an_empty_password() {
        let dir = tempfile::tempdir().unwrap();
        let ca = create_ca("Test CA", 30, now()).unwrap();
        let key = new_client_key().unwrap();
        let client = issue_client(&ca.certificate.pem, &ca.key, "bob", &key, 7, now()).unwrap();
        let bundle = pkcs12(&key, &client.der, &ca.certificate.der).unwrap();
        std::fs::write(dir.path().join("client.p12"), bundle).unwrap();

        let (ok, text) = openssl(
            &["pkcs12", "-in", "client.p12", "-nodes", "-passin", "pass:"],
            dir.path(),
        );

        assert!(ok, "{text}");
        assert!(
            text.contains("BEGIN PRIVATE KEY") && text.matches("BEGIN CERTIFICATE").count() == 2,
            "{text}"
        );
    }

    #[test]
    fn csrs_from_openssl_are_signed_without_their_requested_extensions() {
        let dir = tempfile::tempdir().unwrap();
        let ca = create_ca("Test CA", 30, now()).unwrap();
        std::fs::write(dir.path().join("ca.crt"), &ca.certificate.pem).unwrap();
        let keys: [&[&str]; 3] = [
            &[
                "ecparam",
                "-genkey",
                "-name",
                "secp384r1",
                "-out",
                "key.pem",
            ],
            &[
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:2048",
                "-out",
                "key.pem",
            ],
            &["genpkey", "-algorithm", "ED25519", "-out", "key.pem"],
        ];
        for key_args in keys {
            assert!(openssl(key_args, dir.path()).0);
            let (made, text) = openssl(
                &[
                    "req",
                    "-new",
                    "-key",
                    "key.pem",
                    "-subj",
                    "/CN=carol",
                    "-addext",
                    "basicConstraints=critical,CA:TRUE",
                    "-out",
                    "req.csr",
                ],
                dir.path(),
            );
            assert!(made, "{text}");

            let csr = std::fs::read(dir.path().join("req.csr")).unwrap();
            let subject = read_csr(&csr).unwrap();
            let issued = issue_client(
                &ca.certificate.pem,
                &ca.key,
                &subject.common_name,
                &subject.public_key,
                7,
                now(),
            )
            .unwrap();
            std::fs::write(dir.path().join("client.crt"), &issued.pem).unwrap();
            let (ok, text) = openssl(
                &[
                    "verify",
                    "-CAfile",
                    "ca.crt",
                    "-x509_strict",
                    "-purpose",
                    "sslclient",
                    "client.crt",
                ],
                dir.path(),
            );
            let (_, shown) = openssl(
                &["x509", "-in", "client.crt", "-noout", "-text"],
                dir.path(),
            );

            assert!(ok, "{key_args:?}: {text}");
            assert_eq!(subject.common_name, "carol");
            assert!(shown.contains("CA:FALSE"), "{shown}");
        }
    }

    #[test]
    fn bad_csrs_are_refused_with_their_reason() {
        let dir = tempfile::tempdir().unwrap();
        assert!(
            openssl(
                &[
                    "genpkey",
                    "-algorithm",
                    "RSA",
                    "-pkeyopt",
                    "rsa_keygen_bits:1024",
                    "-out",
                    "small.pem"
                ],
                dir.path()
            )
            .0
        );
        assert!(
            openssl(
                &[
                    "req",
                    "-new",
                    "-key",
                    "small.pem",
                    "-subj",
                    "/CN=weak",
                    "-out",
                    "small.csr"
                ],
                dir.path()
            )
            .0
        );
        assert!(
            openssl(
                &[
                    "ecparam",
                    "-genkey",
                    "-name",
                    "prime256v1",
                    "-out",
                    "ec.pem"
                ],
                dir.path()
            )
            .0
        );
        assert!(
            openssl(
                &[
                    "req", "-new", "-key", "ec.pem", "-subj", "/O=No CN", "-out", "nocn.csr"
                ],
                dir.path()
            )
            .0
        );
        let small = std::fs::read(dir.path().join("small.csr")).unwrap();
        let no_cn = std::fs::read(dir.path().join("nocn.csr")).unwrap();
        let mut tampered = pem::parse(&no_cn).unwrap().into_contents();
        let last = tampered.len() - 1;
        tampered[last] ^= 0x01;
        let tampered = pem::encode(&pem::Pem::new("CERTIFICATE REQUEST", tampered));

        assert_eq!(read_csr(b"").err(), Some(CsrError::Empty));
        assert_eq!(read_csr(b"not a csr").err(), Some(CsrError::Malformed));
        assert_eq!(read_csr(&small).err(), Some(CsrError::UnsupportedKey));
        assert_eq!(read_csr(&no_cn).err(), Some(CsrError::NoCommonName));
        assert!(
            openssl(
                &[
                    "ecparam",
                    "-genkey",
                    "-name",
                    "secp521r1",
                    "-out",
                    "p521.pem"
                ],
                dir.path()
            )
            .0
        );
        assert!(
            openssl(
                &[
                    "req", "-new", "-key", "p521.pem", "-subj", "/CN=big", "-out", "p521.csr"
                ],
                dir.path()
            )
            .0
        );
        let p521 = std::fs::read(dir.path().join("p521.csr")).unwrap();
        assert_eq!(read_csr(&p521).err(), Some(CsrError::UnsupportedKey));
        // openssl refuses to write a CN over 64 characters; rcgen writes one.
        let key = new_client_key().unwrap();
        let mut params = CertificateParams::default();
        params.distinguished_name = common_name_only(&"B".repeat(65));
        let long = params.serialize_request(&key).unwrap().pem().unwrap();
        assert_eq!(
            read_csr(long.as_bytes()).err(),
            Some(CsrError::CommonNameTooLong)
        );
        assert_eq!(
            read_csr(tampered.as_bytes()).err(),
            Some(CsrError::BadSignature)
        );
    }
}
