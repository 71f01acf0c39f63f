//! Times. The database holds UTC (naive timestamps, as Prisma wrote them); customers read French time
//! (Europe/Paris, with its summer time), and the API writes every timestamp with its offset (`…Z`).

use chrono::{DateTime, NaiveDateTime, SecondsFormat};
use chrono_tz::{Europe::Paris, Tz};

/// A stored UTC time as the shop's customers read it.
pub fn in_paris(utc: NaiveDateTime) -> DateTime<Tz> {
    utc.and_utc().with_timezone(&Paris)
}

/// RFC 3339 with milliseconds and the `Z` offset: `2026-11-30T23:04:09.123Z`.
pub fn rfc3339_utc(utc: NaiveDateTime) -> String {
    utc.and_utc().to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// `#[serde(serialize_with = "…")]` for a stored UTC time.
pub fn serialize_utc<S: serde::Serializer>(t: &NaiveDateTime, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&rfc3339_utc(*t))
}

/// The same for an optional time.
pub fn serialize_utc_opt<S: serde::Serializer>(
    t: &Option<NaiveDateTime>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&rfc3339_utc(*t)),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Timelike;

    fn utc(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    #[test]
    fn paris_follows_winter_and_summer_time() {
        // Winter: UTC+1. 23:30 UTC on 30 November is 00:30 on 1 December in Paris.
        let winter = in_paris(utc("2026-11-30 23:30"));
        assert_eq!(
            winter.format("%Y-%m-%d %H:%M %z").to_string(),
            "2026-12-01 00:30 +0100"
        );
        // Summer: UTC+2.
        assert_eq!(in_paris(utc("2026-07-14 10:00")).hour(), 12);
        // The change: 01:00 UTC on the last Sunday of March (29 March 2026).
        assert_eq!(in_paris(utc("2026-03-29 00:59")).hour(), 1);
        assert_eq!(in_paris(utc("2026-03-29 01:00")).hour(), 3);
    }

    #[test]
    fn api_timestamps_carry_their_offset() {
        assert_eq!(
            rfc3339_utc(utc("2026-11-30 23:04")),
            "2026-11-30T23:04:00.000Z"
        );
    }
}
