//! `vivr audit` (issue 15, in progress): a production-readiness score from checks defined as data. So far the
//! scoring algorithm (`score`); the check files, their matchers and the command come next.

pub mod score;
