use super::*;

#[test]
fn sign_on_round_trips_through_the_flap_parser() {
    let bytes = sign_on(7, "alice2005");
    let (f, used) = parse_owned_flap(&bytes).unwrap();
    assert_eq!(used, bytes.len());
    assert_eq!(f.channel, channel::NEW_CONNECTION);
    assert_eq!(f.seq, 7);
    assert_eq!(parse_sign_on(&f.data).as_deref(), Some("alice2005"));
}

#[test]
fn hello_is_not_a_sign_on() {
    let (f, _) = parse_owned_flap(&hello(1)).unwrap();
    assert_eq!(f.data, [0, 0, 0, 1]);
    assert_eq!(parse_sign_on(&f.data), None);
}

#[test]
fn truncated_sign_on_is_refused() {
    assert_eq!(parse_sign_on(&[0, 0, 0, 1, 0, 1, 0, 9, b'a']), None);
}

#[test]
fn screen_names_match_without_case_or_spaces() {
    assert_eq!(normalize("Alice 2005"), normalize("alice2005"));
}
