//! The `epoch` of a `metrics.jsonl` record: counted from 1 in the file, as
//! the terminal, `log.txt` and the charts count (`"epoch": 1` is the first
//! epoch), and held as a 0-based index in memory. Records derive it with
//! `#[serde(with = "edas_run::epoch_number")]`.
//!
//! Files written before this rule counted from 0; their first record says
//! `"epoch": 0`, which a 1-based file never holds, so [`normalise`] tells
//! them apart and renumbers them when they are read (a resume then writes
//! them back 1-based).

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serializer};

/// The key in a record.
pub const KEY: &str = "epoch";

/// Writes the 0-based `index` as its 1-based number.
///
/// # Errors
/// The serializer's.
pub fn serialize<S: Serializer>(index: &usize, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(*index as u64 + 1)
}

/// Reads a 1-based number as its 0-based index; 0 is an error.
///
/// # Errors
/// A number that is not a positive integer.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    let n = u64::deserialize(d)?;
    let index = n
        .checked_sub(1)
        .ok_or_else(|| D::Error::custom("epoch 0: epochs are counted from 1"))?;
    usize::try_from(index).map_err(D::Error::custom)
}

/// A raw record's 0-based epoch index, when it has a positive `epoch`.
pub fn index_of(record: &serde_json::Value) -> Option<usize> {
    let n = record.get(KEY)?.as_u64()?;
    usize::try_from(n.checked_sub(1)?).ok()
}

/// Renumbers the records of a file written when epochs counted from 0 (one
/// holds `"epoch": 0`) to the 1-based count; returns whether it did.
pub fn normalise(records: &mut [serde_json::Value]) -> bool {
    let legacy = records
        .iter()
        .any(|r| r.get(KEY).and_then(serde_json::Value::as_u64) == Some(0));
    if legacy {
        for r in records.iter_mut() {
            if let Some(n) = r.get(KEY).and_then(serde_json::Value::as_u64) {
                r[KEY] = serde_json::Value::from(n + 1);
            }
        }
    }
    legacy
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde::Serialize;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Rec {
        #[serde(with = "super")]
        epoch: usize,
    }

    #[test]
    fn the_file_counts_from_one() {
        assert_eq!(
            serde_json::to_string(&Rec { epoch: 0 }).unwrap(),
            r#"{"epoch":1}"#
        );
        let r: Rec = serde_json::from_str(r#"{"epoch":3}"#).unwrap();
        assert_eq!(r.epoch, 2);
        let e = serde_json::from_str::<Rec>(r#"{"epoch":0}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("counted from 1"), "{e}");
        assert_eq!(index_of(&serde_json::json!({"epoch": 4})), Some(3));
        assert_eq!(index_of(&serde_json::json!({"epoch": 0})), None);
    }

    #[test]
    fn old_zero_based_files_are_renumbered() {
        let mut old = vec![
            serde_json::json!({"epoch": 0}),
            serde_json::json!({"epoch": 1}),
        ];
        assert!(normalise(&mut old));
        assert_eq!(
            old,
            [
                serde_json::json!({"epoch": 1}),
                serde_json::json!({"epoch": 2})
            ]
        );
        let mut new = old.clone();
        assert!(!normalise(&mut new));
        assert_eq!(new, old);
    }
}
