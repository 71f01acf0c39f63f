//! Argon2id for every new hash; bcrypt hashes from the original database are still accepted and replaced by an
//! Argon2id hash at the next successful sign-in.
//!
//! Hashing runs on a small pool of its own threads ([`Passwords`]), one per CPU, behind a short queue. An
//! Argon2id hash takes 19 MiB for tens of milliseconds: on the shared blocking pool, 200 parallel sign-ins would
//! run 200 hashes at once, and the allocator keeps the freed blocks (the server grew to 6 GiB). Here each worker
//! owns one Argon2 memory area, allocated once and reused for every hash it computes, so the hashes cost
//! `workers × 19 MiB` whatever the traffic; a request that finds the queue full is refused at once
//! ([`PasswordError::Busy`], answered 503 with `Retry-After`) rather than queued without bound.

use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, LazyLock, Mutex};

use argon2::password_hash::{
    Output, ParamsString, PasswordHash, Salt, SaltString, rand_core::OsRng,
};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use secrecy::{ExposeSecret, SecretString};

fn argon2() -> Argon2<'static> {
    // OWASP's minimum for Argon2id: 19 MiB, 2 passes, 1 lane.
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::default())
}

/// A stored hash asking for more memory than this is not one of ours: it is refused rather than computed.
const MAX_STORED_M_COST_KIB: u32 = 64 * 1024;

/// A hash of nothing anybody can type (its salt is fixed, its output all zeros), verified when the account does
/// not exist so that an unknown email costs the same Argon2 work as a wrong password.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    let params = Params::default();
    format!(
        "$argon2id$v=19$m={},t={},p={}$dml2ci10aW1pbmctc2FsdA${}",
        params.m_cost(),
        params.t_cost(),
        params.p_cost(),
        "A".repeat(43)
    )
});

/// The memory area a worker hashes in, grown to the largest hash it has computed and then reused.
type Memory = Vec<Block>;

/// The Argon2 output of `password` with `salt` under `argon`, computed in `memory`.
fn argon2_output(
    argon: &Argon2<'_>,
    password: &[u8],
    salt: Salt<'_>,
    memory: &mut Memory,
) -> argon2::password_hash::Result<Output> {
    let blocks = argon.params().block_count();
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    let mut salt_buffer = [0u8; 64];
    let salt = salt.decode_b64(&mut salt_buffer)?;
    let length = argon
        .params()
        .output_len()
        .unwrap_or(Params::DEFAULT_OUTPUT_LEN);
    let area = memory
        .get_mut(..blocks)
        .ok_or(argon2::password_hash::Error::Crypto)?;
    Output::init_with(length, |out| {
        argon
            .hash_password_into_with_memory(password, salt, out, &mut *area)
            .map_err(Into::into)
    })
}

/// A new Argon2id hash of `password`, in PHC string form.
fn hash_now(password: &[u8], memory: &mut Memory) -> Result<String, PasswordError> {
    let failed = |e: argon2::password_hash::Error| PasswordError::Failed(e.to_string());
    let argon = argon2();
    let salt = SaltString::generate(&mut OsRng);
    let output = argon2_output(&argon, password, salt.as_salt(), memory).map_err(failed)?;
    let hash = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(argon.params()).map_err(failed)?,
        salt: Some(salt.as_salt()),
        hash: Some(output),
    };
    Ok(hash.to_string())
}

/// Whether `password` matches the Argon2 hash `stored` (constant-time comparison of the outputs).
fn argon2_matches(
    password: &[u8],
    stored: &PasswordHash<'_>,
    params: Params,
    memory: &mut Memory,
) -> bool {
    let (Some(salt), Some(expected)) = (stored.salt, stored.hash) else {
        return false;
    };
    let (Ok(algorithm), Some(Ok(version))) = (
        Algorithm::try_from(stored.algorithm),
        stored.version.map(Version::try_from),
    ) else {
        return false;
    };
    let argon = Argon2::new(algorithm, version, params);
    argon2_output(&argon, password, salt, memory).is_ok_and(|computed| computed == expected)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordCheck {
    Invalid,
    /// Correct; `rehash` when the stored hash is a legacy bcrypt hash or weaker Argon2 parameters.
    Valid {
        rehash: bool,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    /// Every worker is busy and the queue is full: try again in a moment.
    #[error("password hashing is saturated")]
    Busy,
    #[error("password hashing failed: {0}")]
    Failed(String),
}

type Job = Box<dyn FnOnce(&mut Memory) + Send>;

/// The password hashing pool. Cheap to clone; the workers stop when the last clone is dropped.
#[derive(Clone)]
pub struct Passwords {
    jobs: SyncSender<Job>,
    workers: usize,
}

impl std::fmt::Debug for Passwords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Passwords")
            .field("workers", &self.workers)
            .finish()
    }
}

