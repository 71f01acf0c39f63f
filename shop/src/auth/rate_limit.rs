//! Rate limiting: ONE mechanism for every limited route (register, sign-in, reviews, newsletter, checkout).
//!
//! Counts live in the database's `RateLimit` table as fixed windows, so every `vivr serve` process on one
//! PostgreSQL enforces one limit. A request is keyed by its signed-in user or by its client IP ([`ClientIp`]:
//! `X-Forwarded-For` is believed only from configured proxies). Responses of limited routes carry
//! `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` (seconds) and `RateLimit-Policy`; a refusal is a
//! 429 with `Retry-After` as well.
//!
//! Every count is taken before the handler runs, as a single atomic upsert, so N processes let exactly `max`
//! requests through however many arrive at once. Sign-in counts failures only (as express-rate-limit's
//! `skipSuccessfulRequests` does) without checking after the fact: each attempt takes its slot before the
//! password is verified, and a success gives it back ([`RateLimiter::refund`]). A customer who signs in often is
//! never locked out; thirty guesses sent at once get the allowed number evaluated, no more.
//!
//! Sign-in has three counts (see `services::accounts::sign_in`): per client IP (in the route's layer), per
//! account *and* IP (a few failures: the owner, from another address, still gets in), and per account whatever the
//! IP (a higher ceiling against guessing from many addresses). Failed answers wait longer as failures pile up
//! ([`failure_delay`]); correct passwords never wait.
//!
//! [`ClientIp`]: crate::auth::ClientIp

use std::time::Duration;

use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use chrono::NaiveDateTime;

use crate::store::{RateLimitStore, RateWindow, StoreError, StoreResult};

/// At most `max` events per `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub max: i64,
    pub window: Duration,
}

impl Limit {
    pub const fn per(max: i64, window_secs: u64) -> Self {
        Limit {
            max,
            window: Duration::from_secs(window_secs),
        }
    }
}

const MINUTE: u64 = 60;
const HOUR: u64 = 3600;

/// The limits of every limited route. The defaults are what production runs.
#[derive(Debug, Clone, Copy)]
pub struct RateLimits {
    /// Accounts created per client IP.
    pub register: Limit,
    /// Failed sign-ins per client IP (whatever the accounts tried).
    pub login_ip: Limit,
    /// Failed sign-ins per account from one client IP; a success clears it.
    pub login_account_ip: Limit,
    /// Failed sign-ins per account from every IP together: the ceiling against guessing from many addresses.
    pub login_account: Limit,
    /// The first step of the growing delay before a failed sign-in is answered (see [`failure_delay`]).
    pub login_failure_delay: Duration,
    /// Review submissions per customer.
    pub reviews: Limit,
    /// Newsletter sign-ups per client IP.
    pub newsletter: Limit,
    /// Orders placed per customer.
    pub checkout: Limit,
    /// Emailed links asked for (password reset, email change) per customer or client IP.
    pub account_links: Limit,
    /// Password-reset emails per address, whoever asks: an inbox cannot be flooded from many addresses.
    pub reset_per_address: Limit,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            register: Limit::per(10, HOUR),
            login_ip: Limit::per(20, 15 * MINUTE),
            login_account_ip: Limit::per(5, 15 * MINUTE),
            login_account: Limit::per(50, 15 * MINUTE),
            login_failure_delay: Duration::from_secs(1),
            reviews: Limit::per(10, HOUR),
            newsletter: Limit::per(3, HOUR),
            checkout: Limit::per(10, 10 * MINUTE),
            account_links: Limit::per(5, HOUR),
            reset_per_address: Limit::per(3, HOUR),
        }
    }
}

impl RateLimits {
    /// The longest window of any limit: a counter older than that limits nothing.
    pub fn longest_window(&self) -> Duration {
        [
            self.register,
            self.login_ip,
            self.login_account_ip,
            self.login_account,
            self.reviews,
            self.newsletter,
            self.checkout,
            self.account_links,
            self.reset_per_address,
        ]
        .iter()
        .map(|l| l.window)
        .max()
        .unwrap_or_default()
    }
}

/// A limited route's rule: which limit, who is counted, and which requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    Register,
    Login,
    Review,
    Newsletter,
    Checkout,
    /// Asking for an emailed link: a password reset, an email change.
    AccountLink,
}

/// Whom a policy counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyBy {
    ClientIp,
    /// The signed-in user; the client IP for a visitor.
    UserOrIp,
}

/// Which requests a policy counts. Both take their slot before the handler runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counting {
    Every,
    /// Only answers that are client errors (a wrong password, a bad CSRF token): any other answer gives its slot
    /// back.
    Failures,
}

