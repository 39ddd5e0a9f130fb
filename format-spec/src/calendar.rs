//! Calendar arithmetic and the strict text forms of dates, times and timestamps used by
//! literals and statistics (proleptic Gregorian, UTC; SPEC §4.5).

use crate::datum::MICROS_PER_DAY;

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Proleptic Gregorian (year, month, day) of days since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ => {
            if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 {
                29
            } else {
                28
            }
        }
    }
}

fn fixed_digits(s: &str, n: usize) -> Option<u32> {
    if s.len() == n && s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse().ok()
    } else {
        None
    }
}

/// Splits a leading date `[+-]YYYY-MM-DD` off `s`; returns (days, rest).
fn split_date(s: &str) -> std::result::Result<(i64, &str), String> {
    let bad = || format!("`{s}` is not a date of the form YYYY-MM-DD");
    let (sign, body) = match s.as_bytes().first() {
        Some(b'+') => (1, &s[1..]),
        Some(b'-') => (-1, &s[1..]),
        _ => (1, s),
    };
    let year_len = body.bytes().take_while(u8::is_ascii_digit).count();
    if !(4..=9).contains(&year_len) || (sign == 1 && !s.starts_with('+') && year_len != 4) {
        return Err(bad());
    }
    let year: i64 = body[..year_len].parse().map_err(|_| bad())?;
    let rest = &body[year_len..];
    let rest = rest.strip_prefix('-').ok_or_else(bad)?;
    let month = rest
        .get(..2)
        .and_then(|m| fixed_digits(m, 2))
        .ok_or_else(bad)?;
    let rest = rest[2..].strip_prefix('-').ok_or_else(bad)?;
    let day = rest
        .get(..2)
        .and_then(|d| fixed_digits(d, 2))
        .ok_or_else(bad)?;
    let year = sign * year;
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return Err(format!("`{s}` is not a valid calendar date"));
    }
    Ok((days_from_civil(year, month, day), &rest[2..]))
}

/// Parses `YYYY-MM-DD` into days since 1970-01-01.
pub fn parse_date(s: &str) -> std::result::Result<i32, String> {
    let (days, rest) = split_date(s)?;
    if !rest.is_empty() {
        return Err(format!("`{s}` is not a date of the form YYYY-MM-DD"));
    }
    i32::try_from(days).map_err(|_| format!("`{s}` is out of the date range"))
}

/// Parses `HH:MM[:SS[.ffffff]]` into microseconds since midnight.
pub fn parse_time(s: &str) -> std::result::Result<i64, String> {
    let bad = || format!("`{s}` is not a time of the form HH:MM:SS[.ffffff]");
    let hh = s
        .get(..2)
        .and_then(|h| fixed_digits(h, 2))
        .ok_or_else(bad)?;
    let rest = s[2..].strip_prefix(':').ok_or_else(bad)?;
    let mm = rest
        .get(..2)
        .and_then(|m| fixed_digits(m, 2))
        .ok_or_else(bad)?;
    let rest = &rest[2..];
    let (ss, frac) = if let Some(r) = rest.strip_prefix(':') {
        let ss = r
            .get(..2)
            .and_then(|x| fixed_digits(x, 2))
            .ok_or_else(bad)?;
        let r = &r[2..];
        let frac = match r.strip_prefix('.') {
            Some(f) => {
                if f.is_empty() || f.len() > 6 || !f.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(format!(
                        "`{s}`: fractional seconds need 1 to 6 digits (microseconds)"
                    ));
                }
                f.parse::<u32>().map_err(|_| bad())? * 10u32.pow(6 - f.len() as u32)
            }
            None if r.is_empty() => 0,
            None => return Err(bad()),
        };
        (ss, frac)
    } else if rest.is_empty() {
        (0, 0)
    } else {
        return Err(bad());
    };
    if hh > 23 || mm > 59 || ss > 59 {
        return Err(format!("`{s}` is not a valid time of day"));
    }
    Ok((i64::from(hh) * 3600 + i64::from(mm) * 60 + i64::from(ss)) * 1_000_000 + i64::from(frac))
}

