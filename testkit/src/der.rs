//! A tiny DER encoder for the structures the generators embed in
//! certificates (SAN directory names, Android KeyDescription, Apple nonce).

/// Tag-length-value.
pub fn tlv(tag: &[u8], content: &[u8]) -> Vec<u8> {
    let mut out = tag.to_vec();
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else if len < 0x100 {
        out.extend_from_slice(&[0x81, len as u8]);
    } else {
        out.extend_from_slice(&[0x82, (len >> 8) as u8, len as u8]);
    }
    out.extend_from_slice(content);
    out
}

/// SEQUENCE of the concatenated items.
pub fn seq(items: &[Vec<u8>]) -> Vec<u8> {
    tlv(&[0x30], &items.concat())
}

/// SET of the concatenated items.
pub fn set(items: &[Vec<u8>]) -> Vec<u8> {
    tlv(&[0x31], &items.concat())
}

/// A small non-negative INTEGER.
pub fn int(v: u8) -> Vec<u8> {
    if v & 0x80 != 0 {
        vec![0x02, 2, 0, v]
    } else {
        vec![0x02, 1, v]
    }
}

/// ENUMERATED.
pub fn enumerated(v: u8) -> Vec<u8> {
    vec![0x0a, 1, v]
}

/// OCTET STRING.
pub fn octets(b: &[u8]) -> Vec<u8> {
    tlv(&[0x04], b)
}

/// UTF8String.
pub fn utf8(s: &str) -> Vec<u8> {
    tlv(&[0x0c], s.as_bytes())
}

/// An OBJECT IDENTIFIER from its DER content bytes.
pub fn oid(content: &[u8]) -> Vec<u8> {
    tlv(&[0x06], content)
}

/// Context-specific constructed `[n]` (explicit tagging), any tag number.
pub fn explicit(n: u32, inner: &[u8]) -> Vec<u8> {
    let tag = if n < 31 {
        vec![0xa0 | n as u8]
    } else {
        let mut t = vec![0xbf];
        let mut parts = vec![(n & 0x7f) as u8];
        let mut rest = n >> 7;
        while rest > 0 {
            parts.push(0x80 | (rest & 0x7f) as u8);
            rest >>= 7;
        }
        t.extend(parts.iter().rev());
        t
    };
    tlv(&tag, inner)
}
