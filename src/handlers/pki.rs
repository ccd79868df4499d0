//! The built-in PKI: `/pki`, `/pki/ca`, `/pki/ca.crt`, `/pki/issue`, `/pki/certs`,
//! `/pki/revoke/{serial}`, `/register` and `/csr`.
//!
//! Everything but `GET /pki` answers 404 unless the PKI is enabled. The endpoints that hand out
//! certificates are rate limited on their own budget and ask for the registration
//! proof-of-work; every issuance and revocation is written to the audit log.

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use flaskpaste_actors::ca::authority::{self, Issued};
use flaskpaste_actors::ca::{CaError, CaHandle, CertRecord, IssueKind};
use flaskpaste_actors::clock::unix_now;
use flaskpaste_actors::pow::Purpose;
use flaskpaste_actors::rate_limit::Budget;
use serde_json::{Value, json};

use crate::audit;
use crate::body::{self, BodyError, BodyPace};
use crate::client_ip::ClientIp;
use crate::error::ApiError;
use crate::identity::Identity;
use crate::state::AppState;
use crate::{pow, rate};

/// Largest body the PKI endpoints read (a CSR or a small JSON object).
const MAX_PKI_BODY: u64 = 64 * 1024;
/// Longest common name accepted from JSON (the X.509 upper bound).
const MAX_COMMON_NAME: usize = 64;

fn ca(state: &AppState) -> Result<&CaHandle, ApiError> {
    state.ca.as_ref().ok_or(ApiError::PkiDisabled)
}

/// `GET /pki`: whether the PKI is on and what its CA is.
pub async fn status(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let Some(ca) = &state.ca else {
        return Ok(Json(json!({ "enabled": false })));
    };
    Ok(Json(match ca.ca().await? {
        None => json!({
            "enabled": true,
            "ca_exists": false,
            "hint": "POST /pki/ca to generate CA",
        }),
        Some(info) => json!({
            "enabled": true,
            "ca_exists": true,
            "common_name": info.common_name,
            "fingerprint_sha1": info.fingerprint,
            "created_at": info.created_at,
            "expires_at": info.expires_at,
            "key_algorithm": "ec:secp384r1",
        }),
    }))
}

/// `POST /pki/ca`: makes the CA, once. Takes an optional `{"common_name": ...}`.
pub async fn create_ca(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let ca = ca(&state)?;
    let request = read_json(&state, &headers, body).await?;
    let common_name = common_name(&request)?.unwrap_or_else(|| "FlaskPaste CA".to_owned());

    let info = ca.create_ca(common_name, unix_now()).await?;

    let body = json!({
        "message": "CA generated",
        "common_name": info.common_name,
        "fingerprint_sha1": info.fingerprint,
        "created_at": info.created_at,
        "expires_at": info.expires_at,
        "download": "/pki/ca.crt",
    });
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// `GET /pki/ca.crt`: the CA certificate for trust stores.
pub async fn ca_certificate(State(state): State<AppState>) -> Result<Response, ApiError> {
    let pem = ca(&state)?
        .ca_pem()
        .await?
        .ok_or(ApiError::Pki(CaError::NoCa))?;
    Ok(([(header::CONTENT_TYPE, "application/x-pem-file")], pem).into_response())
}

/// `POST /pki/issue`: a certificate with a server-made key, as JSON.
pub async fn issue(
    State(state): State<AppState>,
    client_ip: ClientIp,
    identity: Identity,
    headers: HeaderMap,
    body: Body,
) -> Response {
    limited(
        &state,
        client_ip,
        &identity,
        &headers,
        body,
        async |state, ca, body| {
            let request = read_json(state, &headers, body).await?;
            let common_name = common_name(&request)?.ok_or(ApiError::CommonNameRequired)?;

            let keyed = ca
                .issue_with_key(
                    IssueKind::Issuance,
                    common_name,
                    identity.fingerprint.clone(),
                    unix_now(),
                )
                .await?;

            audit::cert_issued(&client_ip, &identity, "issue", &keyed.certificate);
            let certificate = &keyed.certificate;
            let body = json!({
                "message": "Certificate issued",
                "serial": certificate.serial,
                "common_name": certificate.common_name,
                "fingerprint_sha1": certificate.fingerprint,
                "created_at": certificate.created_at,
                "expires_at": certificate.expires_at,
                "certificate_pem": certificate.pem,
                "private_key_pem": keyed.key_pem,
            });
            Ok((StatusCode::CREATED, Json(body)).into_response())
        },
    )
    .await
}

/// `POST /register`: a PKCS#12 bundle (empty password) with a server-made key.
pub async fn register(
    State(state): State<AppState>,
    client_ip: ClientIp,
    identity: Identity,
    headers: HeaderMap,
    body: Body,
) -> Response {
    limited(
        &state,
        client_ip,
        &identity,
        &headers,
        body,
        async |state, ca, body| {
            let request = read_json(state, &headers, body).await?;
            let common_name =
                common_name(&request)?.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());

            let keyed = ca
                .issue_with_key(
                    IssueKind::Registration,
                    common_name,
                    identity.fingerprint.clone(),
                    unix_now(),
                )
                .await?;

            audit::cert_issued(&client_ip, &identity, "registration", &keyed.certificate);
            let disposition = HeaderValue::from_static("attachment; filename=\"client.p12\"");
            Ok(certificate_response(
                Body::from(keyed.pkcs12),
                &keyed.certificate,
                keyed.is_admin,
                "application/x-pkcs12",
                disposition,
            ))
        },
    )
    .await
}

