//! The server's configuration: every `FLASKPASTE_*` variable, its default and its parser.
//!
//! Read once at start, before anything is spawned. Each setting is an environment variable (and,
//! for convenience, a command-line flag of the same name); a value that does not parse stops
//! start-up with a message naming the variable.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};

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
          value_parser = clap::value_parser!(i64).range(1..))]
    pub expiry_anon: i64,

    /// Longest lifetime a client may ask for with `X-Expiry`, in seconds.
    #[arg(long, env = "FLASKPASTE_MAX_EXPIRY", value_name = "FLASKPASTE_MAX_EXPIRY", default_value_t = 7_776_000,
          value_parser = clap::value_parser!(i64).range(1..))]
    pub max_expiry: i64,

    /// Seconds between two sweeps that delete expired pastes.
    #[arg(long, env = "FLASKPASTE_CLEANUP_INTERVAL", value_name = "FLASKPASTE_CLEANUP_INTERVAL", default_value_t = 3600,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub cleanup_interval: u64,

    /// Seconds between two writes of coalesced last-access updates (at most this much of them is
    /// lost in a crash).
    #[arg(long, env = "FLASKPASTE_TOUCH_FLUSH_INTERVAL", value_name = "FLASKPASTE_TOUCH_FLUSH_INTERVAL",
          default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
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
    )]
    pub shutdown_delay: u64,

    /// Seconds in-flight requests get to finish once the listener has stopped.
    #[arg(
        long,
        env = "FLASKPASTE_SHUTDOWN_TIMEOUT",
        value_name = "FLASKPASTE_SHUTDOWN_TIMEOUT",
        default_value_t = 30
    )]
    pub shutdown_timeout: u64,
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

impl Config {
    /// The configuration from the environment alone, as the tests and the server see it.
    pub fn from_env() -> Result<Self, clap::Error> {
        Self::try_parse_from(["flaskpaste"])
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
    fn an_empty_metrics_address_turns_the_listener_off() {
        let config = Config::try_parse_from(["flaskpaste", "--metrics-addr", ""]).expect("parses");

        assert_eq!(config.metrics_addr, OptionalAddr(None));
    }
}
