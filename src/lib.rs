//! FlaskPaste: a self-hosted paste service. This crate is the HTTP face: configuration, the
//! router and its middleware, the handlers, and the server's life from start to drain. The state
//! lives in the actors of `flaskpaste-actors`.

pub mod audit;
pub mod body;
pub mod client_ip;
pub mod config;
pub mod error;
pub mod handlers;
pub mod identity;
pub mod listener;
pub mod metrics;
pub mod middleware;
pub mod mime;
pub mod password;
pub mod paste_id;
pub mod policy;
pub mod pow;
pub mod rate;
pub mod routes;
pub mod server;
pub mod state;
pub mod telemetry;
