use super::*;
use crate::cli::Args;
use crate::output::pcap_out::PcapOutStats;
use clap::Parser;

fn config(flags: &[&str]) -> Config {
    let args = Args::try_parse_from(["oftsniff"].iter().chain(flags)).unwrap();
    args.into_config().unwrap()
}

#[test]
fn default_flags_give_the_default_session_options() {
    let cfg = config(&["-r", "x.pcap", "-v"]);
    assert_eq!(
        format!("{:?}", session_options(&cfg)),
        format!("{:?}", SessionOptions::default())
    );
    let cfg = config(&["-r", "x.pcap", "--max-held-frames", "3", "--explain"]);
    let opts = session_options(&cfg);
    assert_eq!((opts.max_held_frames, opts.explain), (3, true));
    assert!(!opts.flow_records, "no flow records where nobody sees them");
}

#[test]
fn the_stats_event_has_every_counter_and_pcap_where_it_always_was() {
    let mut want = vec!["event", "ts", "timestamp"];
    for name in Counters::NAMES {
        want.push(name);
        if *name == "reports_forced" {
            want.push("pcap");
        }
    }
    for pcap in [None, Some(PcapOutStats::default())] {
        let stats = StatsRecord {
            pcap,
            ..StatsRecord::default()
        };
        let mut line = Vec::new();
        crate::output::schema::write_stats(&mut line, &stats).unwrap();
        let text = String::from_utf8(line).unwrap().trim_end().to_string();
        // Top-level keys in order: every `"key":` outside the nested `pcap` object.
        let top = match text.find("\"pcap\":{") {
            Some(at) => {
                let end = at + text[at..].find('}').unwrap();
                format!("{}{}", &text[..at + 7], &text[end..])
            }
            None => text.clone(),
        };
        let keys: Vec<&str> = top
            .split('"')
            .collect::<Vec<_>>()
            .windows(2)
            .filter(|w| w[1].starts_with(':'))
            .map(|w| w[0])
            .collect();
        assert_eq!(keys, want, "{text}");
    }
}
