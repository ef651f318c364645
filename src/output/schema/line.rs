//! A serde `Serializer` writing compact JSON into a byte buffer, the same bytes as
//! `serde_json::to_writer`, cheaper on the records' shape: field names are the schema's
//! own `&'static str` ASCII, written without an escape scan, and a string is scanned
//! once and copied whole unless a byte needs escaping (then serde_json escapes it).
//! Numbers, and the strings that need escaping, go through serde_json itself, so their
//! text is serde_json's by construction. On many short transfers, serde_json's per-key
//! escaping and the many small writes it makes were a fifth of the whole run.

use serde::ser::{self, Error as _, Serialize};
use serde_json::Error;

/// Appends `v` as one compact JSON value to `out`.
pub fn write<T: Serialize + ?Sized>(out: &mut Vec<u8>, v: &T) -> Result<(), Error> {
    // Room for a whole record at once: pushes then never grow the buffer midway.
    out.reserve(1024);
    v.serialize(&mut Line { out })
}

pub struct Line<'a> {
    out: &'a mut Vec<u8>,
}

/// Whether `s` holds a byte serde_json writes escaped: a control, the quote or the
/// backslash. Eight bytes at a time: a record's strings are mostly short ASCII, and a
/// byte-by-byte scan cost as much as serde_json's own escaping.
fn needs_escape(s: &str) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // Exact "has a byte below n" test for n <= 128 (a zero byte is one below 1).
    let below = |x: u64, n: u8| x.wrapping_sub(ONES * u64::from(n)) & !x & HIGH != 0;
    let special =
        |x: u64| below(x, 0x20) || below(x ^ (ONES * 0x22), 1) || below(x ^ (ONES * 0x5c), 1);
    let mut words = s.as_bytes().chunks_exact(8);
    for w in &mut words {
        let mut b = [0; 8];
        b.copy_from_slice(w);
        if special(u64::from_le_bytes(b)) {
            return true;
        }
    }
    words
        .remainder()
        .iter()
        .any(|&b| b < 0x20 || b == b'"' || b == b'\\')
}

impl Line<'_> {
    fn number<T: Serialize>(&mut self, v: T) -> Result<(), Error> {
        serde_json::to_writer(&mut *self.out, &v)
    }

    fn string(&mut self, s: &str) -> Result<(), Error> {
        if needs_escape(s) {
            return serde_json::to_writer(&mut *self.out, s);
        }
        self.out.push(b'"');
        self.out.extend_from_slice(s.as_bytes());
        self.out.push(b'"');
        Ok(())
    }

    /// A field name of a struct: static text of the schema's own, never escaped
    /// (debug builds, the tests', check that none needs it).
    fn key(&mut self, first: bool, key: &'static str) {
        debug_assert!(!needs_escape(key), "field name {key:?} needs escaping");
        // `,"` and `":` as fixed-size copies around the name's.
        if first {
            self.out.push(b'"');
        } else {
            self.out.extend_from_slice(b",\"");
        }
        self.out.extend_from_slice(key.as_bytes());
        self.out.extend_from_slice(b"\":");
    }

    fn open(&mut self, b: u8) -> Compound<'_, Self> {
        self.out.push(b);
        Compound {
            line: self,
            first: true,
            close: 0,
        }
    }

    /// `{"variant":` before an enum variant's content; `close` ends both.
    fn variant(&mut self, variant: &'static str, b: u8) -> Result<Compound<'_, Self>, Error> {
        self.out.push(b'{');
        self.key(true, variant);
        let mut c = self.open(b);
        c.close = b'}';
        Ok(c)
    }
}

/// A sequence, tuple, map or struct being written.
pub struct Compound<'b, L> {
    line: &'b mut L,
    first: bool,
    /// A second closing byte, after an enum variant's content.
    close: u8,
}

impl<'a, 'b> Compound<'b, Line<'a>> {
    fn element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Error> {
        if !self.first {
            self.line.out.push(b',');
        }
        self.first = false;
        v.serialize(&mut *self.line)
    }

    fn end_with(self, b: u8) -> Result<(), Error> {
        self.line.out.push(b);
        if self.close != 0 {
            self.line.out.push(self.close);
        }
        Ok(())
    }

    fn field<T: Serialize + ?Sized>(&mut self, key: &'static str, v: &T) -> Result<(), Error> {
        self.line.key(self.first, key);
        self.first = false;
        v.serialize(&mut *self.line)
    }
}

