//! The server's configuration: every `FLASKPASTE_*` variable, its default and its parser.
//!
//! Read once at start, before anything is spawned. Each setting is an environment variable (and,
//! for convenience, a command-line flag of the same name); a value that does not parse stops
//! start-up with a message naming the variable.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use ipnet::IpNet;

const MIB: u64 = 1024 * 1024;

/// A self-hosted paste service. Every setting is an environment variable.
#[derive(Debug, Clone, Parser)]
#[command(name = "flaskpaste", version, about)]
pub struct Config {
    /// Address the public HTTP listener binds.
    #[arg(
        long,
        env = "FLASKPASTE_BIND",
        value_name = "FLASKPASTE_BIND",
        default_value = "127.0.0.1:5000"
    )]
    pub bind: SocketAddr,

    /// SQLite database file; created when missing.
    #[arg(
        long,
        env = "FLASKPASTE_DB",
        value_name = "FLASKPASTE_DB",
        default_value = "./flaskpaste.db"
    )]
    pub db: PathBuf,

    /// Length of new paste ids, in hex characters (4 to 64).
    #[arg(long, env = "FLASKPASTE_ID_LENGTH", value_name = "FLASKPASTE_ID_LENGTH", default_value_t = 12,
          value_parser = clap::value_parser!(u8).range(4..=64))]
    pub id_length: u8,

    /// Largest anonymous paste, in bytes.
    #[arg(long, env = "FLASKPASTE_MAX_ANON", value_name = "FLASKPASTE_MAX_ANON", default_value_t = 3 * MIB,
          value_parser = clap::value_parser!(u64).range(1..=(1 << 31)))]
    pub max_anon: u64,

    /// Largest paste of an authenticated client (any accepted fingerprint), in bytes.
    #[arg(long, env = "FLASKPASTE_MAX_AUTH", value_name = "FLASKPASTE_MAX_AUTH", default_value_t = 50 * MIB,
          value_parser = clap::value_parser!(u64).range(1..=(1 << 31)))]
    pub max_auth: u64,

    /// Smallest paste accepted, in bytes (0 turns the check off).
    #[arg(
        long,
        env = "FLASKPASTE_MIN_SIZE",
        value_name = "FLASKPASTE_MIN_SIZE",
        default_value_t = 0
    )]
    pub min_size: u64,

    /// Default lifetime of an anonymous paste after its last read, in seconds.
    #[arg(long, env = "FLASKPASTE_EXPIRY_ANON", value_name = "FLASKPASTE_EXPIRY_ANON", default_value_t = 86_400,
          value_parser = clap::value_parser!(i64).range(1..=3_153_600_000))]
    pub expiry_anon: i64,

    /// Default lifetime of a paste whose client showed a certificate this instance did not issue.
    #[arg(long, env = "FLASKPASTE_EXPIRY_UNTRUSTED", value_name = "FLASKPASTE_EXPIRY_UNTRUSTED",
          default_value_t = 604_800, value_parser = clap::value_parser!(i64).range(1..=3_153_600_000))]
    pub expiry_untrusted: i64,

    /// Default lifetime of a paste whose client holds a valid certificate from this instance.
    #[arg(long, env = "FLASKPASTE_EXPIRY_TRUSTED", value_name = "FLASKPASTE_EXPIRY_TRUSTED",
          default_value_t = 2_592_000, value_parser = clap::value_parser!(i64).range(1..=3_153_600_000))]
    pub expiry_trusted: i64,

    /// Longest lifetime a client may ask for with `X-Expiry`, in seconds.
    #[arg(long, env = "FLASKPASTE_MAX_EXPIRY", value_name = "FLASKPASTE_MAX_EXPIRY", default_value_t = 7_776_000,
          value_parser = clap::value_parser!(i64).range(1..=3_153_600_000))]
    pub max_expiry: i64,

    /// Seconds between two sweeps that delete expired pastes.
    #[arg(long, env = "FLASKPASTE_CLEANUP_INTERVAL", value_name = "FLASKPASTE_CLEANUP_INTERVAL", default_value_t = 3600,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub cleanup_interval: u64,

    /// Seconds between two writes of coalesced last-access updates (at most this much of them is
    /// lost in a crash).
    #[arg(long, env = "FLASKPASTE_TOUCH_FLUSH_INTERVAL", value_name = "FLASKPASTE_TOUCH_FLUSH_INTERVAL",
          default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub touch_flush_interval: u64,

    /// Read-only database connections serving reads.
    #[arg(long, env = "FLASKPASTE_READ_CONNECTIONS", value_name = "FLASKPASTE_READ_CONNECTIONS",
          default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub read_connections: u16,

    /// Largest size of the database file, in bytes (0: no cap). Past it, creating answers 503
    /// as on a full disk while reads go on.
    #[arg(
        long,
        env = "FLASKPASTE_DB_MAX_BYTES",
        value_name = "FLASKPASTE_DB_MAX_BYTES",
        default_value_t = 0
    )]
    pub db_max_bytes: u64,

    /// Bytes of paste content kept in the hot-paste cache.
    #[arg(long, env = "FLASKPASTE_CACHE_BYTES", value_name = "FLASKPASTE_CACHE_BYTES", default_value_t = 64 * MIB)]
    pub cache_bytes: u64,

    /// Shared secret the reverse proxy sends as `X-Proxy-Secret`; without a match, client
    /// certificate headers are ignored.
    #[arg(
        long,
        env = "FLASKPASTE_PROXY_SECRET",
        value_name = "FLASKPASTE_PROXY_SECRET",
        hide_env_values = true
    )]
    pub proxy_secret: Option<Secret>,

    /// File holding the proxy secret (instead of `FLASKPASTE_PROXY_SECRET`).
    #[arg(
        long,
        env = "FLASKPASTE_PROXY_SECRET_FILE",
        value_name = "FLASKPASTE_PROXY_SECRET_FILE"
    )]
    pub proxy_secret_file: Option<PathBuf>,

    /// Peers (addresses or CIDR ranges, comma-separated) whose `X-Forwarded-For` is believed.
    #[arg(long, env = "FLASKPASTE_TRUSTED_PROXIES", value_name = "FLASKPASTE_TRUSTED_PROXIES",
          default_value = "", value_parser = parse_networks)]
    pub trusted_proxies: Networks,

    /// Certificate fingerprints (SHA-1, comma-separated) that may list and delete everything.
    #[arg(long, env = "FLASKPASTE_ADMIN_FINGERPRINTS", value_name = "FLASKPASTE_ADMIN_FINGERPRINTS",
          default_value = "", value_parser = parse_fingerprints)]
    pub admin_fingerprints: Fingerprints,

    /// Threads hashing paste passwords at once (0: one fewer than the cores, at least one).
    #[arg(
        long,
        env = "FLASKPASTE_PASSWORD_WORKERS",
        value_name = "FLASKPASTE_PASSWORD_WORKERS",
        default_value_t = 0
    ,
          value_parser = clap::value_parser!(u64).range(0..=1024))]
    pub password_workers: u64,

    /// Password checks that may wait for a worker; past this a check answers 503 at once.
    #[arg(
        long,
        env = "FLASKPASTE_PASSWORD_QUEUE",
        value_name = "FLASKPASTE_PASSWORD_QUEUE",
        default_value_t = 64
    ,
          value_parser = clap::value_parser!(u64).range(0..=1_000_000))]
    pub password_queue: u64,

    /// Per-client rate limiting of the endpoints that create something (`0` turns it off).
    #[arg(long, env = "FLASKPASTE_RATE_LIMIT", value_name = "FLASKPASTE_RATE_LIMIT",
          default_value = "1", value_parser = parse_flag, action = clap::ArgAction::Set)]
    pub rate_limit: bool,

    /// Pastes an anonymous client may create per rate window.
    #[arg(long, env = "FLASKPASTE_RATE_MAX", value_name = "FLASKPASTE_RATE_MAX", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub rate_max: u32,

    /// Length of a rate window in seconds; it opens with a client's first counted request.
    #[arg(long, env = "FLASKPASTE_RATE_WINDOW", value_name = "FLASKPASTE_RATE_WINDOW", default_value_t = 60,
          value_parser = clap::value_parser!(i64).range(1..=86_400))]
    pub rate_window: i64,

    /// How many times the anonymous budget an authenticated client gets.
    #[arg(long, env = "FLASKPASTE_RATE_AUTH_MULT", value_name = "FLASKPASTE_RATE_AUTH_MULT",
          default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub rate_auth_mult: u32,

    /// Clients (addresses, or IPv6 /64s) tracked at most; past this a new client is refused
    /// until ended windows are swept.
    #[arg(long, env = "FLASKPASTE_RATE_MAX_KEYS", value_name = "FLASKPASTE_RATE_MAX_KEYS",
          default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub rate_max_keys: u64,

    /// Seconds over which identical content is counted.
    #[arg(long, env = "FLASKPASTE_DEDUP_WINDOW", value_name = "FLASKPASTE_DEDUP_WINDOW",
          default_value_t = 3600, value_parser = clap::value_parser!(i64).range(1..=31_536_000))]
    pub dedup_window: i64,

    /// Pastes of the same content allowed per window (0 turns duplicate throttling off).
    #[arg(
        long,
        env = "FLASKPASTE_DEDUP_MAX",
        value_name = "FLASKPASTE_DEDUP_MAX",
        default_value_t = 3
    )]
    pub dedup_max: u32,

    /// Minimum Shannon entropy in bits per byte (0 turns the check off; 6.0 demands encryption
    /// or compression).
    #[arg(long, env = "FLASKPASTE_MIN_ENTROPY", value_name = "FLASKPASTE_MIN_ENTROPY",
          default_value_t = 0.0, value_parser = parse_entropy)]
    pub min_entropy: f64,

    /// Content smaller than this many bytes is exempt from the entropy check.
    #[arg(
        long,
        env = "FLASKPASTE_MIN_ENTROPY_SIZE",
        value_name = "FLASKPASTE_MIN_ENTROPY_SIZE",
        default_value_t = 256
    )]
    pub min_entropy_size: u64,

    /// Refuse content that is UTF-8 text or a recognised format (`1`), to demand encryption.
    #[arg(long, env = "FLASKPASTE_REQUIRE_BINARY", value_name = "FLASKPASTE_REQUIRE_BINARY",
          default_value = "0", value_parser = parse_flag, action = clap::ArgAction::Set)]
    pub require_binary: bool,

    /// Leading zero bits a paste's proof-of-work needs (0 turns proof-of-work off).
    #[arg(long, env = "FLASKPASTE_POW_DIFFICULTY", value_name = "FLASKPASTE_POW_DIFFICULTY",
          default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=64))]
    pub pow_difficulty: u32,

    /// Leading zero bits a registration's proof-of-work needs (0 turns it off).
    #[arg(long, env = "FLASKPASTE_REGISTER_POW", value_name = "FLASKPASTE_REGISTER_POW",
          default_value_t = 24, value_parser = clap::value_parser!(u32).range(0..=64))]
    pub register_pow: u32,

    /// Seconds a challenge stays valid.
    #[arg(long, env = "FLASKPASTE_POW_TTL", value_name = "FLASKPASTE_POW_TTL", default_value_t = 300,
          value_parser = clap::value_parser!(i64).range(1..=86_400))]
    pub pow_ttl: i64,

    /// Key that signs challenges, so that several instances accept each other's tokens;
    /// random at each start when unset.
    #[arg(
        long,
        env = "FLASKPASTE_POW_SECRET",
        value_name = "FLASKPASTE_POW_SECRET",
        hide_env_values = true
    )]
    pub pow_secret: Option<Secret>,

    /// File holding the proof-of-work secret (instead of `FLASKPASTE_POW_SECRET`).
    #[arg(
        long,
        env = "FLASKPASTE_POW_SECRET_FILE",
        value_name = "FLASKPASTE_POW_SECRET_FILE"
    )]
    pub pow_secret_file: Option<PathBuf>,

    /// Seconds over which challenges and creations are counted for anti-flood.
    #[arg(long, env = "FLASKPASTE_POW_FLOOD_WINDOW", value_name = "FLASKPASTE_POW_FLOOD_WINDOW",
          default_value_t = 60, value_parser = clap::value_parser!(i64).range(1..=3600))]
    pub pow_flood_window: i64,

    /// Each full multiple of this many requests in the flood window raises the difficulty.
    #[arg(long, env = "FLASKPASTE_POW_FLOOD_THRESHOLD", value_name = "FLASKPASTE_POW_FLOOD_THRESHOLD",
          default_value_t = 300, value_parser = clap::value_parser!(u32).range(1..))]
    pub pow_flood_threshold: u32,

    /// Bits added to the difficulty per threshold reached.
    #[arg(long, env = "FLASKPASTE_POW_FLOOD_STEP", value_name = "FLASKPASTE_POW_FLOOD_STEP",
          default_value_t = 2, value_parser = clap::value_parser!(u32).range(0..=64))]
    pub pow_flood_step: u32,

    /// The highest difficulty anti-flood raises to.
    #[arg(long, env = "FLASKPASTE_POW_MAX_DIFFICULTY", value_name = "FLASKPASTE_POW_MAX_DIFFICULTY",
          default_value_t = 28, value_parser = clap::value_parser!(u32).range(0..=64))]
    pub pow_max_difficulty: u32,

    /// Turns on the built-in certificate authority and its endpoints (`1`).
    #[arg(long, env = "FLASKPASTE_PKI_ENABLED", value_name = "FLASKPASTE_PKI_ENABLED",
          default_value = "0", value_parser = parse_flag, action = clap::ArgAction::Set)]
    pub pki_enabled: bool,

    /// Seconds a client has to send a request's headers (from connecting, or from the first byte).
    #[arg(long, env = "FLASKPASTE_HEADER_TIMEOUT", value_name = "FLASKPASTE_HEADER_TIMEOUT",
          default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub header_timeout: u64,

    /// Seconds an idle keep-alive connection stays open.
    #[arg(long, env = "FLASKPASTE_KEEPALIVE_TIMEOUT", value_name = "FLASKPASTE_KEEPALIVE_TIMEOUT",
          default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub keepalive_timeout: u64,

    /// Longest silence inside a request body, in seconds, before it answers 408.
    #[arg(long, env = "FLASKPASTE_BODY_GAP_TIMEOUT", value_name = "FLASKPASTE_BODY_GAP_TIMEOUT",
          default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub body_gap_timeout: u64,

    /// Seconds a body may take before its average pace is checked.
    #[arg(long, env = "FLASKPASTE_BODY_GRACE", value_name = "FLASKPASTE_BODY_GRACE",
          default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub body_grace: u64,

    /// Average bytes per second a body must keep after its grace period, else 408.
    #[arg(
        long,
        env = "FLASKPASTE_BODY_MIN_RATE",
        value_name = "FLASKPASTE_BODY_MIN_RATE",
        default_value_t = 500
    ,
          value_parser = clap::value_parser!(u64).range(0..=1_000_000_000))]
    pub body_min_rate: u64,

    /// Connections served at once; more wait in the kernel's backlog.
    #[arg(long, env = "FLASKPASTE_MAX_CONNECTIONS", value_name = "FLASKPASTE_MAX_CONNECTIONS",
          default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub max_connections: u64,

    /// Bytes of request bodies held at once across all uploads; past it a new upload answers 503.
    #[arg(long, env = "FLASKPASTE_UPLOAD_BUDGET", value_name = "FLASKPASTE_UPLOAD_BUDGET",
          default_value_t = 512 * MIB, value_parser = clap::value_parser!(u64).range(1..))]
    pub upload_budget: u64,

    /// Password sealing the CA key; without it nothing that needs the key can be done.
    #[arg(
        long,
        env = "FLASKPASTE_PKI_CA_PASSWORD",
        value_name = "FLASKPASTE_PKI_CA_PASSWORD",
        hide_env_values = true
    )]
    pub pki_ca_password: Option<Secret>,

    /// File holding the CA password (instead of `FLASKPASTE_PKI_CA_PASSWORD`).
    #[arg(
        long,
        env = "FLASKPASTE_PKI_CA_PASSWORD_FILE",
        value_name = "FLASKPASTE_PKI_CA_PASSWORD_FILE"
    )]
    pub pki_ca_password_file: Option<PathBuf>,

    /// Days a client certificate is valid.
    #[arg(long, env = "FLASKPASTE_PKI_CERT_DAYS", value_name = "FLASKPASTE_PKI_CERT_DAYS",
          default_value_t = 365, value_parser = clap::value_parser!(i64).range(1..=36_500))]
    pub pki_cert_days: i64,

    /// Days the CA certificate is valid.
    #[arg(long, env = "FLASKPASTE_PKI_CA_DAYS", value_name = "FLASKPASTE_PKI_CA_DAYS",
          default_value_t = 3650, value_parser = clap::value_parser!(i64).range(1..=36_500))]
    pub pki_ca_days: i64,

    /// Address of the Prometheus metrics listener; empty turns it off.
    #[arg(long, env = "FLASKPASTE_METRICS_ADDR", value_name = "FLASKPASTE_METRICS_ADDR",
          default_value = "127.0.0.1:9464", value_parser = parse_optional_addr)]
    pub metrics_addr: OptionalAddr,

    /// Log format: `json`, `text`, or `auto` (JSON unless standard output is a terminal).
    #[arg(
        long,
        env = "FLASKPASTE_LOG_FORMAT",
        value_name = "FLASKPASTE_LOG_FORMAT",
        default_value = "auto"
    )]
    pub log_format: LogFormat,

    /// Seconds the listener keeps accepting after SIGTERM, while `/health` already says 503.
    #[arg(
        long,
        env = "FLASKPASTE_SHUTDOWN_DELAY",
        value_name = "FLASKPASTE_SHUTDOWN_DELAY",
        default_value_t = 0
    ,
          value_parser = clap::value_parser!(u64).range(0..=86_400))]
    pub shutdown_delay: u64,

    /// Seconds in-flight requests get to finish once the listener has stopped.
    #[arg(
        long,
        env = "FLASKPASTE_SHUTDOWN_TIMEOUT",
        value_name = "FLASKPASTE_SHUTDOWN_TIMEOUT",
        default_value_t = 30
    ,
          value_parser = clap::value_parser!(u64).range(0..=86_400))]
    pub shutdown_timeout: u64,
}

