//! CBOR decoding helpers over `ciborium`.
//!
//! Decoding is bounded (nesting depth), reports how many bytes one item took
//! (authenticator data embeds a COSE key of unknown length), and map lookups
//! reject duplicate keys: a map with two `alg` entries means different things
//! to different parsers and is refused outright.

use ciborium::value::{Integer, Value};

/// Maximum nesting depth accepted in any CBOR item.
pub const MAX_DEPTH: usize = 16;

/// Why a CBOR item was refused. `what` names the structure being decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CborError {
    /// Not valid CBOR, truncated, or nested too deep.
    #[error("{what} is not valid CBOR: {reason}")]
    Invalid {
        /// The structure being decoded.
        what: &'static str,
        /// The decoder's reason.
        reason: String,
    },
    /// Bytes remained after the item.
    #[error("{what} has {extra} trailing bytes after its CBOR item")]
    TrailingData {
        /// The structure being decoded.
        what: &'static str,
        /// How many bytes were left over.
        extra: usize,
    },
    /// A value had the wrong CBOR type.
    #[error("{what} must be {expected}")]
    WrongType {
        /// The field.
        what: &'static str,
        /// The type it must have.
        expected: &'static str,
    },
    /// A map has the same key twice.
    #[error("{what} has duplicate key {key}")]
    DuplicateKey {
        /// The map.
        what: &'static str,
        /// The repeated key, rendered for the message.
        key: String,
    },
    /// A required key is missing.
    #[error("{what} is missing")]
    Missing {
        /// The missing field.
        what: &'static str,
    },
}

/// Decodes the first CBOR item of `bytes`; returns it with the number of
/// bytes it took.
pub fn decode_prefix(bytes: &[u8], what: &'static str) -> Result<(Value, usize), CborError> {
    let mut reader = bytes;
    let value: Value = ciborium::de::from_reader_with_recursion_limit(&mut reader, MAX_DEPTH)
        .map_err(|e| CborError::Invalid {
            what,
            reason: describe(&e),
        })?;
    Ok((value, bytes.len() - reader.len()))
}

/// Decodes exactly one CBOR item spanning all of `bytes`.
pub fn decode_exact(bytes: &[u8], what: &'static str) -> Result<Value, CborError> {
    let (value, used) = decode_prefix(bytes, what)?;
    let extra = bytes.len() - used;
    if extra != 0 {
        return Err(CborError::TrailingData { what, extra });
    }
    Ok(value)
}

fn describe<E: std::fmt::Debug>(e: &ciborium::de::Error<E>) -> String {
    match e {
        ciborium::de::Error::Io(_) => "truncated".to_owned(),
        ciborium::de::Error::Syntax(at) => format!("syntax error at byte {at}"),
        ciborium::de::Error::Semantic(at, msg) => match at {
            Some(at) => format!("{msg} at byte {at}"),
            None => msg.clone(),
        },
        ciborium::de::Error::RecursionLimitExceeded => {
            format!("nested deeper than {MAX_DEPTH} levels")
        }
    }
}

/// A CBOR map whose keys were checked to be unique.
#[derive(Debug, Clone, Copy)]
pub struct Map<'a> {
    entries: &'a [(Value, Value)],
}

impl<'a> Map<'a> {
    /// Views `value` as a map with unique keys.
    pub fn new(value: &'a Value, what: &'static str) -> Result<Self, CborError> {
        let Value::Map(entries) = value else {
            return Err(CborError::WrongType {
                what,
                expected: "a map",
            });
        };
        for (i, (key, _)) in entries.iter().enumerate() {
            if entries.iter().skip(i + 1).any(|(other, _)| other == key) {
                return Err(CborError::DuplicateKey {
                    what,
                    key: render_key(key),
                });
            }
        }
        Ok(Self { entries })
    }

    /// The entries in their encoded order.
    pub fn entries(&self) -> &'a [(Value, Value)] {
        self.entries
    }

    /// The value under a text key.
    pub fn get_text(&self, key: &str) -> Option<&'a Value> {
        self.entries
            .iter()
            .find(|(k, _)| k.as_text() == Some(key))
            .map(|(_, v)| v)
    }

    /// The value under an integer key.
    pub fn get_int(&self, key: i64) -> Option<&'a Value> {
        let key = Integer::from(key);
        self.entries
            .iter()
            .find(|(k, _)| k.as_integer() == Some(key))
            .map(|(_, v)| v)
    }
}

