//! A look at a safetensors header before the `safetensors` crate parses it:
//! the crate reads the JSON header into a hash map, so a key written twice
//! silently keeps only its last entry and the gap it leaves in the data
//! offsets is then reported as an "invalid offset" of whichever tensor comes
//! next. Finding the duplicated key first lets the error name it.

use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use std::collections::HashSet;
use std::fmt;

/// The first top-level key that appears twice in the JSON header of
/// safetensors `bytes`, if the header can be located and is a JSON object.
/// Anything else (short file, bad length, invalid JSON) is None: the
/// `safetensors` crate reports those itself.
pub fn duplicated_key(bytes: &[u8]) -> Option<String> {
    let len = u64::from_le_bytes(bytes.get(..8)?.try_into().ok()?);
    let end = usize::try_from(len).ok()?.checked_add(8)?;
    let header = std::str::from_utf8(bytes.get(8..end)?).ok()?;
    let mut de = serde_json::Deserializer::from_str(header);
    de.deserialize_map(FirstDuplicate).ok().flatten()
}

struct FirstDuplicate;

impl<'de> Visitor<'de> for FirstDuplicate {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            map.next_value::<IgnoredAny>()?;
            if !seen.insert(key.clone()) {
                return Ok(Some(key));
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::duplicated_key;

    fn file(header: &str) -> Vec<u8> {
        let mut b = (header.len() as u64).to_le_bytes().to_vec();
        b.extend_from_slice(header.as_bytes());
        b
    }

    #[test]
    fn finds_the_repeated_key_and_nothing_else() {
        let h = r#"{"a":{"x":1},"b":{},"a":{"y":[1,2]}}"#;
        assert_eq!(duplicated_key(&file(h)).as_deref(), Some("a"));
        assert_eq!(duplicated_key(&file(r#"{"a":1,"b":2}"#)), None);
        assert_eq!(duplicated_key(&file("[1,2]")), None);
        assert_eq!(duplicated_key(&file("{")), None);
        assert_eq!(duplicated_key(b"\xff\xff\xff\xff\xff\xff\xff\xff{}"), None);
        assert_eq!(duplicated_key(b"abc"), None);
    }
}
