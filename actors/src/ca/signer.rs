//! The CA signer actor: the only holder of the CA key and the only writer of the certificate
//! table.
//!
//! It makes the CA (on request, or on the first registration), issues client certificates,
//! signs CSRs and revokes. Being one actor, it serialises every issuance: of racing first
//! registrations exactly one is made admin. Trust lookups never reach its mailbox: the handle
//! answers them from a map of every issued certificate, which the actor updates as it issues and
//! revokes, so identifying a request costs no database round trip.
//!
//! The CA key is held decrypted in memory only; at rest it is sealed PKCS#8. Without the CA
//! password nothing that needs the key can be done. A restart reloads everything from the
//! database.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dashmap::DashMap;
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use rcgen::KeyPair;
use rusqlite::Connection;

use super::authority::{self, AuthorityError, CsrSubject, Issued};
use super::store::{self, CertRecord, StoredCa};
use crate::mailbox::{MailboxDepth, ask};

/// Why the CA could not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaError {
    #[error("PKI_CA_PASSWORD not configured")]
    NoPassword,
    #[error("CA not initialized")]
    NoCa,
    #[error("CA already exists")]
    AlreadyExists,
    #[error("Certificate not found")]
    NotFound,
    #[error("Permission denied")]
    Forbidden,
    #[error("Certificate already revoked")]
    AlreadyRevoked,
    #[error("certificate authority failed: {0}")]
    Failed(String),
}

impl From<rusqlite::Error> for CaError {
    fn from(err: rusqlite::Error) -> Self {
        CaError::Failed(err.to_string())
    }
}

impl From<AuthorityError> for CaError {
    fn from(err: AuthorityError) -> Self {
        CaError::Failed(err.to_string())
    }
}

/// What `GET /pki` shows of the CA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaInfo {
    pub common_name: String,
    pub fingerprint: String,
    pub created_at: i64,
    pub expires_at: i64,
}

/// A certificate made with a server-side key.
#[derive(Debug, Clone)]
pub struct KeyedCertificate {
    pub certificate: Issued,
    /// The private key as PKCS#8 PEM; shown to its owner once.
    pub key_pem: String,
    /// The key, certificate and CA as a PKCS#12 bundle with an empty password.
    pub pkcs12: Vec<u8>,
    pub is_admin: bool,
}

/// A signed CSR.
#[derive(Debug, Clone)]
pub struct SignedCsr {
    pub certificate: Issued,
    pub is_admin: bool,
}

/// What the CA knows of a fingerprint, answered from memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trust {
    /// Not issued here.
    Unknown,
    Valid {
        admin: bool,
    },
    Revoked,
    Expired,
}

/// How a certificate is issued, which decides its admin eligibility.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssueKind {
    /// `/register`: eligible to be the first admin.
    Registration,
    /// `/pki/issue`: never admin.
    Issuance,
}

/// Messages the CA signer answers.
pub enum CaMessage {
    /// The CA's description, if there is one.
    GetCa(RpcReplyPort<Option<CaInfo>>),
    /// The CA certificate in PEM, if there is one.
    GetCaPem(RpcReplyPort<Option<String>>),
    /// Make the CA; only while there is none.
    CreateCa {
        common_name: String,
        now: i64,
        reply: RpcReplyPort<Result<CaInfo, CaError>>,
    },
    /// Make a key and a client certificate for it (making the CA first for a registration).
    IssueWithKey {
        kind: IssueKind,
        common_name: String,
        issued_to: Option<String>,
        now: i64,
        reply: RpcReplyPort<Result<KeyedCertificate, CaError>>,
    },
    /// Sign a verified CSR (making the CA first if needed).
    SignCsr {
        subject: CsrSubject,
        issued_to: Option<String>,
        now: i64,
        reply: RpcReplyPort<Result<SignedCsr, CaError>>,
    },
    /// Revoke a certificate on behalf of `by` (an admin may revoke any).
    Revoke {
        serial: String,
        by: String,
        admin: bool,
        now: i64,
        reply: RpcReplyPort<Result<CertRecord, CaError>>,
    },
    /// Certificates issued to or held by a fingerprint.
    ListFor {
        fingerprint: String,
        reply: RpcReplyPort<Result<Vec<CertRecord>, CaError>>,
    },
}

/// Settings of the CA signer.
#[derive(Clone)]
pub struct CaArgs {
    pub db: PathBuf,
    pub password: Option<String>,
    pub cert_days: i64,
    pub ca_days: i64,
}

