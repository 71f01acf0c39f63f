//! The production image: the rules its Dockerfile must follow ([`lint`]), checked in process before anything is
//! built. hadolint's production rules keep their ids (DL…) so that findings read the same in both tools; what
//! hadolint does not check and a production image needs — a USER at all, a health check, bases pinned by
//! digest, the shop's own secret names, a `.dockerignore` that keeps the build context clean — are vivr's own
//! rules (VIVR…). The `Report` trait renders the findings as text, JSON or SARIF.

pub mod context;
pub mod engine;
pub mod inspect;
pub mod lint;
pub mod registry;
pub mod sbom;
pub mod smoke;
pub mod source;
