//! The CA's tables in the SQLite database: the CA itself (its key only sealed) and every
//! certificate it issued. Only the CA signer actor opens them.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};

const CREATE: &str = r#"
CREATE TABLE IF NOT EXISTS pki_ca (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    common_name   TEXT NOT NULL,
    cert_pem      TEXT NOT NULL,
    sealed_key    TEXT NOT NULL,
    fingerprint   TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS pki_certificates (
    serial        TEXT PRIMARY KEY,
    common_name   TEXT NOT NULL,
    fingerprint   TEXT NOT NULL UNIQUE,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    issued_to     TEXT,
    revoked_at    INTEGER,
    is_admin      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS pki_certificates_issued_to ON pki_certificates (issued_to);
"#;

/// The CA as stored.
#[derive(Debug, Clone)]
pub struct StoredCa {
    pub common_name: String,
    pub cert_pem: String,
    pub sealed_key: String,
    pub fingerprint: String,
    pub created_at: i64,
    pub expires_at: i64,
}

/// A certificate as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertRecord {
    pub serial: String,
    pub common_name: String,
    pub fingerprint: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub issued_to: Option<String>,
    pub revoked_at: Option<i64>,
    pub is_admin: bool,
}

pub fn open(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.execute_batch(CREATE)?;
    Ok(conn)
}

pub fn load_ca(conn: &Connection) -> rusqlite::Result<Option<StoredCa>> {
    conn.query_row(
        "SELECT common_name, cert_pem, sealed_key, fingerprint, created_at, expires_at
         FROM pki_ca WHERE id = 1",
        [],
        |row| {
            Ok(StoredCa {
                common_name: row.get(0)?,
                cert_pem: row.get(1)?,
                sealed_key: row.get(2)?,
                fingerprint: row.get(3)?,
                created_at: row.get(4)?,
                expires_at: row.get(5)?,
            })
        },
    )
    .optional()
}

pub fn save_ca(conn: &Connection, ca: &StoredCa) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO pki_ca (id, common_name, cert_pem, sealed_key, fingerprint, created_at, expires_at)
         VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            ca.common_name,
            ca.cert_pem,
            ca.sealed_key,
            ca.fingerprint,
            ca.created_at,
            ca.expires_at
        ],
    )?;
    Ok(())
}

const CERT_COLUMNS: &str =
    "serial, common_name, fingerprint, created_at, expires_at, issued_to, revoked_at, is_admin";

fn cert_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<CertRecord> {
    Ok(CertRecord {
        serial: row.get(0)?,
        common_name: row.get(1)?,
        fingerprint: row.get(2)?,
        created_at: row.get(3)?,
        expires_at: row.get(4)?,
        issued_to: row.get(5)?,
        revoked_at: row.get(6)?,
        is_admin: row.get(7)?,
    })
}

pub fn insert_cert(conn: &Connection, cert: &CertRecord) -> rusqlite::Result<()> {
    conn.execute(
        &format!(
            "INSERT INTO pki_certificates ({CERT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
        ),
        params![
            cert.serial,
            cert.common_name,
            cert.fingerprint,
            cert.created_at,
            cert.expires_at,
            cert.issued_to,
            cert.revoked_at,
            cert.is_admin
        ],
    )?;
    Ok(())
}

pub fn any_admin(conn: &Connection) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM pki_certificates WHERE is_admin = 1)",
        [],
        |row| row.get(0),
    )
}

pub fn all_certs(conn: &Connection) -> rusqlite::Result<Vec<CertRecord>> {
    conn.prepare(&format!("SELECT {CERT_COLUMNS} FROM pki_certificates"))?
        .query_map([], cert_from_row)?
        .collect()
}

pub fn cert_by_serial(conn: &Connection, serial: &str) -> rusqlite::Result<Option<CertRecord>> {
    conn.query_row(
        &format!("SELECT {CERT_COLUMNS} FROM pki_certificates WHERE serial = ?1"),
        [serial],
        cert_from_row,
    )
    .optional()
}

pub fn certs_of(conn: &Connection, fingerprint: &str) -> rusqlite::Result<Vec<CertRecord>> {
    conn.prepare(&format!(
        "SELECT {CERT_COLUMNS} FROM pki_certificates
         WHERE issued_to = ?1 OR fingerprint = ?1 ORDER BY created_at DESC, serial"
    ))?
    .query_map([fingerprint], cert_from_row)?
    .collect()
}

pub fn revoke(conn: &Connection, serial: &str, now: i64) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE pki_certificates SET revoked_at = ?2 WHERE serial = ?1 AND revoked_at IS NULL",
        params![serial, now],
    )?;
    Ok(())
}