impl Passwords {
    pub fn new(workers: usize, queue: usize) -> Self {
        let workers = workers.max(1);
        let (jobs, receiver) = sync_channel::<Job>(queue);
        let receiver = Arc::new(Mutex::new(receiver));
        for n in 0..workers {
            let receiver = receiver.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("vivr-password-{n}"))
                .spawn(move || work(&receiver));
            if let Err(err) = spawned {
                tracing::error!(error = %err, "could not start a password hashing thread");
            }
        }
        Passwords { jobs, workers }
    }

    /// How many hashes may run at once.
    pub fn workers(&self) -> usize {
        self.workers
    }

    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Memory) -> Result<T, PasswordError> + Send + 'static,
    ) -> Result<T, PasswordError> {
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |memory| {
            let _ = done.send(job(memory));
        });
        match self.jobs.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                tracing::warn!("password hashing queue full; request refused");
                return Err(PasswordError::Busy);
            }
            Err(TrySendError::Disconnected(_)) => {
                return Err(PasswordError::Failed("no hashing thread".into()));
            }
        }
        result
            .await
            .map_err(|_| PasswordError::Failed("the hashing thread stopped".into()))?
    }

    pub async fn hash(&self, password: SecretString) -> Result<String, PasswordError> {
        self.run(move |memory| hash_now(password.expose_secret().as_bytes(), memory))
            .await
    }

    /// Checks `password` against the stored hash. `None` (unknown user, or an OAuth-only account) still costs one
    /// Argon2 verification.
    pub async fn verify(
        &self,
        password: SecretString,
        stored: Option<String>,
    ) -> Result<PasswordCheck, PasswordError> {
        self.run(move |memory| {
            Ok(verify_now(
                password.expose_secret().as_bytes(),
                stored,
                memory,
            ))
        })
        .await
    }
}

fn work(receiver: &Mutex<Receiver<Job>>) {
    let mut memory = Memory::new();
    loop {
        let job = match receiver.lock() {
            Ok(receiver) => receiver.recv(),
            Err(_) => return,
        };
        match job {
            Ok(job) => job(&mut memory),
            Err(_) => return,
        }
    }
}

fn is_bcrypt(hash: &str) -> bool {
    ["$2a$", "$2b$", "$2y$"].iter().any(|p| hash.starts_with(p))
}

