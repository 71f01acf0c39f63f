//! `vivr deploy`: ECS deploys that know whether they won. The platform (ECS, or the local engine for a
//! rehearsal) is a trait (`platform`); the state machine that deploys, verifies, bakes and rolls back is written
//! once (`machine`), judged by rollback triggers (`triggers`).

pub mod cloudwatch;
pub mod config;
pub mod ecs;
pub mod machine;
pub mod platform;
pub mod preflight;
pub mod prometheus;
pub mod rehearse;
pub mod task;
pub mod triggers;

#[cfg(test)]
mod timelines;
