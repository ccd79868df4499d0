//! Integration tests: the real server binary, spoken to over HTTP.

#![expect(
    clippy::unwrap_used,
    reason = "a test fails loudly on any unexpected error"
)]

mod support;

mod abuse;
mod basics;
mod connections;
mod dashboard;
mod durability;
mod identity;
mod lifecycle;
mod limits;
mod listing;
mod mime;
mod passwords;
mod pki;
mod proxy;
