//! Dates as French pages write them, in Paris time.

pub(super) const MONTHS: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];

/// The French name of a month, from 0 (janvier).
pub(super) fn month_fr(month0: u32) -> &'static str {
    MONTHS.get(month0 as usize).copied().unwrap_or("")
}

/// `1 décembre 2026`: the day in Paris of a stored UTC time.
pub fn french_date(utc: chrono::NaiveDateTime) -> String {
    use chrono::Datelike;
    let t = crate::domain::time::in_paris(utc);
    format!("{} {} {}", t.day(), month_fr(t.month0()), t.year())
}

/// `janvier 2024`, in Paris.
pub fn french_month_year(utc: chrono::NaiveDateTime) -> String {
    use chrono::Datelike;
    let t = crate::domain::time::in_paris(utc);
    format!("{} {}", month_fr(t.month0()), t.year())
}
