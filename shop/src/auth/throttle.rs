//! Sign-in throttling: failed attempts are counted per account and per client IP in the database (so every vivr
//! process on one database shares the count); over the limit, sign-in answers 429 with `Retry-After`.

use std::net::IpAddr;

use chrono::NaiveDateTime;

use crate::config::LoginThrottle;
use crate::error::AppError;
use crate::store::Store;

pub struct ThrottleKeys {
    account: String,
    ip: String,
}

impl ThrottleKeys {
    pub fn new(email: &str, ip: IpAddr) -> Self {
        ThrottleKeys {
            account: format!("login:account:{email}"),
            ip: format!("login:ip:{ip}"),
        }
    }
}

pub struct LoginThrottler<'a> {
    pub store: &'a dyn Store,
    pub policy: LoginThrottle,
}

impl LoginThrottler<'_> {
    /// Refuses the attempt when either key has used up its window.
    pub async fn check(&self, keys: &ThrottleKeys, now: NaiveDateTime) -> Result<(), AppError> {
        for (key, limit) in [
            (&keys.account, self.policy.per_account),
            (&keys.ip, self.policy.per_ip),
        ] {
            if let Some(window) = self
                .store
                .rate_limit_peek(key, self.policy.window, now)
                .await?
                && window.count >= limit
            {
                let ends = window.window_start
                    + chrono::TimeDelta::from_std(self.policy.window).unwrap_or_default();
                let retry_after_secs = (ends - now).num_seconds().max(1) as u64;
                tracing::warn!(kind = %key.split(':').take(2).collect::<Vec<_>>().join(":"), "sign-in throttled");
                return Err(AppError::TooManyRequests { retry_after_secs });
            }
        }
        Ok(())
    }

    pub async fn record_failure(
        &self,
        keys: &ThrottleKeys,
        now: NaiveDateTime,
    ) -> Result<(), AppError> {
        self.store
            .rate_limit_hit(&keys.account, self.policy.window, now)
            .await?;
        self.store
            .rate_limit_hit(&keys.ip, self.policy.window, now)
            .await?;
        Ok(())
    }

    /// A successful sign-in clears the account's count (the IP's stays: it may be guessing other accounts).
    pub async fn record_success(&self, keys: &ThrottleKeys) -> Result<(), AppError> {
        self.store.rate_limit_reset(&keys.account).await?;
        Ok(())
    }
}
