//! Whether the database's schema is the one this build expects. The shop does not read the migration history
//! itself: whoever starts it (`vivr serve`, through the migrator) hands it a probe, and readiness asks it.

use async_trait::async_trait;

#[async_trait]
pub trait SchemaProbe: Send + Sync {
    /// What differs from the expected schema, one sentence each (`migrations: … is not applied`); empty when
    /// nothing does. An error means the database could not be asked.
    async fn problems(&self) -> anyhow::Result<Vec<String>>;
}
