//! The built-in certificate authority: the CA signer actor and its cryptography.

pub mod authority;
