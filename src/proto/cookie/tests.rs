use super::*;

#[test]
fn cookie_displays_as_lowercase_hex_and_parses_back() {
    // The 2005 Gaim capture's cookie "1046502\0" (docs/PROTOCOL.md §1.4).
    let c = Cookie(*b"1046502\0");
    assert_eq!(c.to_string(), "3130343635303200");
    assert_eq!("3130343635303200".parse::<Cookie>(), Ok(c));
    assert!("31303436353032".parse::<Cookie>().is_err());
    assert!("zz30343635303200".parse::<Cookie>().is_err());
}

#[test]
fn zero_cookie_is_zero() {
    assert!(Cookie::ZERO.is_zero());
    assert!(!Cookie([0, 0, 0, 0, 0, 0, 0, 1]).is_zero());
}

#[test]
fn capabilities_display_as_the_spec_uuids() {
    // UUIDs from docs/PROTOCOL.md §5.4.
    assert_eq!(
        Capability::SEND_FILE.to_string(),
        "09461343-4C7F-11D1-8222-444553540000"
    );
    assert_eq!(
        Capability::DIRECT_IM.to_string(),
        "09461345-4C7F-11D1-8222-444553540000"
    );
    assert_eq!(Capability::GET_FILE.name(), Some("get-file"));
    assert_eq!(Capability([0; 16]).name(), None);
}
