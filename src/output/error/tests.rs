use super::*;

#[test]
fn write_error_is_one_line_without_os_error_code() {
    let e = OutputError::write(
        Path::new("out.pcap"),
        io::Error::from_raw_os_error(libc::EACCES),
    );
    assert_eq!(e.to_string(), "cannot write out.pcap: Permission denied");
}
