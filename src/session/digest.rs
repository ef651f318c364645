//! The digest of each file's bytes on the wire (`--hash`): SHA-256 by default, MD5 for
//! hash sets keyed by it, or none when only the transfer matters and the hash would be
//! most of a big transfer's cost.

use super::event::{Md5Digest, Sha256Digest};
use md5::Md5;
use sha2::{Digest, Sha256};

/// Which digest files get (`--hash`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum HashAlg {
    #[default]
    Sha256,
    Md5,
    None,
}

/// A file's digest so far.
#[derive(Clone)]
pub enum FileHasher {
    Sha256(Sha256),
    Md5(Md5),
    None,
}

/// A finished digest, in the field its algorithm names.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Digests {
    pub sha256: Option<Sha256Digest>,
    pub md5: Option<Md5Digest>,
}

impl FileHasher {
    pub fn new(alg: HashAlg) -> FileHasher {
        match alg {
            HashAlg::Sha256 => FileHasher::Sha256(Sha256::new()),
            HashAlg::Md5 => FileHasher::Md5(Md5::new()),
            HashAlg::None => FileHasher::None,
        }
    }

    pub fn update(&mut self, bytes: &[u8]) {
        match self {
            FileHasher::Sha256(h) => h.update(bytes),
            FileHasher::Md5(h) => h.update(bytes),
            FileHasher::None => {}
        }
    }

    pub fn finish(self) -> Digests {
        match self {
            FileHasher::Sha256(h) => Digests {
                sha256: Some(Sha256Digest(h.finalize().into())),
                md5: None,
            },
            FileHasher::Md5(h) => Digests {
                sha256: None,
                md5: Some(Md5Digest(h.finalize().into())),
            },
            FileHasher::None => Digests::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn each_choice_fills_its_own_field_only() {
        // RFC 1321 and FIPS 180-2 test vectors for "abc".
        let run = |alg| {
            let mut h = FileHasher::new(alg);
            h.update(b"a");
            h.update(b"bc");
            h.finish()
        };
        let s = run(HashAlg::Sha256);
        assert_eq!(
            hex(&s.sha256.unwrap().0),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(s.md5, None);
        let m = run(HashAlg::Md5);
        assert_eq!(hex(&m.md5.unwrap().0), "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(m.sha256, None);
        assert_eq!(run(HashAlg::None), Digests::default());
    }
}
