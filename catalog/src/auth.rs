//! Bearer tokens and roles.
//!
//! A token is 32 random bytes, shown once as `strata_<hex>`; the store keeps only its SHA-256
//! hash. Roles are ordered (`reader` < `writer` < `admin`); a token may be scoped to one
//! namespace, in which case it grants nothing outside it.

use std::fmt;
use std::str::FromStr;

use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::error::{Error, Result};

/// Prefix of every token.
pub const TOKEN_PREFIX: &str = "strata_";

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Read namespaces, tables, history.
    Reader,
    /// Also create, register, rename, drop tables; commit; tag.
    Writer,
    /// Also manage namespaces and tokens.
    Admin,
}

impl Role {
    /// The role's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Reader => "reader",
            Role::Writer => "writer",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "reader" => Ok(Role::Reader),
            "writer" => Ok(Role::Writer),
            "admin" => Ok(Role::Admin),
            other => Err(Error::BadRequest(format!(
                "unknown role `{}` (admin, writer or reader)",
                other.escape_default()
            ))),
        }
    }
}

/// A new random token (the secret, to show once).
pub fn generate_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{TOKEN_PREFIX}{}", hex::encode(bytes))
}

/// The stored form of a token: lowercase hex SHA-256.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Token id.
    pub token_id: String,
    /// Role.
    pub role: Role,
    /// Namespace the token is limited to, if any.
    pub namespace: Option<String>,
}

impl Principal {
    /// Whether the caller holds at least `role` on namespace `ns` (`None`: catalog-wide).
    pub fn allows(&self, role: Role, ns: Option<&str>) -> bool {
        if self.role < role {
            return false;
        }
        match (&self.namespace, ns) {
            (None, _) => true,
            (Some(mine), Some(ns)) => mine == ns,
            (Some(_), None) => false,
        }
    }

    /// [`Principal::allows`] as a 403 error.
    pub fn require(&self, role: Role, ns: Option<&str>) -> Result<()> {
        if self.allows(role, ns) {
            return Ok(());
        }
        let scope = match ns {
            Some(ns) => format!("namespace `{ns}`"),
            None => "the whole catalog".to_string(),
        };
        Err(Error::Forbidden(format!(
            "this token ({}{}) lacks the {role} role on {scope}",
            self.role,
            self.namespace
                .as_deref()
                .map(|n| format!(" on namespace `{n}`"))
                .unwrap_or_default()
        )))
    }

    /// Whether the caller may see namespace `ns` at all.
    pub fn sees(&self, ns: &str) -> bool {
        self.namespace.as_deref().is_none_or(|mine| mine == ns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(role: Role, ns: Option<&str>) -> Principal {
        Principal {
            token_id: "t".into(),
            role,
            namespace: ns.map(str::to_string),
        }
    }

    #[test]
    fn tokens_are_random_and_hashed() {
        let a = generate_token();
        let b = generate_token();
        assert_ne!(a, b);
        assert!(a.starts_with(TOKEN_PREFIX));
        assert_eq!(hash_token(&a).len(), 64);
        assert_ne!(hash_token(&a), hash_token(&b));
        assert_eq!(hash_token(&a), hash_token(&a));
    }

    #[test]
    fn roles_are_ordered_and_scoped() {
        assert!(p(Role::Admin, None).allows(Role::Writer, Some("x")));
        assert!(p(Role::Admin, None).allows(Role::Admin, None));
        assert!(!p(Role::Reader, None).allows(Role::Writer, Some("x")));
        assert!(p(Role::Writer, Some("x")).allows(Role::Writer, Some("x")));
        assert!(!p(Role::Writer, Some("x")).allows(Role::Reader, Some("y")));
        assert!(!p(Role::Admin, Some("x")).allows(Role::Admin, None));
        assert!(p(Role::Reader, Some("x")).sees("x"));
        assert!(!p(Role::Reader, Some("x")).sees("y"));
    }

    #[test]
    fn roles_parse() {
        assert_eq!("writer".parse::<Role>().unwrap(), Role::Writer);
        assert!("root".parse::<Role>().is_err());
    }
}
