//! ISO 8601 / RFC 3339 timestamps for events (`"2005-11-06T21:33:16.767049Z"`): UTC,
//! microseconds, the form Elasticsearch's `date` type, Filebeat and Vector parse without
//! a format string. Written without a date library: the civil date of a day count uses
//! the well-known days-to-civil conversion of the proleptic Gregorian calendar.

use crate::capture::Timestamp;

/// Year, month (1-12), day (1-31) of the `days`-th day after 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // day of era, 0..=146096
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // 0..=399
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // 0..=365, from March 1st
    let mp = (5 * doy + 2) / 153; // month from March, 0..=11
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// The UTC time `micros` microseconds after the Unix epoch.
pub fn iso8601_micros(micros: u64) -> String {
    iso8601_bytes(micros).iter().map(|&c| c as char).collect()
}

/// `iso8601_micros` as bytes on the stack, for the NDJSON writer.
pub fn iso8601_bytes(micros: u64) -> [u8; 27] {
    let secs = (micros / 1_000_000) as i64;
    let frac = micros % 1_000_000;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, mo, d) = civil_from_days(days);
    // Every event carries one: digits are placed by hand, which costs a fraction of
    // `format!`'s padding machinery.
    let mut b = *b"0000-00-00T00:00:00.000000Z";
    digits(&mut b[0..4], y as u64);
    digits(&mut b[5..7], u64::from(mo));
    digits(&mut b[8..10], u64::from(d));
    digits(&mut b[11..13], (rem / 3600) as u64);
    digits(&mut b[14..16], (rem % 3600 / 60) as u64);
    digits(&mut b[17..19], (rem % 60) as u64);
    digits(&mut b[20..26], frac);
    b
}

/// Writes `v` in decimal into `out`, right-aligned and zero-padded (the leading digits of
/// a value too wide for `out` are dropped; a year past 9999 is no packet time).
fn digits(out: &mut [u8], mut v: u64) {
    for slot in out.iter_mut().rev() {
        *slot = b'0' + (v % 10) as u8;
        v /= 10;
    }
}

/// A packet time, cut to whole microseconds (as the readable log shows it).
pub fn iso8601(ts: Timestamp) -> String {
    iso8601_micros(ts.0 / 1_000)
}

/// Seconds since the epoch as a float (the `stats` record's `ts`), to the nearest
/// microsecond.
pub fn iso8601_secs(secs: f64) -> String {
    iso8601_micros((secs.max(0.0) * 1e6).round() as u64)
}

#[cfg(test)]
mod tests;
