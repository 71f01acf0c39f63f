//! Readiness's view of the migration history: `vivr serve` hands the shop this probe, so only the migrator reads
//! `_prisma_migrations`. It runs on the shop's own pool (one statement pair per check, no connection of its own).

use async_trait::async_trait;

use vivr_shop::schema::SchemaProbe;
use vivr_shop::store::db::Db;

use super::{Migration, Status, embedded, history};

pub struct Probe {
    db: Db,
    migrations: Vec<Migration>,
}

impl Probe {
    /// Compares the database behind `db` with this build's migrations.
    pub fn new(db: Db) -> Self {
        let migrations = embedded(db.backend());
        Self::expecting(db, migrations)
    }

    /// Compares it with `migrations` (a test's own list).
    pub fn expecting(db: Db, migrations: Vec<Migration>) -> Self {
        Self { db, migrations }
    }
}

/// The sentences readiness shows for a history that is not this build's.
fn problems(status: &Status) -> Vec<String> {
    if status.table_missing {
        return vec!["migrations: the _prisma_migrations table is missing".to_string()];
    }
    let pending = status
        .pending
        .iter()
        .map(|name| format!("migrations: {name} is not applied"));
    let edited = status
        .edited
        .iter()
        .map(|name| format!("migrations: {name} was applied from a different file"));
    pending.chain(edited).collect()
}

#[async_trait]
impl SchemaProbe for Probe {
    async fn problems(&self) -> anyhow::Result<Vec<String>> {
        let rows = history::read(&self.db).await?;
        Ok(problems(&Status::compute(&self.migrations, rows, false)))
    }
}
