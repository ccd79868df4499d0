//! The built-in certificate authority: the CA signer actor, its cryptography and its tables.

pub mod authority;
pub mod signer;
mod store;

pub use signer::{
    CaArgs, CaError, CaHandle, CaInfo, IssueKind, KeyedCertificate, SignedCsr, Trust,
};
pub use store::CertRecord;
