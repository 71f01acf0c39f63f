//! Background work of a running shop: expiring unpaid orders, sending queued emails, and cleaning up expired
//! sessions and abandoned visitor carts. Every job is safe with several `vivr serve` processes on one database:
//! status changes are conditional and emails are claimed before they are sent.

use std::time::Duration;

use chrono::TimeDelta;
use tokio::task::JoinHandle;

use crate::AppState;
use crate::auth::{VISITOR_CART_LIFETIME, now};
use crate::error::AppError;
use crate::mail::{
    Delivery, account_exists, account_link, compose, email_changed, newsletter_confirmation,
    newsletter_welcome,
};
use crate::services::{lifecycle, newsletter, orders};
use crate::store::{EmailKind, OrderKey, QueuedEmail};

/// An email is tried this many times (over about a day) before it is left for an operator.
pub const MAX_EMAIL_ATTEMPTS: i32 = 10;
/// How long a worker holds a claimed email before another may try it.
const EMAIL_LEASE: Duration = Duration::from_secs(120);

/// Starts the jobs; they stop when the returned handles are aborted or the runtime ends.
pub fn spawn(state: &AppState) -> Vec<JoinHandle<()>> {
    vec![
        tokio::spawn(periodic(state.clone())),
        tokio::spawn(email_worker(state.clone())),
    ]
}

/// A job's failure: a warning while the database is unreachable (the health check and the logs say so already,
/// and the job runs again at its next tick), else an error, which error tracking reports.
fn failed(job: &'static str, err: impl Into<AppError>) {
    match err.into() {
        AppError::Unavailable => tracing::warn!(job, "job failed: database unavailable"),
        AppError::Internal(err) => tracing::error!(job, error = format!("{err:#}"), "job failed"),
        other => tracing::error!(job, error = %other, "job failed"),
    }
}

