//! The PublicKeyCredential JSON a browser posts after `create()`.
//!
//! Binary members are base64url (`PublicKeyCredential.toJSON()` and every
//! WebAuthn client library use that form). Unknown members are ignored, as
//! browsers and dialects add their own (`authenticatorAttachment`,
//! `userFriendlyName`, ...).
//!
//! Posted bytes are read in one pass that keeps only the members the
//! checks look at, borrowing their strings from the body; a value already
//! parsed ([`RegistrationCredential::from_value`]) goes through the same
//! checks. Either way a repeated member counts by its last occurrence, as
//! `serde_json` reads objects.

use super::error::CredentialError;
use crate::b64;
use serde::Deserializer;
use serde::de::{Deserialize, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

/// Largest accepted `clientDataJSON`, in bytes.
pub const MAX_CLIENT_DATA_LEN: usize = 16 * 1024;
/// Largest accepted `attestationObject`, in bytes.
pub const MAX_ATTESTATION_OBJECT_LEN: usize = 64 * 1024;
/// Most `transports` entries accepted.
pub const MAX_TRANSPORTS: usize = 16;

/// A registration credential, decoded from JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationCredential {
    /// `rawId` (or `id` when `rawId` is absent), decoded.
    pub raw_id: Vec<u8>,
    /// `response.clientDataJSON`, decoded.
    pub client_data_json: Vec<u8>,
    /// `response.attestationObject`, decoded.
    pub attestation_object: Vec<u8>,
    /// `response.transports`.
    pub transports: Vec<String>,
    /// `clientExtensionResults`.
    pub client_extension_results: Map<String, Value>,
}

impl RegistrationCredential {
    /// Parses the credential from JSON bytes.
    pub fn from_json(bytes: &[u8]) -> Result<Self, CredentialError> {
        // Every string, skipped or kept, is parsed and so checked as UTF-8.
        let members: Shape<Members<'_>> =
            serde_json::from_slice(bytes).map_err(|e| CredentialError::NotJson(e.to_string()))?;
        match members {
            Shape::Object(m) => m.check(),
            Shape::Null | Shape::Other => Err(not_an_object()),
        }
    }

    /// Parses the credential from a JSON value.
    pub fn from_value(value: &Value) -> Result<Self, CredentialError> {
        let obj = value.as_object().ok_or_else(not_an_object)?;
        Members::of(obj).check()
    }
}

fn not_an_object() -> CredentialError {
    CredentialError::NotJson("expected an object".to_owned())
}

/// A member's value, as far as the checks need to know it.
#[derive(Debug)]
enum Shape<T> {
    Null,
    Object(T),
    /// Any other JSON type.
    Other,
}

/// A member that must be a string.
#[derive(Debug)]
enum Text<'a> {
    Null,
    Str(Cow<'a, str>),
    Other,
}

/// `response.transports`: the first [`MAX_TRANSPORTS`] entries (`None`
/// for one that is not a string), and how many there were.
#[derive(Debug)]
enum Transports<'a> {
    Null,
    Array {
        first: Vec<Option<Cow<'a, str>>>,
        len: usize,
    },
    Other,
}

/// The members of a credential the checks read.
#[derive(Debug, Default)]
struct Members<'a> {
    id: Option<Text<'a>>,
    raw_id: Option<Text<'a>>,
    ty: Option<Text<'a>>,
    response: Option<Shape<ResponseMembers<'a>>>,
    client_extension_results: Option<Value>,
}

/// The members of `response` the checks read.
#[derive(Debug, Default)]
struct ResponseMembers<'a> {
    client_data_json: Option<Text<'a>>,
    attestation_object: Option<Text<'a>>,
    transports: Option<Transports<'a>>,
}

impl<'a> Members<'a> {
    /// The members of an already parsed object.
    fn of(obj: &'a Map<String, Value>) -> Self {
        let response = obj.get("response").map(|v| match v {
            Value::Null => Shape::Null,
            Value::Object(r) => Shape::Object(ResponseMembers {
                client_data_json: r.get("clientDataJSON").map(Text::of),
                attestation_object: r.get("attestationObject").map(Text::of),
                transports: r.get("transports").map(Transports::of),
            }),
            _ => Shape::Other,
        });
        Self {
            id: obj.get("id").map(Text::of),
            raw_id: obj.get("rawId").map(Text::of),
            ty: obj.get("type").map(Text::of),
            response,
            client_extension_results: obj.get("clientExtensionResults").cloned(),
        }
    }

