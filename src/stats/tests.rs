use super::*;

/// Every counter set to a value of its own.
fn distinct() -> Counters {
    let mut c = Counters::default();
    for (i, f) in c.fields_mut().into_iter().enumerate() {
        *f = 1001 + i as u64;
    }
    c
}

#[test]
fn every_counter_is_said_on_stderr_when_not_zero() {
    let c = distinct();
    let text = c.lines().join("\n");
    for counter in c.iter() {
        let n = counter.value.to_string();
        assert!(
            text.split(|ch: char| !ch.is_ascii_digit()).any(|w| w == n),
            "{} ({n}) is not printed:\n{text}",
            counter.name
        );
    }
    for name in ALWAYS.iter().chain(GROUPED) {
        assert!(Counters::NAMES.contains(name), "{name} is not a counter");
    }
}

#[test]
fn a_quiet_run_prints_only_the_usual_lines() {
    let lines = Counters::default().lines();
    assert_eq!(
        lines,
        [
            "0 frames captured",
            "0 frames dropped by kernel",
            "0 frames dropped by oftsniff (queues full)",
            "0 non-TCP frames skipped",
            "0 flows seen, 0 evicted, 0 timed out",
            "0 reassembly gaps (0 bytes), 0 overlaps with differing bytes",
            "0 frames truncated by snaplen",
        ]
    );
}

#[test]
fn add_sums_every_counter_and_iter_names_them_in_order() {
    let mut a = distinct();
    a.add(&distinct());
    let names: Vec<&str> = a.iter().map(|c| c.name).collect();
    assert_eq!(names, Counters::NAMES);
    for (i, c) in a.iter().enumerate() {
        assert_eq!(c.value, 2 * (1001 + i as u64), "{}", c.name);
    }
    let json = serde_json::to_value(a).unwrap();
    assert_eq!(json.as_object().unwrap().len(), Counters::NAMES.len());
}