async fn periodic(state: AppState) {
    let mut tick = tokio::time::interval(state.config().job_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_cleanup: Option<chrono::NaiveDateTime> = None;
    loop {
        tick.tick().await;
        if state.is_shutting_down() {
            return;
        }
        if let Err(err) = orders::expire_unpaid(&state).await {
            failed("order expiry", err);
        }
        let at = now();
        if last_cleanup.is_none_or(|t| at - t >= TimeDelta::hours(1)) {
            last_cleanup = Some(at);
            cleanup(&state, at).await;
        }
    }
}

async fn cleanup(state: &AppState, at: chrono::NaiveDateTime) {
    match state.store().delete_expired_sessions(at).await {
        Ok(n) if n > 0 => tracing::info!(sessions = n, "expired sessions removed"),
        Ok(_) => {}
        Err(err) => failed("expired sessions cleanup", err),
    }
    match state
        .store()
        .purge_visitor_carts(at - VISITOR_CART_LIFETIME)
        .await
    {
        Ok(n) if n > 0 => tracing::info!(carts = n, "abandoned visitor carts removed"),
        Ok(_) => {}
        Err(err) => failed("abandoned visitor carts cleanup", err),
    }
    match newsletter::purge_unconfirmed(state, at - TimeDelta::days(7)).await {
        Ok(n) if n > 0 => tracing::info!(sign_ups = n, "unconfirmed newsletter sign-ups forgotten"),
        Ok(_) => {}
        Err(err) => failed("unconfirmed newsletter sign-ups cleanup", err),
    }
    // A counter older than the longest window limits nothing (a day's margin for clocks and changed settings).
    let longest =
        TimeDelta::from_std(state.config().rate_limits.longest_window()).unwrap_or_default();
    match state
        .store()
        .rate_limit_purge(at - longest - TimeDelta::days(1))
        .await
    {
        Ok(n) if n > 0 => tracing::info!(counters = n, "stale rate-limit counters removed"),
        Ok(_) => {}
        Err(err) => failed("stale rate-limit counters cleanup", err),
    }
}

/// Sends due emails, then waits to be woken (an email was queued here) or for the next poll (one was queued by
/// another process, or a retry came due).
async fn email_worker(state: AppState) {
    loop {
        if state.is_shutting_down() {
            return;
        }
        if let Err(err) = send_due_emails(&state).await {
            failed("email worker", err);
        }
        tokio::select! {
            () = state.mail_queued() => {}
            () = tokio::time::sleep(Duration::from_secs(5)) => {}
        }
    }
}

/// Sends every email that is due now; returns how many were delivered (sent or logged).
pub async fn send_due_emails(state: &AppState) -> Result<usize, crate::store::StoreError> {
    let mut delivered = 0;
    loop {
        let batch = state
            .store()
            .claim_emails(now(), EMAIL_LEASE, MAX_EMAIL_ATTEMPTS, 20)
            .await?;
        if batch.is_empty() {
            return Ok(delivered);
        }
        for email in batch {
            if send_one(state, &email).await? {
                delivered += 1;
            }
        }
    }
}

/// Retry delays: 1, 2, 4 … minutes, at most an hour.
fn backoff(attempts: i32) -> TimeDelta {
    TimeDelta::minutes((1i64 << attempts.clamp(1, 7).saturating_sub(1)).min(60))
}

async fn send_one(state: &AppState, email: &QueuedEmail) -> Result<bool, crate::store::StoreError> {
    let store = state.store();
    let public_url = state
        .config()
        .public_url
        .clone()
        .unwrap_or_else(|| "http://localhost:3000".to_string());
    let (outgoing, about) = match (
        email.kind,
        email.order_id.as_deref(),
        email.token_id.as_deref(),
    ) {
        (EmailKind::Order(kind), Some(order_id), _) => {
            let Some(order) = store.order(OrderKey::Id(order_id)).await? else {
                return Ok(false);
            };
            (compose(kind, &order, &public_url), order.number)
        }
        (EmailKind::NewsletterWelcome, _, _) => {
            // Unsubscribed before the welcome went out: nothing to send.
            if !store.newsletter_subscribed(&email.recipient).await? {
                store.email_sent(&email.id, now()).await?;
                return Ok(false);
            }
            let url =
                newsletter::unsubscribe_url(state.signing_key(), &public_url, &email.recipient);
            (newsletter_welcome(&url), "newsletter".to_string())
        }
        (EmailKind::NewsletterConfirm, _, _) => {
            // Unsubscribed (or confirmed by an earlier email) before this one went out: nothing to send.
            if !store.newsletter_pending(&email.recipient).await? {
                store.email_sent(&email.id, now()).await?;
                return Ok(false);
            }
            let url = newsletter::confirm_url(state.signing_key(), &public_url, &email.recipient);
            (newsletter_confirmation(&url), "newsletter".to_string())
        }
        (EmailKind::AccountExists, _, _) => (account_exists(&public_url), "account".to_string()),
        (EmailKind::EmailChanged, _, _) => (email_changed(&public_url), "account".to_string()),
        (EmailKind::Link(_), _, Some(token_id)) => {
            // The token is drawn now and only its hash stored: the outbox never holds a usable link. A link used,
            // replaced or expired meanwhile is not worth sending.
            let (token, hash) = lifecycle::draw_token();
            let Some(link) = store.arm_account_link(token_id, &hash, now()).await? else {
                store.email_sent(&email.id, now()).await?;
                return Ok(false);
            };
            let url = lifecycle::link_url(&public_url, link.purpose, &token, link.next.as_deref());
            let valid_for = french_duration(link.expires - now());
            (
                account_link(link.purpose, &url, &valid_for),
                "account".to_string(),
            )
        }
        (EmailKind::Order(_), None, _) | (EmailKind::Link(_), _, None) => {
            // The table's CHECKs make this impossible; never retried if it happens anyway.
            store
                .email_failed(
                    &email.id,
                    "email without what it is about",
                    now() + TimeDelta::days(3650),
                )
                .await?;
            return Ok(false);
        }
    };
    let kind = email.kind.as_str();
    match state.mailer().send(&email.recipient, &outgoing).await {
        Ok(delivery) => {
            store.email_sent(&email.id, now()).await?;
            tracing::info!(email = %email.id, about = %about, kind, sent = delivery == Delivery::Sent, "email delivered");
            Ok(true)
        }
        Err(err) => {
            let retry_at = now() + backoff(email.attempts);
            tracing::warn!(about = %about, kind, attempt = email.attempts, error = %err, "email failed; will retry");
            store.email_failed(&email.id, &err, retry_at).await?;
            Ok(false)
        }
    }
}

/// A link's remaining life in words: "30 minutes", "24 heures". Minutes are rounded up (the email leaves a second
/// after the link is made) and hours down.
fn french_duration(left: TimeDelta) -> String {
    let minutes = (left.num_seconds().max(0) + 59) / 60;
    if minutes >= 120 {
        format!("{} heures", minutes / 60)
    } else if minutes > 1 {
        format!("{minutes} minutes")
    } else {
        "1 minute".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::{backoff, french_duration};
    use chrono::TimeDelta;

    #[test]
    fn link_lifetimes_read_in_french() {
        assert_eq!(french_duration(TimeDelta::minutes(30)), "30 minutes");
        assert_eq!(
            french_duration(TimeDelta::seconds(29 * 60 + 58)),
            "30 minutes"
        );
        assert_eq!(french_duration(TimeDelta::hours(24)), "24 heures");
        assert_eq!(french_duration(TimeDelta::seconds(20)), "1 minute");
    }

    #[test]
    fn retries_back_off_up_to_an_hour() {
        assert_eq!(backoff(1).num_minutes(), 1);
        assert_eq!(backoff(2).num_minutes(), 2);
        assert_eq!(backoff(5).num_minutes(), 16);
        assert_eq!(backoff(9).num_minutes(), 60);
    }
}