fn render_key(key: &Value) -> String {
    match key {
        Value::Text(t) => format!("{t:?}"),
        Value::Integer(i) => i128::from(*i).to_string(),
        other => format!("{other:?}"),
    }
}

/// The bytes of a byte string value.
pub fn as_bytes<'a>(value: &'a Value, what: &'static str) -> Result<&'a [u8], CborError> {
    value
        .as_bytes()
        .map(Vec::as_slice)
        .ok_or(CborError::WrongType {
            what,
            expected: "a byte string",
        })
}

/// The text of a text string value.
pub fn as_text<'a>(value: &'a Value, what: &'static str) -> Result<&'a str, CborError> {
    value.as_text().ok_or(CborError::WrongType {
        what,
        expected: "a text string",
    })
}

/// An integer value that fits in `i64`.
pub fn as_i64(value: &Value, what: &'static str) -> Result<i64, CborError> {
    value
        .as_integer()
        .and_then(|i| i64::try_from(i).ok())
        .ok_or(CborError::WrongType {
            what,
            expected: "an integer",
        })
}

/// Converts a CBOR value to JSON for reporting (byte strings become
/// base64url text; non-text map keys are rendered as text).
pub fn to_json(value: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match value {
        Value::Integer(i) => {
            let i = i128::from(*i);
            i64::try_from(i)
                .map(J::from)
                .or_else(|_| u64::try_from(i).map(J::from))
                .unwrap_or_else(|_| J::String(i.to_string()))
        }
        Value::Bytes(b) => J::String(crate::b64::encode(b)),
        Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
        Value::Text(t) => J::String(t.clone()),
        Value::Bool(b) => J::Bool(*b),
        Value::Null => J::Null,
        Value::Tag(_, inner) => to_json(inner),
        Value::Array(items) => J::Array(items.iter().map(to_json).collect()),
        Value::Map(entries) => J::Object(
            entries
                .iter()
                .map(|(k, v)| {
                    let key = match k {
                        Value::Text(t) => t.clone(),
                        other => render_key(other),
                    };
                    (key, to_json(v))
                })
                .collect(),
        ),
        _ => J::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_reports_length() {
        // {1: 2} followed by two junk bytes.
        let bytes = [0xa1, 0x01, 0x02, 0xff, 0xff];
        let (v, used) = decode_prefix(&bytes, "t").unwrap();
        assert_eq!(used, 3);
        assert!(v.is_map());
        assert!(matches!(
            decode_exact(&bytes, "t"),
            Err(CborError::TrailingData { extra: 2, .. })
        ));
    }

    #[test]
    fn truncation_loop_never_panics() {
        let bytes = [
            0xa2, 0x63, b'f', b'm', b't', 0x64, b'n', b'o', b'n', b'e', 0x01, 0x42, 1, 2,
        ];
        assert!(decode_exact(&bytes, "t").is_ok());
        for n in 0..bytes.len() {
            assert!(decode_exact(&bytes[..n], "t").is_err(), "prefix {n}");
        }
    }

    #[test]
    fn duplicate_keys_are_refused() {
        let v = decode_exact(&[0xa2, 0x01, 0x02, 0x01, 0x03], "t").unwrap();
        assert!(matches!(
            Map::new(&v, "m"),
            Err(CborError::DuplicateKey { .. })
        ));
    }

    #[test]
    fn depth_is_bounded() {
        let mut deep = vec![0x81; 100];
        deep.push(0x00);
        assert!(decode_exact(&deep, "t").is_err());
    }

    #[test]
    fn huge_declared_lengths_fail_cleanly() {
        // An array claiming 2^64-1 elements, and a byte string claiming 2^32.
        assert!(
            decode_exact(&[0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], "t").is_err()
        );
        assert!(decode_exact(&[0x5a, 0xff, 0xff, 0xff, 0xff, 0x00], "t").is_err());
    }
}
