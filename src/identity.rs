//! Who a request comes from: the client certificate fingerprint a TLS-terminating proxy passes
//! in `X-SSL-Client-SHA1`, checked against the proxy secret, and the trust it earns.
//!
//! The fingerprint is believed only when it is exactly 40 hex characters in one header value
//! and, if `FLASKPASTE_PROXY_SECRET` is set, the request carries the same `X-Proxy-Secret`
//! (compared in constant time). Anything else is an anonymous request, never an error. Which
//! certificates this instance issued, and which are revoked or expired, is the certificate
//! authority's to say, through [`CertificateTrust`].

use std::collections::HashSet;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use subtle::ConstantTimeEq;

use crate::client_ip::ClientIp;
use crate::config::Secret;
use crate::state::AppState;

/// How far the service trusts a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrustLevel {
    /// No accepted fingerprint.
    Anonymous,
    /// A fingerprint of a certificate this instance did not issue.
    Untrusted,
    /// A valid certificate issued by this instance's CA.
    Trusted,
}

/// What the certificate authority knows of a fingerprint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertificateStatus {
    /// Not issued here.
    Unknown,
    /// Issued here, neither revoked nor expired; `admin` for the first registered user.
    Valid {
        admin: bool,
    },
    Revoked,
    Expired,
}

/// Answers a fingerprint's certificate status from memory, without a database round trip.
pub trait CertificateTrust: Send + Sync + 'static {
    fn status(&self, fingerprint: &str) -> CertificateStatus;
}

/// The answer while no certificate authority runs: every fingerprint is unknown.
pub struct NoCertificateAuthority;

impl CertificateTrust for NoCertificateAuthority {
    fn status(&self, _fingerprint: &str) -> CertificateStatus {
        CertificateStatus::Unknown
    }
}

/// The certificate authority's hot trust map answers for its own certificates.
impl CertificateTrust for flaskpaste_actors::ca::CaHandle {
    fn status(&self, fingerprint: &str) -> CertificateStatus {
        use flaskpaste_actors::ca::Trust;
        match self.trust(fingerprint, flaskpaste_actors::clock::unix_now()) {
            Trust::Unknown => CertificateStatus::Unknown,
            Trust::Valid { admin } => CertificateStatus::Valid { admin },
            Trust::Revoked => CertificateStatus::Revoked,
            Trust::Expired => CertificateStatus::Expired,
        }
    }
}

/// How identities are decided; built once from the configuration.
#[derive(Clone)]
pub struct IdentityPolicy {
    proxy_secret: Option<Secret>,
    admins: Arc<HashSet<String>>,
    certificates: Arc<dyn CertificateTrust>,
}

impl IdentityPolicy {
    pub fn new(
        proxy_secret: Option<Secret>,
        admins: impl IntoIterator<Item = String>,
        certificates: Arc<dyn CertificateTrust>,
    ) -> Self {
        Self {
            proxy_secret,
            admins: Arc::new(admins.into_iter().collect()),
            certificates,
        }
    }

    /// The identity the request's headers establish.
    pub fn identify(&self, headers: &HeaderMap, client_ip: &ClientIp) -> Identity {
        let Some(fingerprint) = self.accepted_fingerprint(headers) else {
            return Identity::anonymous();
        };
        let configured_admin = self.admins.contains(&fingerprint);
        let (trust, ca_admin) = match self.certificates.status(&fingerprint) {
            CertificateStatus::Unknown => (TrustLevel::Untrusted, false),
            CertificateStatus::Valid { admin } => (TrustLevel::Trusted, admin),
            status @ (CertificateStatus::Revoked | CertificateStatus::Expired) => {
                let reason = if status == CertificateStatus::Revoked {
                    "revoked"
                } else {
                    "expired"
                };
                tracing::warn!(
                    target: "audit",
                    event = "auth_failure",
                    outcome = "failure",
                    client_id = %fingerprint,
                    client_ip = %client_ip,
                    details = %serde_json::json!({ "reason": reason }),
                    "certificate refused"
                );
                return Identity::anonymous();
            }
        };
        Identity {
            fingerprint: Some(fingerprint),
            trust,
            admin: configured_admin || ca_admin,
        }
    }

    fn accepted_fingerprint(&self, headers: &HeaderMap) -> Option<String> {
        if let Some(secret) = &self.proxy_secret {
            let sent = single_header(headers, "x-proxy-secret")?;
            if !bool::from(sent.as_bytes().ct_eq(secret.expose().as_bytes())) {
                return None;
            }
        }
        let value = single_header(headers, "x-ssl-client-sha1")?;
        let value = std::str::from_utf8(value.as_bytes()).ok()?;
        (value.len() == 40 && value.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| value.to_ascii_lowercase())
    }
}

