//! A bounds-checked reader over borrowed bytes.
//!
//! Every binary structure of the protocols (authenticator data, TPM
//! structures, UAF TLVs) is read through a [`Cursor`]: no indexing, no
//! panics, and [`Cursor::finish`] turns leftover bytes into an error.

/// Why a read through a [`Cursor`] failed. `what` names the structure or
/// field being read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CursorError {
    /// Fewer bytes remained than the field needs.
    #[error("{what} is truncated: needed {needed} more bytes, {left} left")]
    Truncated {
        /// The field being read.
        what: &'static str,
        /// How many bytes the field needs.
        needed: usize,
        /// How many bytes were left.
        left: usize,
    },
    /// Bytes remained after the structure ended.
    #[error("{what} has {extra} trailing bytes")]
    TrailingData {
        /// The structure that should have ended.
        what: &'static str,
        /// How many bytes were left over.
        extra: usize,
    },
}

/// A forward-only reader over a byte slice.
#[derive(Debug, Clone)]
pub struct Cursor<'a> {
    rest: &'a [u8],
}

impl<'a> Cursor<'a> {
    /// A cursor at the start of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    /// The bytes not read yet.
    pub fn rest(&self) -> &'a [u8] {
        self.rest
    }

    /// Whether every byte has been read.
    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// Takes the next `n` bytes.
    pub fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], CursorError> {
        match self.rest.split_at_checked(n) {
            Some((head, tail)) => {
                self.rest = tail;
                Ok(head)
            }
            None => Err(CursorError::Truncated {
                what,
                needed: n,
                left: self.rest.len(),
            }),
        }
    }

    /// Takes the next `N` bytes as an array.
    pub fn take_array<const N: usize>(
        &mut self,
        what: &'static str,
    ) -> Result<[u8; N], CursorError> {
        let bytes = self.take(N, what)?;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    /// Takes one byte.
    pub fn u8(&mut self, what: &'static str) -> Result<u8, CursorError> {
        Ok(u8::from_be_bytes(self.take_array::<1>(what)?))
    }

    /// Takes a big-endian `u16`.
    pub fn u16_be(&mut self, what: &'static str) -> Result<u16, CursorError> {
        Ok(u16::from_be_bytes(self.take_array(what)?))
    }

    /// Takes a big-endian `u32`.
    pub fn u32_be(&mut self, what: &'static str) -> Result<u32, CursorError> {
        Ok(u32::from_be_bytes(self.take_array(what)?))
    }

    /// Takes a big-endian `u64`.
    pub fn u64_be(&mut self, what: &'static str) -> Result<u64, CursorError> {
        Ok(u64::from_be_bytes(self.take_array(what)?))
    }

    /// Takes a little-endian `u16`.
    pub fn u16_le(&mut self, what: &'static str) -> Result<u16, CursorError> {
        Ok(u16::from_le_bytes(self.take_array(what)?))
    }

    /// Takes a little-endian `u32`.
    pub fn u32_le(&mut self, what: &'static str) -> Result<u32, CursorError> {
        Ok(u32::from_le_bytes(self.take_array(what)?))
    }

    /// Takes a big-endian `u16` length followed by that many bytes.
    pub fn sized_u16_be(&mut self, what: &'static str) -> Result<&'a [u8], CursorError> {
        let len = self.u16_be(what)?;
        self.take(usize::from(len), what)
    }

    /// A cursor over the next `n` bytes, which this cursor skips.
    pub fn sub(&mut self, n: usize, what: &'static str) -> Result<Cursor<'a>, CursorError> {
        Ok(Cursor::new(self.take(n, what)?))
    }

    /// Succeeds when every byte has been read.
    pub fn finish(self, what: &'static str) -> Result<(), CursorError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(CursorError::TrailingData {
                what,
                extra: self.rest.len(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_in_order_and_finishes() {
        let mut c = Cursor::new(&[1, 0, 2, 0, 0, 0, 3, 9]);
        assert_eq!(c.u8("a"), Ok(1));
        assert_eq!(c.u16_be("b"), Ok(2));
        assert_eq!(c.u32_be("c"), Ok(3));
        assert_eq!(c.take(1, "d"), Ok(&[9][..]));
        assert_eq!(c.finish("all"), Ok(()));
    }

    #[test]
    fn truncation_and_trailing_data_are_errors() {
        let mut c = Cursor::new(&[1, 2, 3]);
        assert_eq!(
            c.u32_be("x"),
            Err(CursorError::Truncated {
                what: "x",
                needed: 4,
                left: 3
            })
        );
        // A failed read consumes nothing.
        assert_eq!(c.u16_le("y"), Ok(0x0201));
        assert_eq!(
            c.finish("s"),
            Err(CursorError::TrailingData {
                what: "s",
                extra: 1
            })
        );
    }

    #[test]
    fn sized_reads_check_the_declared_length() {
        let mut c = Cursor::new(&[0, 3, 1, 2]);
        assert!(matches!(
            c.sized_u16_be("v"),
            Err(CursorError::Truncated {
                needed: 3,
                left: 2,
                ..
            })
        ));
    }
}
