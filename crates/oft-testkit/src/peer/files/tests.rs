use super::*;
use oftsniff::proto::NameEncoding;

/// A scratch directory removed when the test ends.
struct TmpDir(PathBuf);

impl std::ops::Deref for TmpDir {
    type Target = PathBuf;
    fn deref(&self) -> &PathBuf {
        &self.0
    }
}

impl Drop for TmpDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn tmpdir(tag: &str) -> TmpDir {
    let d = std::env::temp_dir().join(format!("oftpeer-files-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    TmpDir(d)
}

#[test]
fn single_file_is_offered_under_its_own_name_with_its_checksum() {
    let d = tmpdir("single");
    let f = d.join("hello.txt");
    std::fs::write(&f, b"hello").unwrap();
    let offer = plan(&[f], None, false).unwrap();
    assert!(!offer.multiple);
    assert_eq!(offer.service_name, "hello.txt");
    assert_eq!(offer.files[0].size, 5);
    // §2.4 test vector for b"hello".
    assert_eq!(offer.files[0].checksum, 0xBC2D_0000);
    assert_eq!(offer.total_size, 5);
}

#[test]
fn folder_names_join_components_with_0x01() {
    let d = tmpdir("folder");
    let a = d.join("a.bin");
    let b = d.join("b.bin");
    std::fs::write(&a, [1u8; 3]).unwrap();
    std::fs::write(&b, [2u8; 4]).unwrap();
    let offer = plan(&[a, b], Some("trip"), false).unwrap();
    assert!(offer.multiple);
    assert_eq!(offer.service_name, "trip");
    assert_eq!(offer.files[0].name.raw, b"trip\x01a.bin");
    assert_eq!(offer.files[1].name.display(), "trip/b.bin");
    assert_eq!(offer.total_size, 7);
}

#[test]
fn a_directory_argument_is_walked_under_its_name() {
    let d = tmpdir("walk");
    let top = d.join("pics");
    std::fs::create_dir_all(top.join("day1")).unwrap();
    std::fs::write(top.join("day1/x.jpg"), b"x").unwrap();
    std::fs::write(top.join("readme"), b"r").unwrap();
    let offer = plan(&[top], None, false).unwrap();
    let names: Vec<String> = offer.files.iter().map(|f| f.name.display()).collect();
    assert_eq!(names, ["pics/day1/x.jpg", "pics/readme"]);
    assert!(offer.multiple);
}

#[test]
fn utf16_names_use_encoding_2() {
    let d = tmpdir("utf16");
    let f = d.join("résumé.txt");
    std::fs::write(&f, b"").unwrap();
    let offer = plan(&[f], None, true).unwrap();
    assert_eq!(offer.files[0].name.encoding, NameEncoding::Utf16Be);
    assert_eq!(offer.files[0].name.decoded(), "résumé.txt");
    assert_eq!(offer.files[0].checksum, 0xFFFF_0000);
}

#[test]
fn local_path_maps_folders_and_refuses_escapes() {
    let out = Path::new("/tmp/out");
    let ok = FileName::utf8("trip\u{1}day1\u{1}a.jpg");
    assert_eq!(
        local_path(out, &ok).unwrap(),
        Path::new("/tmp/out/trip/day1/a.jpg")
    );
    for bad in [
        "..\u{1}x",
        "a\u{1}\u{1}b",
        "/etc/passwd",
        "a/../../b",
        ".",
        "",
    ] {
        assert!(local_path(out, &FileName::utf8(bad)).is_err(), "{bad:?}");
    }
}