macro_rules! numbers {
    ($($f:ident: $t:ty),*) => {$(
        fn $f(self, v: $t) -> Result<(), Error> {
            self.number(v)
        }
    )*};
}

impl<'a, 'b> ser::Serializer for &'b mut Line<'a> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Compound<'b, Line<'a>>;
    type SerializeTuple = Compound<'b, Line<'a>>;
    type SerializeTupleStruct = Compound<'b, Line<'a>>;
    type SerializeTupleVariant = Compound<'b, Line<'a>>;
    type SerializeMap = Compound<'b, Line<'a>>;
    type SerializeStruct = Compound<'b, Line<'a>>;
    type SerializeStructVariant = Compound<'b, Line<'a>>;

    numbers!(serialize_i8: i8, serialize_i16: i16, serialize_i32: i32, serialize_i64: i64,
        serialize_i128: i128, serialize_u8: u8, serialize_u16: u16, serialize_u32: u32,
        serialize_u64: u64, serialize_u128: u128, serialize_f32: f32, serialize_f64: f64);

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        let text: &[u8] = if v { b"true" } else { b"false" };
        self.out.extend_from_slice(text);
        Ok(())
    }

    fn serialize_char(self, v: char) -> Result<(), Error> {
        self.string(v.encode_utf8(&mut [0; 4]))
    }

    fn serialize_str(self, v: &str) -> Result<(), Error> {
        self.string(v)
    }

    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        use ser::SerializeSeq;
        let mut s = self.serialize_seq(Some(v.len()))?;
        for b in v {
            s.serialize_element(b)?;
        }
        s.end()
    }

    fn serialize_none(self) -> Result<(), Error> {
        self.serialize_unit()
    }

    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<(), Error> {
        v.serialize(self)
    }

    fn serialize_unit(self) -> Result<(), Error> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }

    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Error> {
        self.serialize_unit()
    }

    fn serialize_unit_variant(self, _: &'static str, _: u32, v: &'static str) -> Result<(), Error> {
        self.string(v)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        v: &T,
    ) -> Result<(), Error> {
        v.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        v: &T,
    ) -> Result<(), Error> {
        self.out.push(b'{');
        self.key(true, variant);
        v.serialize(&mut *self)?;
        self.out.push(b'}');
        Ok(())
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Ok(self.open(b'['))
    }

    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Error> {
        Ok(self.open(b'['))
    }

    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Error> {
        Ok(self.open(b'['))
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        self.variant(variant, b'[')
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Ok(self.open(b'{'))
    }

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, Error> {
        Ok(self.open(b'{'))
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        self.variant(variant, b'{')
    }
}

/// The four array-like shapes: each element after a comma, then the closing bracket.
macro_rules! array_like {
    ($($trait:ident :: $method:ident),*) => {$(
        impl ser::$trait for Compound<'_, Line<'_>> {
            type Ok = ();
            type Error = Error;
            fn $method<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Error> {
                self.element(v)
            }
            fn end(self) -> Result<(), Error> {
                self.end_with(b']')
            }
        }
    )*};
}

array_like!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

impl ser::SerializeStruct for Compound<'_, Line<'_>> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        v: &T,
    ) -> Result<(), Error> {
        self.field(key, v)
    }
    fn end(self) -> Result<(), Error> {
        self.end_with(b'}')
    }
}

impl ser::SerializeStructVariant for Compound<'_, Line<'_>> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        v: &T,
    ) -> Result<(), Error> {
        self.field(key, v)
    }
    fn end(self) -> Result<(), Error> {
        self.end_with(b'}')
    }
}

impl ser::SerializeMap for Compound<'_, Line<'_>> {
    type Ok = ();
    type Error = Error;

    /// As serde_json: a key is a string, and a number or bool key is written quoted.
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        if !self.first {
            self.line.out.push(b',');
        }
        self.first = false;
        let at = self.line.out.len();
        key.serialize(&mut *self.line)?;
        match self.line.out.get(at) {
            Some(b'"') => {}
            Some(b'[' | b'{') | None => return Err(Error::custom("key must be a string")),
            Some(b'n') => return Err(Error::custom("key must be a string")),
            Some(_) => {
                self.line.out.insert(at, b'"');
                self.line.out.push(b'"');
            }
        }
        self.line.out.push(b':');
        Ok(())
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Error> {
        v.serialize(&mut *self.line)
    }

    fn end(self) -> Result<(), Error> {
        self.end_with(b'}')
    }
}

#[cfg(test)]
mod tests;