    fn check(self) -> Result<RegistrationCredential, CredentialError> {
        let id = binary(self.id.as_ref(), "id", usize::MAX)?;
        let raw_id = match &self.raw_id {
            None | Some(Text::Null) => id.clone(),
            Some(_) => binary(self.raw_id.as_ref(), "rawId", usize::MAX)?,
        };
        if raw_id != id {
            return Err(CredentialError::IdMismatch);
        }
        // §7.1 step 3: the credential must be a public-key credential.
        let ty = string(self.ty.as_ref(), "type")?;
        if ty != "public-key" {
            return Err(CredentialError::CredentialType(ty.to_owned()));
        }
        let response = match self.response {
            None => return Err(CredentialError::MissingField("response")),
            Some(Shape::Object(r)) => r,
            Some(Shape::Null | Shape::Other) => {
                return Err(CredentialError::WrongType {
                    field: "response",
                    expected: "an object",
                });
            }
        };
        let client_data_json = binary(
            response.client_data_json.as_ref(),
            "response.clientDataJSON",
            MAX_CLIENT_DATA_LEN,
        )?;
        let attestation_object = binary(
            response.attestation_object.as_ref(),
            "response.attestationObject",
            MAX_ATTESTATION_OBJECT_LEN,
        )?;
        let not_strings = CredentialError::WrongType {
            field: "response.transports",
            expected: "an array of strings",
        };
        let transports = match response.transports {
            None | Some(Transports::Null) => Vec::new(),
            Some(Transports::Array { len, .. }) if len > MAX_TRANSPORTS => {
                return Err(CredentialError::TooLarge {
                    field: "response.transports",
                    len,
                    max: MAX_TRANSPORTS,
                });
            }
            Some(Transports::Array { first, .. }) => first
                .into_iter()
                .map(|t| t.map(Cow::into_owned).ok_or(not_strings.clone()))
                .collect::<Result<_, _>>()?,
            Some(Transports::Other) => return Err(not_strings),
        };
        // §7.1 step 4: the client extension results.
        let client_extension_results = match self.client_extension_results {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(m)) => m,
            Some(_) => {
                return Err(CredentialError::WrongType {
                    field: "clientExtensionResults",
                    expected: "an object",
                });
            }
        };
        Ok(RegistrationCredential {
            raw_id,
            client_data_json,
            attestation_object,
            transports,
            client_extension_results,
        })
    }
}

impl<'a> Text<'a> {
    fn of(v: &'a Value) -> Self {
        match v {
            Value::Null => Self::Null,
            Value::String(s) => Self::Str(Cow::Borrowed(s)),
            _ => Self::Other,
        }
    }
}

impl<'a> Transports<'a> {
    fn of(v: &'a Value) -> Self {
        match v {
            Value::Null => Self::Null,
            Value::Array(items) => Self::Array {
                first: items
                    .iter()
                    .take(MAX_TRANSPORTS)
                    .map(|t| t.as_str().map(Cow::Borrowed))
                    .collect(),
                len: items.len(),
            },
            _ => Self::Other,
        }
    }
}

fn string<'t>(
    member: Option<&'t Text<'_>>,
    field: &'static str,
) -> Result<&'t str, CredentialError> {
    match member {
        None => Err(CredentialError::MissingField(field)),
        Some(Text::Str(s)) => Ok(s),
        Some(Text::Null | Text::Other) => Err(CredentialError::WrongType {
            field,
            expected: "a string",
        }),
    }
}

fn binary(
    member: Option<&Text<'_>>,
    field: &'static str,
    max: usize,
) -> Result<Vec<u8>, CredentialError> {
    let s = string(member, field)?;
    // Base64 expands 3 bytes to 4 characters; refuse before decoding.
    if s.len() / 4 * 3 > max {
        return Err(CredentialError::TooLarge {
            field,
            len: s.len() / 4 * 3,
            max,
        });
    }
    b64::decode(s).map_err(|_| CredentialError::Base64(field))
}

// Reading the posted bytes. Every value is read through `deserialize_any`,
// so a value the checks skip is parsed as fully as `serde_json::Value`
// would parse it (numbers out of range and bad escapes are refused the
// same), without being kept.

/// The visitor methods for the scalar JSON types a member reader does not
/// keep: each yields `$other`.
macro_rules! other_scalars {
    ($other:expr) => {
        fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
            Ok($other)
        }
        fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
            Ok($other)
        }
        fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
            Ok($other)
        }
        fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
            Ok($other)
        }
    };
}

/// Reads one value whatever its type, keeping nothing.
struct Skip;

impl<'de> Deserialize<'de> for Skip {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(SkipVisitor)
    }
}

struct SkipVisitor;

impl<'de> Visitor<'de> for SkipVisitor {
    type Value = Skip;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    other_scalars!(Skip);
    fn visit_str<E>(self, _: &str) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_unit<E>(self) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Skip, A::Error> {
        while seq.next_element::<Skip>()?.is_some() {}
        Ok(Skip)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Skip, A::Error> {
        while map.next_entry::<Skip, Skip>()?.is_some() {}
        Ok(Skip)
    }
}

/// Reads an object's members into `Self`.
trait ReadObject<'de>: Sized {
    fn read<A: MapAccess<'de>>(map: A) -> Result<Self, A::Error>;
}