/// The one value of a header; several values are as good as none.
fn single_header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a axum::http::HeaderValue> {
    let mut values = headers.get_all(name).iter();
    let first = values.next()?;
    values.next().is_none().then_some(first)
}

/// The client a request is from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The accepted certificate fingerprint, lowercase hex.
    pub fingerprint: Option<String>,
    pub trust: TrustLevel,
    pub admin: bool,
}

impl Identity {
    pub fn anonymous() -> Self {
        Self {
            fingerprint: None,
            trust: TrustLevel::Anonymous,
            admin: false,
        }
    }

    pub fn is_authenticated(&self) -> bool {
        self.fingerprint.is_some()
    }
}

impl FromRequestParts<AppState> for Identity {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let client_ip = ClientIp::from_parts(parts);
        Ok(state.identity.identify(&parts.headers, &client_ip))
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    const FINGERPRINT: &str = "a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2";

    fn policy(secret: Option<&str>) -> IdentityPolicy {
        IdentityPolicy::new(
            secret.map(|s| s.parse().unwrap()),
            [],
            Arc::new(NoCertificateAuthority),
        )
    }

    fn identify(policy: &IdentityPolicy, headers: &[(&'static str, &str)]) -> Identity {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        policy.identify(&map, &ClientIp::unknown())
    }

    #[test]
    fn a_well_formed_fingerprint_is_untrusted_and_lowercased() {
        let upper = FINGERPRINT.to_ascii_uppercase();

        let identity = identify(&policy(None), &[("x-ssl-client-sha1", &upper)]);

        assert_eq!(identity.fingerprint.as_deref(), Some(FINGERPRINT));
        assert_eq!(identity.trust, TrustLevel::Untrusted);
        assert!(!identity.admin);
    }

    #[test]
    fn malformed_fingerprints_are_anonymous() {
        let colons = "a1:b2:c3:d4:e5:f6:a1:b2:c3:d4:e5:f6:a1:b2:c3:d4:e5:f6:a1:b2";
        for bad in [
            &FINGERPRINT[..39],
            &format!("{FINGERPRINT}a"),
            colons,
            "",
            "zz".repeat(20).as_str(),
        ] {
            let identity = identify(&policy(None), &[("x-ssl-client-sha1", bad)]);
            assert_eq!(identity, Identity::anonymous(), "{bad}");
        }
        let twice = identify(
            &policy(None),
            &[
                ("x-ssl-client-sha1", FINGERPRINT),
                ("x-ssl-client-sha1", FINGERPRINT),
            ],
        );
        assert_eq!(twice, Identity::anonymous());
    }

    #[test]
    fn with_a_proxy_secret_only_the_matching_secret_lets_a_fingerprint_through() {
        let policy = policy(Some("s3cret"));

        let right = identify(
            &policy,
            &[
                ("x-ssl-client-sha1", FINGERPRINT),
                ("x-proxy-secret", "s3cret"),
            ],
        );
        let wrong = identify(
            &policy,
            &[
                ("x-ssl-client-sha1", FINGERPRINT),
                ("x-proxy-secret", "s3creT"),
            ],
        );
        let missing = identify(&policy, &[("x-ssl-client-sha1", FINGERPRINT)]);

        assert!(right.is_authenticated());
        assert_eq!(wrong, Identity::anonymous());
        assert_eq!(missing, Identity::anonymous());
    }

    struct Fixed(CertificateStatus);

    impl CertificateTrust for Fixed {
        fn status(&self, _fingerprint: &str) -> CertificateStatus {
            self.0
        }
    }

    #[test]
    fn certificates_of_this_ca_are_trusted_until_revoked_or_expired() {
        let with = |status| IdentityPolicy::new(None, [], Arc::new(Fixed(status)));
        let headers = [("x-ssl-client-sha1", FINGERPRINT)];

        let valid = identify(&with(CertificateStatus::Valid { admin: true }), &headers);
        let revoked = identify(&with(CertificateStatus::Revoked), &headers);
        let expired = identify(&with(CertificateStatus::Expired), &headers);

        assert_eq!(valid.trust, TrustLevel::Trusted);
        assert!(valid.admin);
        assert_eq!(revoked, Identity::anonymous());
        assert_eq!(expired, Identity::anonymous());
    }

    #[test]
    fn configured_admins_are_admins() {
        let policy = IdentityPolicy::new(
            None,
            [FINGERPRINT.to_owned()],
            Arc::new(NoCertificateAuthority),
        );

        let identity = identify(&policy, &[("x-ssl-client-sha1", FINGERPRINT)]);

        assert!(identity.admin);
    }
}