impl std::fmt::Debug for CaArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaArgs")
            .field("db", &self.db)
            .field("password", &self.password.as_ref().map(|_| ".."))
            .finish_non_exhaustive()
    }
}

/// In-memory trust of every issued certificate, by fingerprint.
pub type TrustMap = DashMap<String, TrustEntry>;

/// The trust facts of one issued certificate.
#[derive(Debug, Clone, Copy)]
pub struct TrustEntry {
    expires_at: i64,
    revoked: bool,
    admin: bool,
}

impl From<&CertRecord> for TrustEntry {
    fn from(cert: &CertRecord) -> Self {
        Self {
            expires_at: cert.expires_at,
            revoked: cert.revoked_at.is_some(),
            admin: cert.is_admin,
        }
    }
}

/// The loaded CA: certificate, and key when the password is known.
struct LoadedCa {
    stored: StoredCa,
    cert_der: Vec<u8>,
    key: Option<Arc<KeyPair>>,
}

/// The CA signer actor.
pub struct CaSigner;

pub struct CaState {
    conn: Arc<Mutex<Connection>>,
    ca: Option<LoadedCa>,
    settings: CaArgs,
    trust: Arc<TrustMap>,
    mailbox: MailboxDepth,
}

impl Actor for CaSigner {
    type Msg = CaMessage;
    type State = CaState;
    type Arguments = (CaArgs, Arc<TrustMap>, MailboxDepth);

    async fn pre_start(
        &self,
        _myself: ActorRef<Self::Msg>,
        (settings, trust, mailbox): Self::Arguments,
    ) -> Result<Self::State, ActorProcessingErr> {
        let (db, password) = (settings.db.clone(), settings.password.clone());
        let (conn, ca, certs) =
            tokio::task::spawn_blocking(move || load(&db, password.as_deref())).await??;
        for cert in &certs {
            trust.insert(cert.fingerprint.clone(), TrustEntry::from(cert));
        }
        Ok(CaState {
            conn: Arc::new(Mutex::new(conn)),
            ca,
            settings,
            trust,
            mailbox,
        })
    }

    async fn handle(
        &self,
        _myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        state.mailbox.received();
        match message {
            CaMessage::GetCa(reply) => {
                let _ = reply.send(state.ca.as_ref().map(|ca| info(&ca.stored)));
            }
            CaMessage::GetCaPem(reply) => {
                let _ = reply.send(state.ca.as_ref().map(|ca| ca.stored.cert_pem.clone()));
            }
            CaMessage::CreateCa {
                common_name,
                now,
                reply,
            } => {
                let result = state.create_ca(common_name, now).await;
                let _ = reply.send(result);
            }
            CaMessage::IssueWithKey {
                kind,
                common_name,
                issued_to,
                now,
                reply,
            } => {
                let result = state
                    .issue_with_key(kind, common_name, issued_to, now)
                    .await;
                count_outcome("server_key", &result);
                let _ = reply.send(result);
            }
            CaMessage::SignCsr {
                subject,
                issued_to,
                now,
                reply,
            } => {
                let result = state.sign_csr(subject, issued_to, now).await;
                count_outcome("csr", &result);
                let _ = reply.send(result);
            }
            CaMessage::Revoke {
                serial,
                by,
                admin,
                now,
                reply,
            } => {
                let result = state.revoke(serial, by, admin, now).await;
                if result.is_ok() {
                    metrics::counter!("flaskpaste_pki_certificates_revoked_total").increment(1);
                }
                let _ = reply.send(result);
            }
            CaMessage::ListFor { fingerprint, reply } => {
                let conn = state.conn.clone();
                let result = blocking(move || {
                    let conn = lock(&conn);
                    Ok(store::certs_of(&conn, &fingerprint)?)
                })
                .await;
                let _ = reply.send(result);
            }
        }
        Ok(())
    }
}

fn count_outcome<T>(kind: &'static str, result: &Result<T, CaError>) {
    match result {
        Ok(_) => metrics::counter!("flaskpaste_pki_certificates_issued_total", "kind" => kind)
            .increment(1),
        Err(err) => {
            let reason = match err {
                CaError::NoPassword => "no_password",
                CaError::NoCa => "no_ca",
                _ => "failed",
            };
            metrics::counter!("flaskpaste_pki_certificates_refused_total", "reason" => reason)
                .increment(1);
        }
    }
}

