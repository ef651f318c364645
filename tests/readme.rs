//! README stays true: the readable log it shows for the bundled capture is what oftsniff
//! prints for it, line for line.

mod common;

#[test]
fn readme_example_log_is_the_real_output() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let shown: Vec<&str> = readme.lines().filter(|l| l.starts_with("21:33:")).collect();
    assert!(shown.len() >= 10, "README shows the Gaim transfer's log");
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/gaim-sendfile-2005.pcap"
    );
    let out = common::oftsniff().args(["-r", path]).output().unwrap();
    assert!(out.status.success());
    let printed = String::from_utf8(out.stdout).unwrap();
    let printed: Vec<&str> = printed.lines().collect();
    assert_eq!(shown, printed);
}
