//! User roles, as constrained in the database (`USER`, `ADMIN`).

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Role {
    User,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "USER",
            Role::Admin => "ADMIN",
        }
    }

    /// Reads the stored value; anything unknown is treated as the least privileged role.
    pub fn from_db(value: &str) -> Self {
        if value == "ADMIN" {
            Role::Admin
        } else {
            Role::User
        }
    }
}