/// Parses `date[(T| )time][offset]` into (microseconds since the epoch in UTC, offset in
/// seconds if one was given). A date alone is midnight. The offset is `Z`, `±HH`, `±HHMM` or
/// `±HH:MM`, optionally after a space.
pub fn parse_timestamp(s: &str) -> std::result::Result<(i64, Option<i32>), String> {
    let (days, rest) = split_date(s)?;
    let (time_us, offset) = if rest.is_empty() {
        (0, None)
    } else {
        let rest = rest
            .strip_prefix(['T', 't', ' '])
            .ok_or_else(|| format!("`{s}`: expected `T` or a space between date and time"))?;
        // The time ends where the offset begins.
        let end = rest.find(['Z', 'z', '+', '-', ' ']).unwrap_or(rest.len());
        let time = parse_time(&rest[..end]).map_err(|e| format!("`{s}`: {e}"))?;
        let off = rest[end..].trim_start_matches(' ');
        let offset = if off.is_empty() {
            None
        } else {
            Some(parse_offset(off).ok_or_else(|| {
                format!("`{s}`: the time zone offset must be Z, ±HH, ±HHMM or ±HH:MM")
            })?)
        };
        (time, offset)
    };
    let us = i128::from(days) * i128::from(MICROS_PER_DAY) + i128::from(time_us)
        - i128::from(offset.unwrap_or(0)) * 1_000_000;
    let us = i64::try_from(us).map_err(|_| format!("`{s}` is out of the timestamp range"))?;
    Ok((us, offset))
}

fn parse_offset(s: &str) -> Option<i32> {
    if s == "Z" || s == "z" {
        return Some(0);
    }
    let sign = match s.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let body = &s[1..];
    let (h, m) = match body.len() {
        2 => (body, "00"),
        4 => (&body[..2], &body[2..]),
        5 if &body[2..3] == ":" => (&body[..2], &body[3..]),
        _ => return None,
    };
    let (h, m) = (fixed_digits(h, 2)?, fixed_digits(m, 2)?);
    if h > 23 || m > 59 {
        return None;
    }
    Some(sign * (h * 3600 + m * 60) as i32)
}

/// `YYYY-MM-DD` of days since 1970-01-01 (years outside 0000–9999 get a sign).
pub fn format_date(days: i32) -> String {
    format_days(i64::from(days))
}

fn format_days(days: i64) -> String {
    let (y, m, d) = civil_from_days(days);
    if (0..=9999).contains(&y) {
        format!("{y:04}-{m:02}-{d:02}")
    } else if y < 0 {
        format!("-{:04}-{m:02}-{d:02}", -y)
    } else {
        format!("+{y:04}-{m:02}-{d:02}")
    }
}

/// `HH:MM:SS[.ffffff]` of microseconds since midnight.
pub fn format_time(us: i64) -> String {
    let secs = us.div_euclid(1_000_000);
    let frac = us.rem_euclid(1_000_000);
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if frac == 0 {
        format!("{h:02}:{m:02}:{s:02}")
    } else {
        format!("{h:02}:{m:02}:{s:02}.{frac:06}")
    }
}

/// `YYYY-MM-DD HH:MM:SS[.ffffff]` of microseconds since the epoch.
pub fn format_timestamp(us: i64) -> String {
    let days = us.div_euclid(MICROS_PER_DAY);
    let tod = us.rem_euclid(MICROS_PER_DAY);
    format!("{} {}", format_days(days), format_time(tod))
}

/// The age a relative time names, in milliseconds: `2h ago`, `30 m ago`, `1d ago` (units s, m,
/// h, d, w and their long forms). `None` when `text` is not of that form.
pub fn parse_relative_age_ms(text: &str) -> Option<i64> {
    let rel = text.trim().strip_suffix("ago")?.trim();
    let split = rel.find(|c: char| !c.is_ascii_digit()).unwrap_or(rel.len());
    let (num, unit) = rel.split_at(split);
    let n: i64 = num.parse().ok()?;
    let unit_ms: i64 = match unit.trim() {
        "s" | "sec" | "secs" | "second" | "seconds" => 1_000,
        "m" | "min" | "mins" | "minute" | "minutes" => 60_000,
        "h" | "hour" | "hours" => 3_600_000,
        "d" | "day" | "days" => 86_400_000,
        "w" | "week" | "weeks" => 7 * 86_400_000,
        _ => return None,
    };
    n.checked_mul(unit_ms)
}

#[cfg(test)]
mod relative_tests {
    use super::parse_relative_age_ms;

    #[test]
    fn relative_ages_parse_with_every_unit_spelling() {
        assert_eq!(parse_relative_age_ms("2h ago"), Some(7_200_000));
        assert_eq!(parse_relative_age_ms(" 30 m ago "), Some(1_800_000));
        assert_eq!(parse_relative_age_ms("1 week ago"), Some(604_800_000));
        assert_eq!(parse_relative_age_ms("2 fortnights ago"), None);
        assert_eq!(parse_relative_age_ms("h ago"), None);
        assert_eq!(parse_relative_age_ms("2h"), None);
    }
}
