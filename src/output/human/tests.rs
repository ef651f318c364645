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
