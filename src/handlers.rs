//! Request handlers, one module per resource.

pub mod info;
pub mod listing;
pub mod pastes;