/// `POST /csr`: signs a PEM CSR from the body, whatever its `Content-Type`.
pub async fn sign_csr(
    State(state): State<AppState>,
    client_ip: ClientIp,
    identity: Identity,
    headers: HeaderMap,
    body: Body,
) -> Response {
    limited(
        &state,
        client_ip,
        &identity,
        &headers,
        body,
        async |state, ca, body| {
            let pem = read_small(state, &headers, body).await?;
            let subject = authority::read_csr(&pem).inspect_err(|_| {
                metrics::counter!("flaskpaste_pki_certificates_refused_total", "reason" => "bad_csr")
                    .increment(1);
            })?;

            let signed = ca
                .sign_csr(subject, identity.fingerprint.clone(), unix_now())
                .await?;

            audit::cert_issued(&client_ip, &identity, "csr", &signed.certificate);
            let filename = safe_filename(&signed.certificate.common_name);
            let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{filename}.crt\""))
                .expect("the filename holds only safe characters");
            Ok(certificate_response(
                Body::from(signed.certificate.pem.clone()),
                &signed.certificate,
                signed.is_admin,
                "application/x-pem-file",
                disposition,
            ))
        },
    )
    .await
}

/// `GET /pki/certs`: the caller's certificates (issued by or to them); empty when anonymous.
pub async fn list_certificates(
    State(state): State<AppState>,
    identity: Identity,
) -> Result<Json<Value>, ApiError> {
    let ca = ca(&state)?;
    let certificates = match identity.fingerprint {
        Some(fingerprint) => ca.certificates_of(fingerprint).await?,
        None => Vec::new(),
    };

    let now = unix_now();
    let listed: Vec<Value> = certificates
        .iter()
        .map(|cert| describe(cert, now))
        .collect();
    Ok(Json(
        json!({ "certificates": listed, "count": listed.len() }),
    ))
}

/// `POST /pki/revoke/{serial}`: for the certificate's holder, its issuer, or an admin.
pub async fn revoke(
    State(state): State<AppState>,
    client_ip: ClientIp,
    identity: Identity,
    serial: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let ca = ca(&state)?;
    let Some(by) = identity.fingerprint.clone() else {
        return Err(ApiError::AuthRequired);
    };
    // A serial that is not even UTF-8 names no certificate.
    let Ok(Path(serial)) = serial else {
        return Err(ApiError::Pki(CaError::NotFound));
    };

    let serial = serial.to_ascii_lowercase();
    let revoked = ca.revoke(serial, by, identity.admin, unix_now()).await?;

    audit::cert_revoked(&client_ip, &identity, &revoked);
    Ok(Json(
        json!({ "message": "Certificate revoked", "serial": revoked.serial }),
    ))
}

/// Runs a certificate-issuing handler under the certificate rate budget and the registration
/// proof-of-work, stamping the rate-limit headers on whatever it answers.
async fn limited(
    state: &AppState,
    client_ip: ClientIp,
    identity: &Identity,
    headers: &HeaderMap,
    body: Body,
    handler: impl AsyncFnOnce(&AppState, &CaHandle, Body) -> Result<Response, ApiError>,
) -> Response {
    let Some(ca) = &state.ca else {
        return ApiError::PkiDisabled.into_response();
    };
    let decision = match rate::check(state, Budget::Certificate, client_ip, identity).await {
        Ok(decision) => decision,
        Err((error, decision)) => {
            body::drain_in_background(body);
            let mut response = error.into_response();
            rate::stamp(&mut response, &decision);
            return response;
        }
    };

    let answer = match pow::require(state, Purpose::Register, headers).await {
        Ok(()) => handler(state, ca, body).await,
        Err(error) => {
            // Refused before its body was read: let a client still sending read why.
            body::drain_in_background(body);
            Err(error)
        }
    };
    let mut response = answer.into_response();
    if let Some(decision) = decision {
        rate::stamp(&mut response, &decision);
    }
    response
}