fn verify_now(candidate: &[u8], stored: Option<String>, memory: &mut Memory) -> PasswordCheck {
    let Some(stored) = stored else {
        if let Ok(dummy) = PasswordHash::new(&DUMMY_HASH) {
            let _ = argon2_matches(candidate, &dummy, Params::default(), memory);
        }
        return PasswordCheck::Invalid;
    };
    if is_bcrypt(&stored) {
        // A malformed legacy hash (the original seed wrote "$2a$10$placeholder") simply never matches.
        return match bcrypt::verify(candidate, &stored) {
            Ok(true) => PasswordCheck::Valid { rehash: true },
            _ => PasswordCheck::Invalid,
        };
    }
    let Ok(parsed) = PasswordHash::new(&stored) else {
        tracing::warn!("stored password hash has an unknown format");
        return PasswordCheck::Invalid;
    };
    let Ok(params) = Params::try_from(&parsed) else {
        tracing::warn!("stored password hash has unusable parameters");
        return PasswordCheck::Invalid;
    };
    if params.m_cost() > MAX_STORED_M_COST_KIB {
        tracing::warn!(
            m_cost = params.m_cost(),
            "stored password hash asks for too much memory"
        );
        return PasswordCheck::Invalid;
    }
    let current = Params::default();
    let rehash = parsed.algorithm.as_str() != "argon2id"
        || params.m_cost() < current.m_cost()
        || params.t_cost() < current.t_cost();
    if !argon2_matches(candidate, &parsed, params, memory) {
        return PasswordCheck::Invalid;
    }
    PasswordCheck::Valid { rehash }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> SecretString {
        SecretString::from(s.to_string())
    }

    #[tokio::test]
    async fn argon2_round_trip() {
        let passwords = Passwords::new(1, 4);
        let hash = passwords.hash(secret("Tr3s-Solide!")).await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert_eq!(
            passwords
                .verify(secret("Tr3s-Solide!"), Some(hash.clone()))
                .await
                .unwrap(),
            PasswordCheck::Valid { rehash: false }
        );
        assert_eq!(
            passwords.verify(secret("wrong"), Some(hash)).await.unwrap(),
            PasswordCheck::Invalid
        );
    }

    #[test]
    fn hashes_are_standard_phc_strings_that_other_argon2_implementations_verify() {
        use argon2::password_hash::PasswordVerifier;
        let mut memory = Memory::new();
        let ours = hash_now(b"Tr3s-Solide!", &mut memory).unwrap();
        assert!(
            ours.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{ours}"
        );
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(argon2().verify_password(b"Tr3s-Solide!", &parsed).is_ok());
        assert!(argon2().verify_password(b"tr3s-solide!", &parsed).is_err());
        // And a hash made by the crate's own API verifies here, in the reused memory.
        let theirs = {
            use argon2::password_hash::PasswordHasher;
            argon2()
                .hash_password(b"Autre-Phrase-42", &SaltString::generate(&mut OsRng))
                .unwrap()
                .to_string()
        };
        assert_eq!(
            verify_now(b"Autre-Phrase-42", Some(theirs.clone()), &mut memory),
            PasswordCheck::Valid { rehash: false }
        );
        assert_eq!(
            verify_now(b"autre", Some(theirs), &mut memory),
            PasswordCheck::Invalid
        );
        assert_eq!(
            memory.len(),
            Params::default().block_count(),
            "one area, reused"
        );
        assert!(PasswordHash::new(&DUMMY_HASH).is_ok(), "{}", *DUMMY_HASH);
    }

    #[tokio::test]
    async fn legacy_bcrypt_verifies_and_asks_for_rehash() {
        let passwords = Passwords::new(1, 4);
        let legacy = bcrypt::hash("Ancien-Mot2passe!", 4).unwrap();
        assert_eq!(
            passwords
                .verify(secret("Ancien-Mot2passe!"), Some(legacy.clone()))
                .await
                .unwrap(),
            PasswordCheck::Valid { rehash: true }
        );
        assert_eq!(
            passwords
                .verify(secret("nope"), Some(legacy))
                .await
                .unwrap(),
            PasswordCheck::Invalid
        );
        assert_eq!(
            passwords
                .verify(secret("x"), Some("$2a$10$placeholder".into()))
                .await
                .unwrap(),
            PasswordCheck::Invalid
        );
        assert_eq!(
            passwords.verify(secret("x"), None).await.unwrap(),
            PasswordCheck::Invalid
        );
    }

    #[tokio::test]
    async fn a_full_queue_refuses_at_once_instead_of_growing() {
        // One worker, a queue of two: of twelve hashes asked at once, the first few run and the rest are refused.
        let passwords = Passwords::new(1, 2);
        let mut asked = tokio::task::JoinSet::new();
        for _ in 0..12 {
            let passwords = passwords.clone();
            asked.spawn(async move { passwords.hash(secret("Tr3s-Solide!")).await });
        }
        let (mut done, mut busy) = (0, 0);
        while let Some(result) = asked.join_next().await {
            match result.unwrap() {
                Ok(_) => done += 1,
                Err(PasswordError::Busy) => busy += 1,
                Err(other) => panic!("{other}"),
            }
        }
        assert!(done >= 1 && busy >= 1, "done {done}, busy {busy}");
        assert!(done <= 4, "at most the worker's job and the queue: {done}");
    }

    #[test]
    fn a_stored_hash_asking_for_gigabytes_is_refused_without_computing_it() {
        let greedy = "$argon2id$v=19$m=4194304,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g";
        let mut memory = Memory::new();
        assert_eq!(
            verify_now(b"x", Some(greedy.into()), &mut memory),
            PasswordCheck::Invalid
        );
        assert!(memory.is_empty(), "nothing was allocated for it");
    }
}
