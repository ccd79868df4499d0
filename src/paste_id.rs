//! [`PasteId`]: a path segment that has been checked to be a paste id.

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;

use crate::error::ApiError;

/// 4 to 64 lowercase hex characters; anything else answers 400 before any lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasteId(String);

impl PasteId {
    pub fn parse(segment: &str) -> Result<Self, ApiError> {
        let valid = (4..=64).contains(&segment.len())
            && segment
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if valid {
            Ok(Self(segment.to_owned()))
        } else {
            Err(ApiError::InvalidId)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<S: Send + Sync> FromRequestParts<S> for PasteId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        // A segment that is not valid percent-encoded UTF-8 is no id either.
        let Path(segment) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::InvalidId)?;
        Self::parse(&segment)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_four_to_sixty_four_lowercase_hex() {
        assert!(PasteId::parse("abcd").is_ok());
        assert!(PasteId::parse(&"a".repeat(64)).is_ok());
        assert!(PasteId::parse("abc").is_err());
        assert!(PasteId::parse(&"a".repeat(65)).is_err());
        assert!(PasteId::parse("ABCDEF").is_err());
        assert!(PasteId::parse("abcg").is_err());
        assert!(PasteId::parse("ab..cd").is_err());
        assert!(PasteId::parse("ab/cd").is_err());
    }
}