fn load(
    db: &std::path::Path,
    password: Option<&str>,
) -> Result<(Connection, Option<LoadedCa>, Vec<CertRecord>), CaError> {
    let conn = store::open(db)?;
    let ca = match store::load_ca(&conn)? {
        Some(stored) => Some(loaded(stored, password)?),
        None => None,
    };
    let certs = store::all_certs(&conn)?;
    Ok((conn, ca, certs))
}

fn loaded(stored: StoredCa, password: Option<&str>) -> Result<LoadedCa, CaError> {
    let cert_der = pem::parse(&stored.cert_pem)
        .map_err(|err| CaError::Failed(err.to_string()))?
        .into_contents();
    let key = match password {
        Some(password) => Some(Arc::new(authority::unseal_key(
            &stored.sealed_key,
            password,
        )?)),
        None => None,
    };
    Ok(LoadedCa {
        stored,
        cert_der,
        key,
    })
}

fn info(stored: &StoredCa) -> CaInfo {
    CaInfo {
        common_name: stored.common_name.clone(),
        fingerprint: stored.fingerprint.clone(),
        created_at: stored.created_at,
        expires_at: stored.expires_at,
    }
}

fn lock(conn: &Mutex<Connection>) -> std::sync::MutexGuard<'_, Connection> {
    // The connection holds no invariant a panicking holder could break half-way.
    conn.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, CaError> + Send + 'static,
) -> Result<T, CaError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|err| CaError::Failed(err.to_string()))?
}

impl CaState {
    async fn create_ca(&mut self, common_name: String, now: i64) -> Result<CaInfo, CaError> {
        if self.ca.is_some() {
            return Err(CaError::AlreadyExists);
        }
        let password = self.settings.password.clone().ok_or(CaError::NoPassword)?;
        let (conn, days) = (self.conn.clone(), self.settings.ca_days);
        let loaded = blocking(move || {
            let new = authority::create_ca(&common_name, days, now)?;
            let stored = StoredCa {
                common_name,
                sealed_key: authority::seal_key(&new.key, &password)?,
                cert_pem: new.certificate.pem,
                fingerprint: new.certificate.fingerprint,
                created_at: new.certificate.created_at,
                expires_at: new.certificate.expires_at,
            };
            store::save_ca(&lock(&conn), &stored)?;
            Ok(LoadedCa {
                stored,
                cert_der: new.certificate.der,
                key: Some(Arc::new(new.key)),
            })
        })
        .await?;
        let info = info(&loaded.stored);
        tracing::info!(common_name = %info.common_name, fingerprint = %info.fingerprint, "CA created");
        self.ca = Some(loaded);
        Ok(info)
    }

    /// The CA and its key, making the CA first when `create` allows it.
    async fn signing_ca(
        &mut self,
        create: bool,
        now: i64,
    ) -> Result<(String, Vec<u8>, Arc<KeyPair>), CaError> {
        if self.settings.password.is_none() {
            return Err(CaError::NoPassword);
        }
        if self.ca.is_none() {
            if !create {
                return Err(CaError::NoCa);
            }
            self.create_ca("FlaskPaste CA".to_owned(), now).await?;
        }
        let ca = self.ca.as_ref().ok_or(CaError::NoCa)?;
        let key = ca.key.clone().ok_or(CaError::NoPassword)?;
        Ok((ca.stored.cert_pem.clone(), ca.cert_der.clone(), key))
    }

    async fn issue_with_key(
        &mut self,
        kind: IssueKind,
        common_name: String,
        issued_to: Option<String>,
        now: i64,
    ) -> Result<KeyedCertificate, CaError> {
        let (ca_pem, ca_der, ca_key) = self
            .signing_ca(kind == IssueKind::Registration, now)
            .await?;
        let (conn, days) = (self.conn.clone(), self.settings.cert_days);
        let keyed = blocking(move || {
            let key = authority::new_client_key()?;
            let certificate =
                authority::issue_client(&ca_pem, &ca_key, &common_name, &key, days, now)?;
            let pkcs12 = authority::pkcs12(&key, &certificate.der, &ca_der)?;
            let conn = lock(&conn);
            let is_admin = kind == IssueKind::Registration && !store::any_admin(&conn)?;
            store::insert_cert(&conn, &record(&certificate, issued_to, is_admin))?;
            Ok(KeyedCertificate {
                key_pem: key.serialize_pem(),
                pkcs12,
                certificate,
                is_admin,
            })
        })
        .await?;
        self.remember(&keyed.certificate, keyed.is_admin);
        Ok(keyed)
    }

