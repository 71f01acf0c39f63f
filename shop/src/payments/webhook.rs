//! Stripe webhook signatures: `Stripe-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">[,v1=…]`.
//! Verified against every configured secret (two during a rotation) and every `v1` value, in constant time, with
//! a tolerance on the timestamp so a captured request cannot be replayed later.

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

/// Stripe's default: five minutes.
pub const TOLERANCE_SECS: i64 = 300;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the Stripe-Signature header is missing")]
    Missing,
    #[error("the Stripe-Signature header has no timestamp or no v1 signature")]
    Malformed,
    #[error("the signature timestamp is more than {TOLERANCE_SECS} s away from now")]
    OutsideTolerance,
    #[error("no signature matches the payload with the configured secrets")]
    Mismatch,
}

/// Checks `header` against `payload` (the raw request body) at time `now` (Unix seconds).
pub fn verify(
    payload: &[u8],
    header: Option<&str>,
    secrets: &[SecretString],
    now: i64,
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => timestamp = value.parse::<i64>().ok(),
            Some(("v1", value)) => {
                if let Ok(bytes) = hex::decode(value) {
                    signatures.push(bytes);
                }
            }
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    // abs_diff: a timestamp of i64::MIN must not overflow the subtraction.
    if now.abs_diff(timestamp) > TOLERANCE_SECS.unsigned_abs() {
        return Err(SignatureError::OutsideTolerance);
    }
    for secret in secrets {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes()) else {
            continue;
        };
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(payload);
        // verify_slice compares in constant time.
        if signatures
            .iter()
            .any(|sig| mac.clone().verify_slice(sig).is_ok())
        {
            return Ok(());
        }
    }
    Err(SignatureError::Mismatch)
}

/// The header a sender with `secret` would put on `payload` at `timestamp` (for tests and tooling).
pub fn sign(payload: &[u8], secret: &str, timestamp: i64) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets(values: &[&str]) -> Vec<SecretString> {
        values
            .iter()
            .map(|s| SecretString::from(s.to_string()))
            .collect()
    }

    #[test]
    fn accepts_a_valid_signature_from_either_secret() {
        let body = br#"{"id":"evt_1"}"#;
        let header = sign(body, "old-secret", 1_000);
        assert_eq!(
            verify(
                body,
                Some(&header),
                &secrets(&["new-secret", "old-secret"]),
                1_100
            ),
            Ok(())
        );
        assert_eq!(
            verify(body, Some(&header), &secrets(&["new-secret"]), 1_100),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn any_of_several_v1_signatures_may_match() {
        let body = b"payload";
        let good = sign(body, "s", 50);
        let v1 = good.split("v1=").nth(1).unwrap();
        let header = format!("t=50,v1={},v1={v1},v0=ignored", "00".repeat(32));
        assert_eq!(verify(body, Some(&header), &secrets(&["s"]), 60), Ok(()));
    }

    #[test]
    fn extreme_timestamps_are_outside_the_tolerance_not_a_panic() {
        let secret = secrets(&["whsec_a"]);
        for t in [i64::MIN, i64::MAX, -1] {
            let header = format!("t={t},v1={}", "00".repeat(32));
            assert_eq!(
                verify(b"{}", Some(&header), &secret, 1_800_000_000),
                Err(SignatureError::OutsideTolerance),
                "t={t}"
            );
        }
        let header = format!("t=1,v1={}", "00".repeat(32));
        assert_eq!(
            verify(b"{}", Some(&header), &secret, i64::MIN),
            Err(SignatureError::OutsideTolerance)
        );
    }

    #[test]
    fn refuses_tampering_replays_and_malformed_headers() {
        let body = b"payload";
        let header = sign(body, "s", 1_000);
        let s = secrets(&["s"]);
        assert_eq!(
            verify(b"payload!", Some(&header), &s, 1_000),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(body, Some(&header), &s, 1_000 + 301),
            Err(SignatureError::OutsideTolerance)
        );
        assert_eq!(
            verify(body, Some(&header), &s, 1_000 - 301),
            Err(SignatureError::OutsideTolerance)
        );
        assert_eq!(verify(body, None, &s, 1_000), Err(SignatureError::Missing));
        assert_eq!(
            verify(body, Some("v1=abcd"), &s, 1_000),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify(body, Some("t=1000"), &s, 1_000),
            Err(SignatureError::Malformed)
        );
        let forged = header.replace("t=1000", "t=1001");
        assert_eq!(
            verify(body, Some(&forged), &s, 1_000),
            Err(SignatureError::Mismatch)
        );
    }
}
