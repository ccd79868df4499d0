//! Request handlers, one module per resource.

pub mod challenge;
pub mod info;
pub mod listing;
pub mod pastes;
pub mod pki;