async fn read_small(
    state: &AppState,
    headers: &HeaderMap,
    mut body: Body,
) -> Result<Bytes, ApiError> {
    let pace = BodyPace::from_config(&state.config);
    let declared = body::declared_length(headers);
    match body::read_limited(&mut body, declared, MAX_PKI_BODY, &pace, &state.uploads).await {
        Ok((bytes, _reservation)) => Ok(bytes),
        Err(BodyError::TooLarge { size }) => {
            body::drain_in_background(body);
            Err(ApiError::RequestTooLarge {
                size,
                max_size: MAX_PKI_BODY,
            })
        }
        Err(BodyError::TooSlow) => Err(ApiError::BodyTooSlow),
        Err(BodyError::BudgetSpent) => Err(ApiError::UploadsBusy),
        Err(BodyError::Unreadable) => Err(ApiError::BodyUnreadable),
    }
}

/// An optional JSON object body; an empty body counts as `{}`.
async fn read_json(state: &AppState, headers: &HeaderMap, body: Body) -> Result<Value, ApiError> {
    let bytes = read_small(state, headers, body).await?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    let value: Value = serde_json::from_slice(&bytes).map_err(|_| ApiError::InvalidJson)?;
    if value.is_object() {
        Ok(value)
    } else {
        Err(ApiError::InvalidJson)
    }
}

/// The request's `common_name`: absent or null is `None`; anything but a sensible string is 400.
fn common_name(request: &Value) -> Result<Option<String>, ApiError> {
    match request.get("common_name") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(name)) => {
            let valid = !name.trim().is_empty()
                && name.chars().count() <= MAX_COMMON_NAME
                && !name.chars().any(char::is_control);
            if valid {
                Ok(Some(name.clone()))
            } else {
                Err(ApiError::CommonNameRequired)
            }
        }
        Some(_) => Err(ApiError::CommonNameRequired),
    }
}

/// A certificate download: the bytes, their type and file name, and the certificate's facts.
fn certificate_response(
    body: Body,
    certificate: &Issued,
    is_admin: bool,
    content_type: &'static str,
    disposition: HeaderValue,
) -> Response {
    let mut response = Response::new(body);
    certificate_headers(&mut response, certificate, is_admin);
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CONTENT_DISPOSITION, disposition);
    response
}

fn certificate_headers(response: &mut Response, certificate: &Issued, is_admin: bool) {
    let headers = response.headers_mut();
    let hex = |value: &str| HeaderValue::from_str(value).expect("hex is a valid header value");
    headers.insert("x-fingerprint-sha1", hex(&certificate.fingerprint));
    headers.insert(
        "x-certificate-expires",
        HeaderValue::from(certificate.expires_at),
    );
    headers.insert("x-certificate-serial", hex(&certificate.serial));
    headers.insert(
        "x-is-admin",
        HeaderValue::from_static(if is_admin { "1" } else { "0" }),
    );
}

/// A CN reduced to `[A-Za-z0-9._-]`, without leading dots; `client` when nothing is left.
fn safe_filename(common_name: &str) -> String {
    let kept: String = common_name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        .collect();
    let kept = kept.trim_start_matches('.');
    if kept.is_empty() {
        "client".to_owned()
    } else {
        kept.to_owned()
    }
}

fn describe(cert: &CertRecord, now: i64) -> Value {
    let status = if cert.revoked_at.is_some() {
        "revoked"
    } else if cert.expires_at < now {
        "expired"
    } else {
        "valid"
    };
    json!({
        "serial": cert.serial,
        "common_name": cert.common_name,
        "fingerprint_sha1": cert.fingerprint,
        "created_at": cert.created_at,
        "expires_at": cert.expires_at,
        "status": status,
        "issued_to": cert.issued_to,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filenames_keep_only_safe_characters() {
        assert_eq!(safe_filename("alice"), "alice");
        assert_eq!(safe_filename("a\"b\r\nc"), "abc");
        assert_eq!(safe_filename("..hidden"), "hidden");
        assert_eq!(safe_filename("Zoë 😀"), "Zo");
        assert_eq!(safe_filename("\"\""), "client");
    }
}
