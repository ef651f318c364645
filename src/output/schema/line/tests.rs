use super::write;
use proptest::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;

fn ours<T: Serialize + ?Sized>(v: &T) -> String {
    let mut out = Vec::new();
    write(&mut out, v).unwrap();
    String::from_utf8(out).unwrap()
}

fn same_as_serde_json<T: Serialize + ?Sized>(v: &T) {
    assert_eq!(ours(v), serde_json::to_string(v).unwrap());
}

#[derive(Serialize)]
enum Shape {
    Unit,
    New(u8),
    Pair(u8, String),
    Named { a: Option<u8>, b: Vec<f64> },
}

#[derive(Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
enum Tagged {
    First { x: u64, s: &'static str },
}

#[derive(Serialize)]
struct Every {
    t: bool,
    f: bool,
    i: i64,
    u: u64,
    big: u128,
    neg: i128,
    small: f64,
    nan: f64,
    inf: f32,
    whole: f64,
    c: char,
    quote: char,
    none: Option<String>,
    some: Option<&'static str>,
    unit: (),
    tuple: (u8, &'static str, [u64; 2]),
    empty: Vec<u8>,
    shapes: Vec<Shape>,
    #[serde(rename = "renamed key")]
    renamed: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    skipped: Option<u8>,
    map: BTreeMap<&'static str, u8>,
    int_keys: BTreeMap<u32, bool>,
    tagged: Tagged,
}

#[test]
fn every_serde_shape_is_written_as_serde_json_writes_it() {
    let v = Every {
        t: true,
        f: false,
        i: i64::MIN,
        u: u64::MAX,
        big: u128::MAX,
        neg: i128::MIN,
        small: 1.704067201799999e9,
        nan: f64::NAN,
        inf: f32::INFINITY,
        whole: 3.0,
        c: 'é',
        quote: '"',
        none: None,
        some: Some("x"),
        unit: (),
        tuple: (7, "a\tb", [1, 2]),
        empty: Vec::new(),
        shapes: vec![
            Shape::Unit,
            Shape::New(1),
            Shape::Pair(2, "two".into()),
            Shape::Named {
                a: None,
                b: vec![0.5, -0.0, 1e300],
            },
        ],
        renamed: 9,
        skipped: None,
        map: [("k\"ey", 1), ("plain", 2)].into_iter().collect(),
        int_keys: [(1, true), (20, false)].into_iter().collect(),
        tagged: Tagged::First { x: 5, s: "y" },
    };
    same_as_serde_json(&v);
}

#[test]
fn a_string_needing_escapes_is_escaped_as_serde_json_escapes_it() {
    for s in [
        "",
        "plain name.txt",
        "quote \" and backslash \\",
        "ctl \u{0} \u{1f} \n \r \t end",
        "\u{7f} del and ünïcödé and 🦀",
    ] {
        same_as_serde_json(s);
    }
}

#[test]
fn a_map_key_that_is_no_string_or_number_is_refused_as_by_serde_json() {
    let m: BTreeMap<Option<u8>, u8> = [(None, 1)].into_iter().collect();
    assert!(serde_json::to_string(&m).is_err());
    assert!(write(&mut Vec::new(), &m).is_err());
}

proptest! {
    #[test]
    fn any_string_is_written_as_serde_json_writes_it(s in any::<String>()) {
        prop_assert_eq!(ours(&s), serde_json::to_string(&s).unwrap());
    }

    #[test]
    fn any_ascii_string_is_written_as_serde_json_writes_it(s in "[\\x00-\\x7f]{0,40}") {
        prop_assert_eq!(ours(&s), serde_json::to_string(&s).unwrap());
    }

    #[test]
    fn any_float_is_written_as_serde_json_writes_it(f in any::<f64>()) {
        prop_assert_eq!(ours(&f), serde_json::to_string(&f).unwrap());
    }
}