/// How long a failed sign-in waits before it is answered: nothing for the first two failures of an account from
/// one address, then `base`, 2 × `base`, 4 × `base`… (at most 8 × `base`); failures of the account from every
/// address add a step for each ten beyond the first ten. Guessing slows down; the owner, whose password is right,
/// never waits.
pub fn failure_delay(base: Duration, account_ip_failures: i64, account_failures: i64) -> Duration {
    let steps = (account_ip_failures - 2).max(0) + ((account_failures - 10).max(0) + 9) / 10;
    if steps == 0 {
        return Duration::ZERO;
    }
    base * (1u32 << (steps - 1).min(3))
}

impl Policy {
    pub fn name(self) -> &'static str {
        match self {
            Policy::Register => "register",
            Policy::Login => "login",
            Policy::Review => "review",
            Policy::Newsletter => "newsletter",
            Policy::Checkout => "checkout",
            Policy::AccountLink => "account-link",
        }
    }

    pub fn limit(self, limits: &RateLimits) -> Limit {
        match self {
            Policy::Register => limits.register,
            Policy::Login => limits.login_ip,
            Policy::Review => limits.reviews,
            Policy::Newsletter => limits.newsletter,
            Policy::Checkout => limits.checkout,
            Policy::AccountLink => limits.account_links,
        }
    }

    pub fn key_by(self) -> KeyBy {
        match self {
            Policy::Register | Policy::Login | Policy::Newsletter => KeyBy::ClientIp,
            Policy::Review | Policy::Checkout | Policy::AccountLink => KeyBy::UserOrIp,
        }
    }

    pub fn counting(self) -> Counting {
        match self {
            Policy::Login => Counting::Failures,
            _ => Counting::Every,
        }
    }
}

/// Where a client stands against one limit, for the `RateLimit-*` headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub limit: i64,
    pub remaining: i64,
    /// Seconds until the window ends (at least 1).
    pub reset_secs: u64,
    pub window_secs: u64,
}

impl Quota {
    fn of(limit: Limit, window: Option<RateWindow>, now: NaiveDateTime) -> Self {
        let window_secs = limit.window.as_secs().max(1);
        let (used, reset_secs) = match window {
            Some(w) => {
                let ends = w.window_start + chrono::TimeDelta::seconds(window_secs as i64);
                // Rounded up: a client that waits this long finds a new window. Never more than a window: another
                // process may have opened it a few milliseconds "after" this one's clock reading.
                let millis = (ends - now).num_milliseconds().max(0);
                (
                    w.count,
                    (((millis + 999) / 1000) as u64).clamp(1, window_secs),
                )
            }
            None => (0, window_secs),
        };
        Quota {
            limit: limit.max,
            remaining: (limit.max - used).max(0),
            reset_secs,
            window_secs,
        }
    }

    /// `RateLimit-Limit`, `-Remaining`, `-Reset` and `-Policy` (and `Retry-After` when nothing remains).
    pub fn apply(&self, headers: &mut HeaderMap, refused: bool) {
        const LIMIT: HeaderName = HeaderName::from_static("ratelimit-limit");
        const REMAINING: HeaderName = HeaderName::from_static("ratelimit-remaining");
        const RESET: HeaderName = HeaderName::from_static("ratelimit-reset");
        const POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");
        headers.insert(LIMIT, HeaderValue::from(self.limit));
        headers.insert(REMAINING, HeaderValue::from(self.remaining));
        headers.insert(RESET, HeaderValue::from(self.reset_secs));
        if let Ok(v) = HeaderValue::from_str(&format!("{};w={}", self.limit, self.window_secs)) {
            headers.insert(POLICY, v);
        }
        if refused {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(self.reset_secs));
        }
    }

    /// The names of the headers [`Quota::apply`] sets, for layers that rebuild a response.
    pub const HEADERS: [&'static str; 5] = [
        "ratelimit-limit",
        "ratelimit-remaining",
        "ratelimit-reset",
        "ratelimit-policy",
        "retry-after",
    ];
}

/// A counted event: its figures for the headers, and what [`RateLimiter::refund`] needs to give it back.
#[derive(Debug, Clone)]
pub struct Slot {
    pub key: String,
    pub quota: Quota,
    /// Events counted in this window so far, this one included.
    pub count: i64,
    window_start: NaiveDateTime,
}

/// Why an event was not counted.
#[derive(Debug, thiserror::Error)]
pub enum LimitError {
    /// Over the limit (429): the quota says when the window resets.
    #[error("rate limit reached")]
    Exceeded(Quota),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Counts events against keys in the store.
pub struct RateLimiter<'a> {
    pub store: &'a dyn RateLimitStore,
    pub now: NaiveDateTime,
}