impl<'de, T: ReadObject<'de>> Deserialize<'de> for Shape<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: ReadObject<'de>> Visitor<'de> for V<T> {
            type Value = Shape<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            other_scalars!(Shape::Other);
            fn visit_str<E>(self, _: &str) -> Result<Shape<T>, E> {
                Ok(Shape::Other)
            }
            fn visit_unit<E>(self) -> Result<Shape<T>, E> {
                Ok(Shape::Null)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Shape<T>, A::Error> {
                SkipVisitor.visit_seq(seq).map(|_| Shape::Other)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Shape<T>, A::Error> {
                T::read(map).map(Shape::Object)
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Text<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            other_scalars!(Text::Other);
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Text<'a>, E> {
                Ok(Text::Str(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Text<'a>, E> {
                Ok(Text::Str(Cow::Owned(s.to_owned())))
            }
            fn visit_string<E>(self, s: String) -> Result<Text<'a>, E> {
                Ok(Text::Str(Cow::Owned(s)))
            }
            fn visit_unit<E>(self) -> Result<Text<'a>, E> {
                Ok(Text::Null)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Text<'a>, A::Error> {
                SkipVisitor.visit_seq(seq).map(|_| Text::Other)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Text<'a>, A::Error> {
                SkipVisitor.visit_map(map).map(|_| Text::Other)
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Transports<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Transports<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            other_scalars!(Transports::Other);
            fn visit_str<E>(self, _: &str) -> Result<Transports<'a>, E> {
                Ok(Transports::Other)
            }
            fn visit_unit<E>(self) -> Result<Transports<'a>, E> {
                Ok(Transports::Null)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Transports<'a>, A::Error> {
                let mut first = Vec::new();
                let mut len = 0;
                while len < MAX_TRANSPORTS {
                    match seq.next_element::<Text<'a>>()? {
                        Some(Text::Str(s)) => first.push(Some(s)),
                        Some(Text::Null | Text::Other) => first.push(None),
                        None => return Ok(Transports::Array { first, len }),
                    }
                    len += 1;
                }
                // Past the limit only the count matters.
                while seq.next_element::<Skip>()?.is_some() {
                    len += 1;
                }
                Ok(Transports::Array { first, len })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Transports<'a>, A::Error> {
                SkipVisitor.visit_map(map).map(|_| Transports::Other)
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// A member's name, for the members the checks read.
enum Key {
    Id,
    RawId,
    Type,
    Response,
    ClientExtensionResults,
    ClientDataJson,
    AttestationObject,
    Transports,
    Other,
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }
            // Called with the name unescaped, borrowed or not.
            fn visit_str<E>(self, s: &str) -> Result<Key, E> {
                Ok(match s {
                    "id" => Key::Id,
                    "rawId" => Key::RawId,
                    "type" => Key::Type,
                    "response" => Key::Response,
                    "clientExtensionResults" => Key::ClientExtensionResults,
                    "clientDataJSON" => Key::ClientDataJson,
                    "attestationObject" => Key::AttestationObject,
                    "transports" => Key::Transports,
                    _ => Key::Other,
                })
            }
        }
        d.deserialize_str(V)
    }
}

impl<'de: 'a, 'a> ReadObject<'de> for Members<'a> {
    fn read<A: MapAccess<'de>>(mut map: A) -> Result<Self, A::Error> {
        let mut m = Members::default();
        while let Some(key) = map.next_key::<Key>()? {
            match key {
                Key::Id => m.id = Some(map.next_value()?),
                Key::RawId => m.raw_id = Some(map.next_value()?),
                Key::Type => m.ty = Some(map.next_value()?),
                Key::Response => m.response = Some(map.next_value()?),
                Key::ClientExtensionResults => {
                    m.client_extension_results = Some(map.next_value()?);
                }
                _ => {
                    map.next_value::<Skip>()?;
                }
            }
        }
        Ok(m)
    }
}

impl<'de: 'a, 'a> ReadObject<'de> for ResponseMembers<'a> {
    fn read<A: MapAccess<'de>>(mut map: A) -> Result<Self, A::Error> {
        let mut r = ResponseMembers::default();
        while let Some(key) = map.next_key::<Key>()? {
            match key {
                Key::ClientDataJson => r.client_data_json = Some(map.next_value()?),
                Key::AttestationObject => r.attestation_object = Some(map.next_value()?),
                Key::Transports => r.transports = Some(map.next_value()?),
                _ => {
                    map.next_value::<Skip>()?;
                }
            }
        }
        Ok(r)
    }
}

#[cfg(test)]
mod tests;