/// A secret setting: its `Debug` output never shows the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Ok(Secret(value.to_owned()))
    }
}

/// Bits per byte, from 0 to 8.
fn parse_entropy(value: &str) -> Result<f64, String> {
    let bits: f64 = value
        .trim()
        .parse()
        .map_err(|_| format!("{value:?} is not a number"))?;
    if (0.0..=8.0).contains(&bits) {
        Ok(bits)
    } else {
        Err(format!("{bits} is not between 0 and 8 bits per byte"))
    }
}

/// `1`, `true`, `yes`, `on` or `0`, `false`, `no`, `off`, in any case.
fn parse_flag(value: &str) -> Result<bool, String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" | "" => Ok(false),
        _ => Err(format!("{value:?} is not 0 or 1")),
    }
}

/// Addresses and CIDR ranges, comma-separated; empty entries are ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Networks(pub Vec<IpNet>);

/// SHA-1 fingerprints, comma-separated, lowercase; empty entries are ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fingerprints(pub Vec<String>);

fn parse_networks(value: &str) -> Result<Networks, String> {
    list(value, parse_network).map(Networks)
}

fn parse_fingerprints(value: &str) -> Result<Fingerprints, String> {
    list(value, parse_fingerprint).map(Fingerprints)
}

fn list<T>(value: &str, item: fn(&str) -> Result<T, String>) -> Result<Vec<T>, String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(item)
        .collect()
}

