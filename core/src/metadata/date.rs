//! Calendar dates (`YYYY-MM-DD`, ISO 8601 as MDS3 writes them).

use crate::time::UnixTime;

/// A date in the proleptic Gregorian calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    /// Days since 1970-01-01.
    days: i64,
}

/// A date that is not `YYYY-MM-DD`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a date (YYYY-MM-DD)")]
pub struct DateError(pub String);

impl Date {
    /// Parses `YYYY-MM-DD` (surrounding whitespace allowed).
    pub fn parse(text: &str) -> Result<Self, DateError> {
        let bad = || DateError(text.chars().take(40).collect());
        let mut parts = text.trim().split('-');
        let mut num = |digits: usize| -> Option<i64> {
            let p = parts.next()?;
            if p.len() != digits || !p.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            p.parse().ok()
        };
        let (y, m, d) = (
            num(4).ok_or_else(bad)?,
            num(2).ok_or_else(bad)?,
            num(2).ok_or_else(bad)?,
        );
        if parts.next().is_some() {
            return Err(bad());
        }
        let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        let month_len = match m {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return Err(bad()),
        };
        if d < 1 || d > month_len {
            return Err(bad());
        }
        Ok(Self {
            days: days_from_civil(y, m, d),
        })
    }

    /// The start of the day (00:00:00 UTC).
    pub fn start(self) -> UnixTime {
        UnixTime::from_secs(self.days * 86_400)
    }

    /// The end of the day (the last second, 23:59:59 UTC).
    pub fn end(self) -> UnixTime {
        UnixTime::from_secs(self.days * 86_400 + 86_399)
    }

    /// `YYYY-MM-DD`.
    pub fn to_iso(self) -> String {
        let (y, m, d) = civil_from_days(self.days);
        format!("{y:04}-{m:02}-{d:02}")
    }
}

impl std::fmt::Display for Date {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_iso())
    }
}

// Howard Hinnant's civil-date algorithms.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_and_bad_ones_are_named() {
        let d = Date::parse("2023-11-08").unwrap();
        assert_eq!(d.start(), UnixTime::from_secs(1_699_401_600));
        assert_eq!(d.end().as_secs() - d.start().as_secs(), 86_399);
        assert_eq!(d.to_iso(), "2023-11-08");
        assert_eq!(Date::parse("1970-01-01").unwrap().start().as_secs(), 0);
        assert_eq!(Date::parse("2024-02-29").unwrap().to_iso(), "2024-02-29");
        assert!(Date::parse(" 2016-06-23 ").is_ok());
        for bad in [
            "2023-02-29",
            "2023-13-01",
            "2023-00-10",
            "2023-1-01",
            "20231108",
            "2023-11-08T00:00:00Z",
            "２023-11-08",
            "",
        ] {
            assert!(Date::parse(bad).is_err(), "{bad}");
        }
        assert!(Date::parse("2023-11-08").unwrap() < Date::parse("2023-11-09").unwrap());
    }
}
