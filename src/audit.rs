//! The audit log: certificate issuance, revocation and refused certificates, as structured
//! events on the `audit` target with `event`, `outcome`, `client_id`, `client_ip` and `details`.
//! Never a key, a password or a PEM.

use flaskpaste_actors::ca::CertRecord;
use flaskpaste_actors::ca::authority::Issued;
use serde_json::json;

use crate::client_ip::ClientIp;
use crate::identity::Identity;

/// A certificate was issued (`kind`: `registration`, `csr` or `issue`).
pub fn cert_issued(client_ip: &ClientIp, identity: &Identity, kind: &str, certificate: &Issued) {
    let details = json!({
        "type": kind,
        "common_name": certificate.common_name,
        "serial": certificate.serial,
        "fingerprint": certificate.fingerprint,
        "expires_at": certificate.expires_at,
    });
    tracing::info!(
        target: "audit",
        event = "cert_issued",
        outcome = "success",
        client_id = identity.fingerprint.as_deref().unwrap_or("anonymous"),
        client_ip = %client_ip,
        details = %details,
        "certificate issued"
    );
}

/// A certificate was revoked.
pub fn cert_revoked(client_ip: &ClientIp, identity: &Identity, certificate: &CertRecord) {
    let details = json!({ "serial": certificate.serial, "fingerprint": certificate.fingerprint });
    tracing::info!(
        target: "audit",
        event = "cert_revoked",
        outcome = "success",
        client_id = identity.fingerprint.as_deref().unwrap_or("anonymous"),
        client_ip = %client_ip,
        details = %details,
        "certificate revoked"
    );
}