    async fn sign_csr(
        &mut self,
        subject: CsrSubject,
        issued_to: Option<String>,
        now: i64,
    ) -> Result<SignedCsr, CaError> {
        let (ca_pem, _, ca_key) = self.signing_ca(true, now).await?;
        let (conn, days) = (self.conn.clone(), self.settings.cert_days);
        let signed = blocking(move || {
            let certificate = authority::issue_client(
                &ca_pem,
                &ca_key,
                &subject.common_name,
                &subject.public_key,
                days,
                now,
            )?;
            let conn = lock(&conn);
            let is_admin = !store::any_admin(&conn)?;
            store::insert_cert(&conn, &record(&certificate, issued_to, is_admin))?;
            Ok(SignedCsr {
                certificate,
                is_admin,
            })
        })
        .await?;
        self.remember(&signed.certificate, signed.is_admin);
        Ok(signed)
    }

    async fn revoke(
        &mut self,
        serial: String,
        by: String,
        admin: bool,
        now: i64,
    ) -> Result<CertRecord, CaError> {
        let conn = self.conn.clone();
        let revoked = blocking(move || {
            let conn = lock(&conn);
            let cert = store::cert_by_serial(&conn, &serial)?.ok_or(CaError::NotFound)?;
            let allowed =
                admin || cert.fingerprint == by || cert.issued_to.as_deref() == Some(by.as_str());
            if !allowed {
                return Err(CaError::Forbidden);
            }
            if cert.revoked_at.is_some() {
                return Err(CaError::AlreadyRevoked);
            }
            store::revoke(&conn, &serial, now)?;
            Ok(CertRecord {
                revoked_at: Some(now),
                ..cert
            })
        })
        .await?;
        self.trust
            .insert(revoked.fingerprint.clone(), TrustEntry::from(&revoked));
        Ok(revoked)
    }

    fn remember(&self, certificate: &Issued, admin: bool) {
        self.trust.insert(
            certificate.fingerprint.clone(),
            TrustEntry {
                expires_at: certificate.expires_at,
                revoked: false,
                admin,
            },
        );
    }
}

fn record(certificate: &Issued, issued_to: Option<String>, is_admin: bool) -> CertRecord {
    CertRecord {
        serial: certificate.serial.clone(),
        common_name: certificate.common_name.clone(),
        fingerprint: certificate.fingerprint.clone(),
        created_at: certificate.created_at,
        expires_at: certificate.expires_at,
        issued_to,
        revoked_at: None,
        is_admin,
    }
}

/// A cheap, cloneable way to talk to the CA signer.
#[derive(Clone)]
pub struct CaHandle {
    actor: ActorRef<CaMessage>,
    trust: Arc<TrustMap>,
    mailbox: MailboxDepth,
}

/// How long a caller waits for the signer (CA creation seals a key with 600,000 rounds).
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

impl CaHandle {
    /// Opens the CA tables in `args.db`, unsealing an existing CA key with the password.
    pub async fn spawn(args: CaArgs) -> Result<Self, CaError> {
        let trust = Arc::new(TrustMap::new());
        let mailbox = MailboxDepth::new("ca_signer");
        let (actor, _) = Actor::spawn(None, CaSigner, (args, trust.clone(), mailbox.clone()))
            .await
            .map_err(|err| CaError::Failed(err.to_string()))?;
        Ok(Self {
            actor,
            trust,
            mailbox,
        })
    }

    /// The trust of a fingerprint, from memory.
    pub fn trust(&self, fingerprint: &str, now: i64) -> Trust {
        let trust = match self.trust.get(fingerprint).map(|entry| *entry) {
            None => Trust::Unknown,
            Some(entry) if entry.revoked => Trust::Revoked,
            Some(entry) if entry.expires_at < now => Trust::Expired,
            Some(entry) => Trust::Valid { admin: entry.admin },
        };
        let label = match trust {
            Trust::Unknown => "unknown",
            Trust::Valid { .. } => "valid",
            Trust::Revoked => "revoked",
            Trust::Expired => "expired",
        };
        metrics::counter!("flaskpaste_pki_trust_lookups_total", "result" => label).increment(1);
        trust
    }

    pub async fn ca(&self) -> Result<Option<CaInfo>, CaError> {
        self.call(CaMessage::GetCa).await
    }

    pub async fn ca_pem(&self) -> Result<Option<String>, CaError> {
        self.call(CaMessage::GetCaPem).await
    }

    pub async fn create_ca(&self, common_name: String, now: i64) -> Result<CaInfo, CaError> {
        self.call(|reply| CaMessage::CreateCa {
            common_name,
            now,
            reply,
        })
        .await?
    }

