use super::*;
use std::net::{Ipv4Addr, TcpListener};

fn pair() -> (TcpStream, TcpStream) {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let a = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let (b, _) = l.accept().unwrap();
    prepare(&a, Duration::from_secs(5)).unwrap();
    prepare(&b, Duration::from_secs(5)).unwrap();
    (a, b)
}

/// A toy format: one length byte, then that many bytes.
fn parse_lv(buf: &[u8]) -> std::result::Result<(Vec<u8>, usize), ParseError> {
    let n = usize::from(buf[0]);
    if buf.len() < 1 + n {
        return Err(ParseError::Incomplete {
            needed: 1 + n - buf.len(),
        });
    }
    Ok((buf[1..1 + n].to_vec(), 1 + n))
}

#[test]
fn frame_reader_keeps_bytes_after_a_frame_for_raw_reads() {
    let (mut a, b) = pair();
    a.write_all(&[3, b'a', b'b', b'c', b'x', b'y']).unwrap();
    drop(a);
    let mut r = FrameReader::new(b);
    assert_eq!(r.read_frame(parse_lv).unwrap(), b"abc");
    let mut out = [0u8; 8];
    let mut got = Vec::new();
    loop {
        let n = r.read_raw(&mut out).unwrap();
        if n == 0 {
            break;
        }
        got.extend_from_slice(&out[..n]);
    }
    assert_eq!(got, b"xy");
}

#[test]
fn frame_reader_reports_close_inside_a_frame() {
    let (mut a, b) = pair();
    a.write_all(&[5, b'a']).unwrap();
    drop(a);
    let mut r = FrameReader::new(b);
    let e = r.read_frame(parse_lv).unwrap_err();
    assert!(e.0.contains("inside a frame"), "{e}");
}

#[test]
fn abort_makes_the_peer_see_a_reset() {
    let (a, mut b) = pair();
    abort(a);
    let mut buf = [0u8; 4];
    let e = b.read(&mut buf).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::ConnectionReset);
}
