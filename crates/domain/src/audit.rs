//! The audit trail's tamper evidence (AUD-1, AUD-2). Each organisation has its own chain (the provider's own
//! actions use [`PROVIDER_CHAIN`]), so writers for different organisations never contend for one "last hash".
//! Every entry stores the hash of the entry before it; the hash covers every field of the entry and that
//! previous hash, so editing, deleting or reordering any entry breaks the chain from that point.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::terms::lower_hex;
use uuid::Uuid;

/// The chain of actions that belong to no organisation (publishing terms, for example).
pub const PROVIDER_CHAIN: Uuid = Uuid::nil();

/// The hash a chain starts from.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One entry, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub chain_id: Uuid,
    pub seq: i64,
    pub at: Timestamp,
    /// Who: a person's name and id, or the timer that fired.
    pub actor: String,
    pub action: String,
    pub entity: String,
    pub entity_id: String,
    /// JSON of the entity before and after the change.
    pub before: Option<String>,
    pub after: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

/// The hash of an entry: SHA-256 over its fields, each length-prefixed so no two different entries can
/// produce the same input.
pub fn entry_hash(record: &AuditRecord) -> String {
    let mut hasher = Sha256::new();
    let at = record.at.as_microsecond().to_string();
    let seq = record.seq.to_string();
    let fields: [&str; 10] = [
        &record.prev_hash,
        &record.chain_id.to_string(),
        &seq,
        &at,
        &record.actor,
        &record.action,
        &record.entity,
        &record.entity_id,
        record.before.as_deref().unwrap_or("\u{0}"),
        record.after.as_deref().unwrap_or("\u{0}"),
    ];
    for field in fields {
        hasher.update((field.len() as u64).to_be_bytes());
        hasher.update(field.as_bytes());
    }
    lower_hex(&hasher.finalize())
}

/// Where a chain stops being trustworthy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("audit chain {chain_id}: entry {seq} {problem}")]
pub struct ChainBreak {
    pub chain_id: Uuid,
    pub seq: i64,
    pub problem: String,
}

/// Checks records ordered by (chain, seq): sequence numbers run 1, 2, 3 … with no gap, each entry's
/// `prev_hash` is its predecessor's hash, and each stored hash matches the entry's content. Returns the
/// number of entries checked, or the first break.
pub fn verify<'a>(records: impl IntoIterator<Item = &'a AuditRecord>) -> Result<usize, ChainBreak> {
    let mut previous: Option<&AuditRecord> = None;
    let mut checked = 0;
    for record in records {
        let same_chain = previous.filter(|p| p.chain_id == record.chain_id);
        let (expected_seq, expected_prev) = match same_chain {
            Some(p) => (p.seq + 1, p.hash.as_str()),
            None => (1, GENESIS),
        };
        let broken = |problem: String| ChainBreak { chain_id: record.chain_id, seq: record.seq, problem };
        if record.seq != expected_seq {
            return Err(broken(format!(
                "is out of sequence: expected entry {expected_seq} (an entry was deleted or reordered)"
            )));
        }
        if record.prev_hash != expected_prev {
            return Err(broken("does not follow the entry before it (an entry was deleted or reordered)".into()));
        }
        if entry_hash(record) != record.hash {
            return Err(broken("was edited: its content does not match its hash".into()));
        }
        previous = Some(record);
        checked += 1;
    }
    Ok(checked)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> Vec<AuditRecord> {
        let mut records: Vec<AuditRecord> = Vec::new();
        for seq in 1..=n {
            let prev_hash = records.last().map_or(GENESIS.to_owned(), |r| r.hash.clone());
            let mut record = AuditRecord {
                chain_id: Uuid::from_u128(7),
                seq,
                at: Timestamp::from_second(seq).unwrap(),
                actor: "Ada".into(),
                action: "issue".into(),
                entity: "agreement".into(),
                entity_id: format!("CNTR000000{seq}"),
                before: None,
                after: Some(format!("{{\"n\":{seq}}}")),
                prev_hash,
                hash: String::new(),
            };
            record.hash = entry_hash(&record);
            records.push(record);
        }
        records
    }

    #[test]
    fn an_untouched_chain_verifies() {
        assert_eq!(verify(&chain(5)), Ok(5));
    }

    #[test]
    fn an_edit_a_deletion_and_a_reordering_are_each_named() {
        let mut edited = chain(5);
        edited[2].actor = "Mallory".into();
        assert_eq!(verify(&edited).map_err(|b| b.seq), Err(3));

        let mut deleted = chain(5);
        deleted.remove(1);
        assert_eq!(verify(&deleted).map_err(|b| b.seq), Err(3));

        let mut reordered = chain(5);
        reordered.swap(1, 3);
        assert_eq!(verify(&reordered).map_err(|b| b.seq), Err(4));
    }
}