    pub async fn issue_with_key(
        &self,
        kind: IssueKind,
        common_name: String,
        issued_to: Option<String>,
        now: i64,
    ) -> Result<KeyedCertificate, CaError> {
        self.call(|reply| CaMessage::IssueWithKey {
            kind,
            common_name,
            issued_to,
            now,
            reply,
        })
        .await?
    }

    pub async fn sign_csr(
        &self,
        subject: CsrSubject,
        issued_to: Option<String>,
        now: i64,
    ) -> Result<SignedCsr, CaError> {
        self.call(|reply| CaMessage::SignCsr {
            subject,
            issued_to,
            now,
            reply,
        })
        .await?
    }

    pub async fn revoke(
        &self,
        serial: String,
        by: String,
        admin: bool,
        now: i64,
    ) -> Result<CertRecord, CaError> {
        self.call(|reply| CaMessage::Revoke {
            serial,
            by,
            admin,
            now,
            reply,
        })
        .await?
    }

    pub async fn certificates_of(&self, fingerprint: String) -> Result<Vec<CertRecord>, CaError> {
        self.call(|reply| CaMessage::ListFor { fingerprint, reply })
            .await?
    }

    async fn call<T: Send + 'static>(
        &self,
        build: impl FnOnce(RpcReplyPort<T>) -> CaMessage,
    ) -> Result<T, CaError> {
        ask(&self.actor, &self.mailbox, CALL_TIMEOUT, build)
            .await
            .ok_or_else(|| CaError::Failed("the CA signer did not answer".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn signer(password: Option<&str>) -> (CaHandle, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let handle = CaHandle::spawn(CaArgs {
            db: dir.path().join("paste.db"),
            password: password.map(str::to_owned),
            cert_days: 10,
            ca_days: 100,
        })
        .await
        .unwrap();
        (handle, dir)
    }

    #[tokio::test]
    async fn trust_follows_issue_expiry_and_revocation_from_memory() {
        let (ca, _dir) = signer(Some("pw")).await;
        let now = 1_800_000_000;

        let keyed = ca
            .issue_with_key(IssueKind::Registration, "alice".into(), None, now)
            .await
            .unwrap();
        let fingerprint = keyed.certificate.fingerprint.clone();
        let valid = ca.trust(&fingerprint, now + 1);
        let last_second = ca.trust(&fingerprint, now + 10 * 86_400);
        let expired = ca.trust(&fingerprint, now + 10 * 86_400 + 1);
        ca.revoke(
            keyed.certificate.serial.clone(),
            fingerprint.clone(),
            false,
            now + 2,
        )
        .await
        .unwrap();
        let revoked = ca.trust(&fingerprint, now + 3);

        assert_eq!(valid, Trust::Valid { admin: true });
        assert_eq!(last_second, Trust::Valid { admin: true });
        assert_eq!(expired, Trust::Expired);
        assert_eq!(revoked, Trust::Revoked);
        assert_eq!(ca.trust("0".repeat(40).as_str(), now), Trust::Unknown);
    }

    #[tokio::test]
    async fn a_restart_reloads_the_ca_and_refuses_a_wrong_password() {
        let (ca, dir) = signer(Some("pw")).await;
        let created = ca
            .create_ca("Reloaded CA".into(), 1_800_000_000)
            .await
            .unwrap();
        let issued = ca
            .issue_with_key(IssueKind::Issuance, "bob".into(), None, 1_800_000_000)
            .await
            .unwrap();
        let args = |password: &str| CaArgs {
            db: dir.path().join("paste.db"),
            password: Some(password.to_owned()),
            cert_days: 10,
            ca_days: 100,
        };

        let reloaded = CaHandle::spawn(args("pw")).await.unwrap();
        let wrong = CaHandle::spawn(args("not the password")).await;

        assert_eq!(reloaded.ca().await.unwrap(), Some(created));
        assert_eq!(
            reloaded.trust(&issued.certificate.fingerprint, 1_800_000_001),
            Trust::Valid { admin: false }
        );
        assert!(wrong.is_err(), "a wrong CA password stops start-up");
    }

    #[tokio::test]
    async fn without_a_password_nothing_is_signed() {
        let (ca, _dir) = signer(None).await;

        let created = ca.create_ca("No key".into(), 1_800_000_000).await;
        let registered = ca
            .issue_with_key(IssueKind::Registration, "carol".into(), None, 1_800_000_000)
            .await;

        assert_eq!(created.err(), Some(CaError::NoPassword));
        assert_eq!(registered.err(), Some(CaError::NoPassword));
    }
}
