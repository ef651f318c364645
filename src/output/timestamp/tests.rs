use super::*;

#[test]
fn gaim_done_frame_time() {
    // The DONE of the bundled 2005 Gaim capture: ts 1131312796.767049.
    assert_eq!(
        iso8601(Timestamp(1_131_312_796_767_049_000)),
        "2005-11-06T21:33:16.767049Z"
    );
    assert_eq!(
        iso8601_secs(1131312796.767049),
        "2005-11-06T21:33:16.767049Z"
    );
}

#[test]
fn epoch_leap_day_and_year_ends() {
    assert_eq!(iso8601_micros(0), "1970-01-01T00:00:00.000000Z");
    // 2000-02-29 00:00:00 UTC and 2024-12-31 23:59:59.999999 UTC.
    assert_eq!(
        iso8601_micros(951_782_400_000_000),
        "2000-02-29T00:00:00.000000Z"
    );
    assert_eq!(
        iso8601_micros(1_735_689_599_999_999),
        "2024-12-31T23:59:59.999999Z"
    );
    assert_eq!(
        iso8601_micros(1_735_689_600_000_000),
        "2025-01-01T00:00:00.000000Z"
    );
}

#[test]
fn nanoseconds_are_cut_not_rounded() {
    assert_eq!(
        iso8601(Timestamp(1_999_999_999)),
        "1970-01-01T00:00:01.999999Z"
    );
}