/// An address (a single host) or a CIDR range.
fn parse_network(value: &str) -> Result<IpNet, String> {
    let value = value.trim();
    if let Ok(net) = value.parse::<IpNet>() {
        return Ok(net);
    }
    value
        .parse::<IpAddr>()
        .map(IpNet::from)
        .map_err(|_| format!("{value:?} is neither an address nor a CIDR range"))
}

/// A SHA-1 fingerprint: 40 hex characters, kept lowercase.
fn parse_fingerprint(value: &str) -> Result<String, String> {
    let value = value.trim();
    if value.len() == 40 && value.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(value.to_ascii_lowercase())
    } else {
        Err(format!("{value:?} is not 40 hex characters"))
    }
}

/// A socket address that may be switched off with an empty value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptionalAddr(pub Option<SocketAddr>);

fn parse_optional_addr(value: &str) -> Result<OptionalAddr, String> {
    if value.trim().is_empty() {
        return Ok(OptionalAddr(None));
    }
    value
        .parse()
        .map(|addr| OptionalAddr(Some(addr)))
        .map_err(|err| format!("{err}"))
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Auto,
    Json,
    Text,
}

/// Why the configuration could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    Invalid(#[from] clap::Error),
    #[error("{var}: cannot read {path}: {source}")]
    SecretFile {
        var: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("set either {var} or {var}_FILE, not both")]
    SecretTwice { var: &'static str },
    #[error("{var}_FILE: {path} is empty")]
    EmptySecretFile { var: &'static str, path: PathBuf },
    #[error("{var}: the value is not valid UTF-8")]
    NotUtf8 { var: String },
}

impl Config {
    /// The configuration from the environment and command line, secrets resolved.
    pub fn load() -> Result<Self, ConfigError> {
        // clap would only say that "an argument" is not UTF-8; name the variable instead.
        for (name, value) in std::env::vars_os() {
            let name = name.to_string_lossy();
            if name.starts_with("FLASKPASTE_") && value.to_str().is_none() {
                return Err(ConfigError::NotUtf8 {
                    var: name.into_owned(),
                });
            }
        }
        Self::try_parse()?.resolve_secrets()
    }

    /// Reads each secret given as a `_FILE` path; an empty secret counts as unset.
    pub fn resolve_secrets(mut self) -> Result<Self, ConfigError> {
        self.proxy_secret = resolve_secret(
            "FLASKPASTE_PROXY_SECRET",
            self.proxy_secret.take(),
            self.proxy_secret_file.as_deref(),
        )?;
        self.pki_ca_password = resolve_secret(
            "FLASKPASTE_PKI_CA_PASSWORD",
            self.pki_ca_password.take(),
            self.pki_ca_password_file.as_deref(),
        )?;
        self.pow_secret = resolve_secret(
            "FLASKPASTE_POW_SECRET",
            self.pow_secret.take(),
            self.pow_secret_file.as_deref(),
        )?;
        Ok(self)
    }

    /// One fewer hashing thread than the machine has cores (at least one), unless set.
    pub fn password_workers(&self) -> usize {
        if self.password_workers > 0 {
            return usize::try_from(self.password_workers).unwrap_or(1);
        }
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        cores.saturating_sub(1).max(1)
    }

    pub fn touch_flush_interval(&self) -> Duration {
        Duration::from_secs(self.touch_flush_interval)
    }

    pub fn cleanup_interval(&self) -> Duration {
        Duration::from_secs(self.cleanup_interval)
    }

    pub fn shutdown_delay(&self) -> Duration {
        Duration::from_secs(self.shutdown_delay)
    }

    pub fn shutdown_timeout(&self) -> Duration {
        Duration::from_secs(self.shutdown_timeout)
    }
}

fn resolve_secret(
    var: &'static str,
    value: Option<Secret>,
    file: Option<&std::path::Path>,
) -> Result<Option<Secret>, ConfigError> {
    // Surrounding whitespace cannot survive an HTTP header, so it is never part of a secret.
    let value = value
        .map(|secret| Secret(secret.0.trim().to_owned()))
        .filter(|secret| !secret.0.is_empty());
    let Some(path) = file else {
        return Ok(value);
    };
    if value.is_some() {
        return Err(ConfigError::SecretTwice { var });
    }
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::SecretFile {
        var,
        path: path.to_owned(),
        source,
    })?;
    let secret = text.trim();
    if secret.is_empty() {
        return Err(ConfigError::EmptySecretFile {
            var,
            path: path.to_owned(),
        });
    }
    Ok(Some(Secret(secret.to_owned())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_reference() {
        let config = Config::try_parse_from(["flaskpaste"]).expect("defaults parse");

        assert_eq!(config.bind.to_string(), "127.0.0.1:5000");
        assert_eq!(config.id_length, 12);
        assert_eq!(config.max_anon, 3 * MIB);
        assert_eq!(config.expiry_anon, 86_400);
        assert_eq!(config.max_expiry, 7_776_000);
        assert_eq!(config.cleanup_interval, 3600);
    }

    #[test]
    fn an_invalid_value_names_its_variable() {
        let err = Config::try_parse_from(["flaskpaste", "--id-length", "99"]).unwrap_err();

        assert!(err.to_string().contains("FLASKPASTE_ID_LENGTH"), "{err}");
    }

    #[test]
    fn lists_parse_and_bad_entries_name_their_variable() {
        let fingerprint = "AB".repeat(20);
        let config = Config::try_parse_from([
            "flaskpaste",
            "--trusted-proxies",
            "10.0.0.1, 192.168.0.0/16,::1",
            "--admin-fingerprints",
            &fingerprint,
        ])
        .expect("parses");

        assert_eq!(config.trusted_proxies.0.len(), 3);
        assert_eq!(config.admin_fingerprints.0, vec!["ab".repeat(20)]);
        let empty = Config::try_parse_from([
            "flaskpaste",
            "--trusted-proxies",
            "",
            "--admin-fingerprints",
            " ",
        ])
        .expect("empty lists parse");
        assert!(empty.trusted_proxies.0.is_empty() && empty.admin_fingerprints.0.is_empty());
        let err =
            Config::try_parse_from(["flaskpaste", "--admin-fingerprints", "ab:cd"]).unwrap_err();
        assert!(
            err.to_string().contains("FLASKPASTE_ADMIN_FINGERPRINTS"),
            "{err}"
        );
        let err = Config::try_parse_from(["flaskpaste", "--trusted-proxies", "nope"]).unwrap_err();
        assert!(
            err.to_string().contains("FLASKPASTE_TRUSTED_PROXIES"),
            "{err}"
        );
    }

    #[test]
    fn a_secret_file_is_read_without_its_newline() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        std::fs::write(&path, "s3cret\n").unwrap();

        let resolved = resolve_secret("FLASKPASTE_PROXY_SECRET", None, Some(&path)).unwrap();
        let twice = resolve_secret(
            "FLASKPASTE_PROXY_SECRET",
            Some(Secret("x".into())),
            Some(&path),
        );

        assert_eq!(resolved.unwrap().expose(), "s3cret");
        std::fs::write(&path, " padded \n").unwrap();
        let padded = resolve_secret("FLASKPASTE_PROXY_SECRET", None, Some(&path)).unwrap();
        assert_eq!(padded.unwrap().expose(), "padded");
        std::fs::write(&path, "\n").unwrap();
        let empty = resolve_secret("FLASKPASTE_PROXY_SECRET", None, Some(&path));
        assert!(matches!(empty, Err(ConfigError::EmptySecretFile { .. })));
        assert!(matches!(twice, Err(ConfigError::SecretTwice { .. })));
        assert_eq!(format!("{:?}", Secret("hidden".into())), "Secret(..)");
    }

    #[test]
    fn an_empty_metrics_address_turns_the_listener_off() {
        let config = Config::try_parse_from(["flaskpaste", "--metrics-addr", ""]).expect("parses");

        assert_eq!(config.metrics_addr, OptionalAddr(None));
    }
}
