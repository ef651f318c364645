use super::*;

#[test]
fn loopback_is_listed_up_with_its_address() {
    let list = list_interfaces();
    let lo = list
        .iter()
        .find(|i| i.name == "lo")
        .expect("every namespace has lo");
    assert!(lo.loopback);
    if lo.up {
        assert!(lo.addrs.iter().any(|a| a == "127.0.0.1/8"), "{lo}");
    }
    assert!(
        list.windows(2).all(|w| w[0].index < w[1].index),
        "sorted by index"
    );
}

#[test]
fn a_line_shows_name_flags_and_addresses() {
    let i = InterfaceInfo {
        index: 3,
        name: "veth0".into(),
        up: true,
        running: false,
        loopback: false,
        mac: Some("02:00:00:00:00:01".into()),
        addrs: vec!["198.18.0.1/24".into()],
    };
    assert_eq!(i.to_string(), "veth0 [Up] 02:00:00:00:00:01 198.18.0.1/24");
}