impl RateLimiter<'_> {
    /// Counts one event; refused (429) when it is over the limit. The count is one atomic upsert: concurrent
    /// requests, in any number of processes, let exactly `max` through per window.
    pub async fn consume(&self, key: &str, limit: Limit) -> Result<Slot, LimitError> {
        let window = self
            .store
            .rate_limit_hit(key, limit.window, self.now)
            .await?;
        let over = window.count > limit.max;
        let quota = Quota::of(limit, Some(window), self.now);
        if over {
            tracing::warn!(limit = key_kind(key), "rate limit reached");
            return Err(LimitError::Exceeded(quota));
        }
        Ok(Slot {
            key: key.to_string(),
            quota,
            count: window.count,
            window_start: window.window_start,
        })
    }

    /// Gives a slot back (the event turned out not to count: a successful sign-in). Returns the quota the client
    /// now has.
    pub async fn refund(&self, slot: &Slot) -> StoreResult<Quota> {
        self.store
            .rate_limit_refund(&slot.key, slot.window_start)
            .await?;
        Ok(Quota {
            remaining: (slot.quota.remaining + 1).min(slot.quota.limit),
            ..slot.quota
        })
    }

    pub async fn reset(&self, key: &str) -> StoreResult<()> {
        self.store.rate_limit_reset(key).await
    }
}

/// The key's policy and subject kind (`login:ip`), never the IP, email or user id itself.
fn key_kind(key: &str) -> String {
    key.split(':').take(2).collect::<Vec<_>>().join(":")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> NaiveDateTime {
        chrono::DateTime::from_timestamp(1_800_000_000 + secs, 0)
            .unwrap()
            .naive_utc()
    }

    #[test]
    fn quota_counts_down_and_resets_at_the_end_of_the_window() {
        let limit = Limit::per(3, 3600);
        let fresh = Quota::of(limit, None, at(0));
        assert_eq!((fresh.remaining, fresh.reset_secs), (3, 3600));
        let used = Quota::of(
            limit,
            Some(RateWindow {
                count: 2,
                window_start: at(0),
            }),
            at(600),
        );
        assert_eq!((used.remaining, used.reset_secs), (1, 3000));
        let over = Quota::of(
            limit,
            Some(RateWindow {
                count: 7,
                window_start: at(0),
            }),
            at(3599),
        );
        assert_eq!((over.remaining, over.reset_secs), (0, 1));
        // A window opened by another process whose clock reading came a little later.
        let ahead = Quota::of(
            limit,
            Some(RateWindow {
                count: 1,
                window_start: at(0) + chrono::TimeDelta::milliseconds(2),
            }),
            at(0),
        );
        assert_eq!(ahead.reset_secs, 3600);
    }

    #[test]
    fn headers_name_the_limit_and_when_to_retry() {
        let quota = Quota {
            limit: 3,
            remaining: 0,
            reset_secs: 42,
            window_secs: 3600,
        };
        let mut headers = HeaderMap::new();
        quota.apply(&mut headers, true);
        assert_eq!(headers["ratelimit-limit"], "3");
        assert_eq!(headers["ratelimit-remaining"], "0");
        assert_eq!(headers["ratelimit-reset"], "42");
        assert_eq!(headers["ratelimit-policy"], "3;w=3600");
        assert_eq!(headers["retry-after"], "42");
        let mut headers = HeaderMap::new();
        quota.apply(&mut headers, false);
        assert!(headers.get("retry-after").is_none());
    }

    #[test]
    fn failed_sign_ins_wait_longer_and_longer() {
        let base = Duration::from_secs(1);
        let delays: Vec<u64> = (1..=6)
            .map(|n| failure_delay(base, n, n).as_secs())
            .collect();
        assert_eq!(delays, [0, 0, 1, 2, 4, 8]);
        // Many addresses on one account: each ten failures beyond ten add a step, even at an address's first.
        assert_eq!(failure_delay(base, 1, 10), Duration::ZERO);
        assert_eq!(failure_delay(base, 1, 11), base);
        assert_eq!(failure_delay(base, 1, 31), base * 4);
        assert_eq!(failure_delay(base, 5, 500), base * 8);
        assert_eq!(failure_delay(Duration::ZERO, 5, 500), Duration::ZERO);
    }

    #[test]
    fn logs_name_the_kind_of_key_only() {
        assert_eq!(key_kind("login:account:alice@vivr.fr"), "login:account");
        assert_eq!(key_kind("newsletter:ip:203.0.113.9"), "newsletter:ip");
    }
}
