//! Owned pastes: `GET /pastes` lists them, `DELETE /{id}` removes one.

use axum::Json;
use axum::extract::{RawQuery, State};
use flaskpaste_actors::clock::unix_now;
use flaskpaste_actors::storage::{ListQuery, PasteMeta};
use serde::Serialize;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::identity::Identity;
use crate::paste_id::PasteId;
use crate::state::AppState;

const DEFAULT_LIMIT: u32 = 100;
const MAX_LIMIT: i64 = 1000;
/// Characters shown of an owner's fingerprint in listings.
const OWNER_PREFIX: usize = 12;

/// One paste in a listing.
#[derive(Debug, Serialize)]
pub struct Listed {
    pub id: String,
    pub size: u64,
    pub mime_type: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub burn_after_read: bool,
    pub password_protected: bool,
    /// The owner's fingerprint, truncated.
    pub owner: Option<String>,
}

impl From<PasteMeta> for Listed {
    fn from(meta: PasteMeta) -> Self {
        Self {
            password_protected: meta.password.is_some(),
            owner: meta.owner.map(|owner| {
                let prefix: String = owner.chars().take(OWNER_PREFIX).collect();
                format!("{prefix}...")
            }),
            id: meta.id,
            size: meta.size,
            mime_type: meta.mime_type,
            created_at: meta.created_at,
            expires_at: meta.expires_at,
            burn_after_read: meta.burn_after_read,
        }
    }
}

/// The query parameters of `GET /pastes`, checked.
struct ListParams {
    query: ListQuery,
    all: bool,
}

/// `GET /pastes`: the caller's live pastes (everyone's with `all=1`, for admins), newest first.
pub async fn list(
    State(state): State<AppState>,
    identity: Identity,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let Some(fingerprint) = identity.fingerprint.clone() else {
        return Err(ApiError::AuthRequired);
    };
    let ListParams { mut query, all } = parse_params(raw.as_deref().unwrap_or(""))?;
    if all && !identity.admin {
        return Err(ApiError::AdminRequired);
    }
    query.owner = (!all).then_some(fingerprint);

    let (limit, offset) = (query.limit, query.offset);
    let (pastes, total) = state.storage.list(query, unix_now()).await?;

    let pastes: Vec<Listed> = pastes.into_iter().map(Listed::from).collect();
    Ok(Json(json!({
        "pastes": pastes,
        "total": total,
        "limit": limit,
        "offset": offset,
    })))
}

/// `DELETE /{id}`: for the paste's owner or an admin.
pub async fn delete(
    State(state): State<AppState>,
    id: PasteId,
    identity: Identity,
) -> Result<Json<Value>, ApiError> {
    let Some(fingerprint) = identity.fingerprint.as_deref() else {
        return Err(ApiError::AuthRequired);
    };
    let meta = state
        .storage
        .metadata(id.as_str(), unix_now())
        .await?
        .ok_or(ApiError::PasteNotFound)?;
    if meta.owner.as_deref() != Some(fingerprint) && !identity.admin {
        return Err(ApiError::PermissionDenied);
    }

    if !state.storage.delete(id.as_str()).await? {
        return Err(ApiError::PasteNotFound);
    }
    tracing::info!(id = %id.as_str(), admin = identity.admin, "paste deleted");
    Ok(Json(json!({ "message": "Paste deleted" })))
}

fn parse_params(raw: &str) -> Result<ListParams, ApiError> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(raw).map_err(|_| ApiError::InvalidQuery("query string"))?;
    let mut params = ListParams {
        query: ListQuery {
            limit: DEFAULT_LIMIT,
            ..ListQuery::default()
        },
        all: false,
    };
    for (key, value) in pairs {
        match key.as_str() {
            "limit" => {
                // Any integer is clamped, however large; only non-numbers are refused.
                let limit = value
                    .trim()
                    .parse::<i128>()
                    .map_err(|_| ApiError::InvalidQuery("limit"))?
                    .clamp(1, i128::from(MAX_LIMIT));
                params.query.limit = u32::try_from(limit).unwrap_or(1);
            }
            "offset" => {
                params.query.offset = u64::try_from(integer(&value, "offset")?.max(0)).unwrap_or(0);
            }
            "type" => params.query.mime_glob = Some(type_glob(&value)?),
            "after" => params.query.after = Some(integer(&value, "after")?),
            "before" => params.query.before = Some(integer(&value, "before")?),
            "all" => params.all = flag(&value)?,
            _ => {}
        }
    }
    Ok(params)
}

fn integer(value: &str, name: &'static str) -> Result<i64, ApiError> {
    value
        .trim()
        .parse()
        .map_err(|_| ApiError::InvalidQuery(name))
}

fn flag(value: &str) -> Result<bool, ApiError> {
    match value {
        "1" | "true" => Ok(true),
        "0" | "false" | "" => Ok(false),
        _ => Err(ApiError::InvalidQuery("all")),
    }
}

/// A MIME type pattern with `*` and `?` wildcards over RFC 6838 name characters. Brackets and
/// everything else a SQLite `GLOB` would read specially are refused.
fn type_glob(value: &str) -> Result<String, ApiError> {
    let valid = !value.is_empty()
        && value.len() <= 255
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$&-^_.+/*?".contains(c));
    if valid {
        Ok(value.to_ascii_lowercase())
    } else {
        Err(ApiError::InvalidQuery("type"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_clamped_and_non_numbers_refused() {
        assert_eq!(parse_params("limit=-1").ok().unwrap().query.limit, 1);
        assert_eq!(parse_params("limit=100000").ok().unwrap().query.limit, 1000);
        let huge = parse_params("limit=99999999999999999999").ok().unwrap();
        assert_eq!(huge.query.limit, 1000);
        assert_eq!(parse_params("").ok().unwrap().query.limit, 100);
        assert!(matches!(
            parse_params("offset=abc"),
            Err(ApiError::InvalidQuery("offset"))
        ));
        assert!(matches!(
            parse_params("limit=1e3"),
            Err(ApiError::InvalidQuery("limit"))
        ));
    }

    #[test]
    fn type_globs_allow_wildcards_but_not_brackets() {
        assert_eq!(type_glob("IMAGE/*").ok().unwrap(), "image/*");
        assert!(type_glob("[").is_err());
        assert!(type_glob("text/[a-z]*").is_err());
        assert!(type_glob("").is_err());
    }
}
