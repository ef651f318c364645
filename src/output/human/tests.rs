use super::*;

#[test]
fn time_of_day_is_utc_with_micros() {
    assert_eq!(time_of_day(1_129_814_412.000_123), "13:20:12.000123");
}

#[test]
fn rates_scale() {
    assert_eq!(rate(352.0), "352 bit/s");
    assert_eq!(rate(2_500_000.0), "2.50 Mbit/s");
}

#[test]
fn dates_are_utc_civil_dates() {
    assert_eq!(date_utc(0.0), "1970-01-01");
    assert_eq!(date_utc(1_131_312_785.802_073), "2005-11-06");
    // 2000-02-29, a leap day of a year divisible by 400.
    assert_eq!(date_utc(951_782_400.0), "2000-02-29");
    assert_eq!(date_utc(1_704_067_199.9), "2023-12-31");
}

#[test]
fn dated_time_shows_the_date_only_when_it_changes() {
    let mut last = None;
    assert_eq!(
        dated_time(1_704_067_199.5, &mut last),
        "2023-12-31 23:59:59.500000"
    );
    assert_eq!(dated_time(1_704_067_199.75, &mut last), "23:59:59.750000");
    assert_eq!(
        dated_time(1_704_067_200.0, &mut last),
        "2024-01-01 00:00:00.000000"
    );
}
