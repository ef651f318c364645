use super::*;

fn parse(flags: &[&str]) -> Args {
    Args::try_parse_from(["oftsniff"].iter().chain(flags)).unwrap()
}

#[test]
fn nothing_to_read_is_one_line() {
    let err = parse(&["--json", "-"]).into_config().unwrap_err();
    assert_eq!(
        err,
        "oftsniff: nothing to read: give -i IFACE (live) or -r FILE (offline); see --help"
    );
}

#[test]
fn flags_become_typed_settings_once() {
    let cfg = parse(&["-i", "eth9", "--capture-threads", "99", "--max-flows", "0"])
        .into_config()
        .unwrap();
    let Input::Live(live) = &cfg.input else {
        panic!("live input expected: {:?}", cfg.input)
    };
    assert_eq!((live.interface.as_str(), live.threads), ("eth9", 64));
    assert!(live.options.fanout_group.is_some() && live.options.promisc);
    assert_eq!(cfg.limits.max_flows, 1, "clamped");
    assert_eq!(cfg.count, u64::MAX);
    assert!(cfg.outputs.human && !cfg.outputs.pcap());
    let cfg = parse(&["-r", "-", "-q", "-c", "7", "--workers", "0", "-w", "o.pcap"])
        .into_config()
        .unwrap();
    assert!(matches!(&cfg.input, Input::File(p) if p.as_os_str() == "-"));
    assert_eq!((cfg.count, cfg.workers), (7, 1));
    assert!(!cfg.outputs.human && cfg.outputs.pcap());
}

#[test]
fn compare_takes_two_file_and_transfer_pairs() {
    let cfg = parse(&["--compare", "a:b.pcap:T1", "c.pcap:t12"])
        .into_config()
        .unwrap();
    assert_eq!(
        cfg.compare,
        vec![
            TransferRef {
                file: "a:b.pcap".into(),
                transfer: crate::session::TransferId(1)
            },
            TransferRef {
                file: "c.pcap".into(),
                transfer: crate::session::TransferId(12)
            },
        ]
    );
    assert!(matches!(&cfg.input, Input::File(p) if p.as_os_str() == "a:b.pcap"));
    let err = parse(&["--compare", "a.pcap", "b.pcap:T1"])
        .into_config()
        .unwrap_err();
    assert!(err.contains("FILE:Tn"), "{err}");
    assert!(Args::try_parse_from(["oftsniff", "--compare", "a.pcap:T1"]).is_err());
}

#[test]
fn report_interval_needs_report() {
    assert!(Args::try_parse_from(["oftsniff", "-r", "x", "--report-interval", "5"]).is_err());
    let cfg = parse(&["-r", "x", "--report", "r.html"])
        .into_config()
        .unwrap();
    assert!(cfg.outputs.record() && cfg.outputs.ladders() && !cfg.outputs.explain);
}

#[test]
fn the_number_after_the_last_interface_is_any_as_in_tcpdump_d() {
    let n = crate::capture::interfaces::list_interfaces().len();
    assert_eq!(
        interface_by_number(&(n + 1).to_string()).as_deref(),
        Ok("any")
    );
    assert!(interface_by_number(&(n + 2).to_string()).is_err());
    assert_eq!(interface_by_number("1").as_deref().ok().is_some(), n >= 1);
}
