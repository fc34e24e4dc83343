//! Password hashing with Argon2id (SEC-2). Hashing is deliberately slow, so it runs on the blocking pool,
//! never on the async runtime's worker threads.

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash};
use onramp_domain::Password;
use onramp_domain::user::PasswordError;

#[derive(Debug, thiserror::Error)]
pub enum PasswordHashError {
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error("the hashing task was cancelled")]
    Cancelled(#[from] tokio::task::JoinError),
}

/// A well-formed Argon2id hash with the default parameters that no password matches (its output is not the
/// hash of anything we know): sign-in checks an unknown address against it, so it costs what a known one costs.
pub const UNMATCHABLE_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$b25yYW1wLW5vLXN1Y2gtYWNjb3VudA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

/// Hashes `password` with Argon2id and its default (OWASP-recommended) parameters, as a PHC string.
pub async fn hash(password: Password) -> Result<String, PasswordHashError> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.expose().as_bytes())
            .map(|hash| hash.to_string())
            .map_err(|e| PasswordHashError::Hash(e.to_string()))
    })
    .await?
}

/// Whether `candidate` matches the stored PHC `hash`. A malformed stored hash never matches.
pub async fn verify(candidate: String, hash: String) -> Result<bool, PasswordHashError> {
    Ok(tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .map(|parsed| Argon2::default().verify_password(candidate.as_bytes(), &parsed).is_ok())
            .unwrap_or(false)
    })
    .await?)
}

/// Symbols of a generated password: Crockford's base 32 in lower case (digits and letters without `i`, `l`,
/// `o`, `u`), so it can be read out or copied by hand without look-alikes. 5 bits each.
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// A new random password of 120 bits from the operating system's generator (through UUID v4), written as
/// six groups of four symbols, e.g. `k7pq-x3ma-…`, for an admin to hand over once. It always passes
/// [`Password::parse`]; the `Result` only avoids a panic path.
pub fn generate() -> Result<Password, PasswordError> {
    // Bytes 6 and 8 of a v4 UUID carry its version and variant bits; the other 14 bytes are random.
    let random: Vec<u8> = [uuid::Uuid::new_v4(), uuid::Uuid::new_v4()]
        .iter()
        .flat_map(|uuid| uuid.as_bytes().iter().enumerate().filter(|(i, _)| *i != 6 && *i != 8).map(|(_, b)| *b))
        .take(15)
        .collect();
    // Five bytes are eight symbols of five bits.
    let mut symbols = Vec::with_capacity(24);
    for chunk in random.chunks(5) {
        let value = chunk.iter().fold(0u64, |acc, byte| (acc << 8) | u64::from(*byte));
        symbols.extend((0..8).rev().map(|i| char::from(ALPHABET[((value >> (i * 5)) & 0x1f) as usize])));
    }
    let text = symbols.chunks(4).map(|group| group.iter().collect::<String>()).collect::<Vec<_>>().join("-");
    Password::parse(&text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_passwords_are_long_readable_and_different() {
        let first = generate().unwrap();
        let second = generate().unwrap();
        assert_ne!(first.expose(), second.expose());
        assert_eq!(first.expose().len(), 29, "{:?}", first.expose());
        assert!(first.expose().split('-').all(|group| group.len() == 4), "six groups of four");
        assert!(first.expose().chars().all(|c| c == '-' || ALPHABET.contains(&(c as u8))));
        assert!(Password::parse(first.expose()).is_ok(), "a generated password passes the password rules");
    }

    #[tokio::test]
    async fn the_unmatchable_hash_parses_with_the_default_cost_and_matches_nothing() {
        let parsed = PasswordHash::new(UNMATCHABLE_HASH).unwrap();
        let params = argon2::Params::try_from(&parsed).unwrap();
        let default = argon2::Params::default();
        assert_eq!(
            (params.m_cost(), params.t_cost(), params.p_cost()),
            (default.m_cost(), default.t_cost(), default.p_cost())
        );
        assert_eq!(parsed.algorithm, argon2::Algorithm::Argon2id.ident());
        assert!(!verify(String::new(), UNMATCHABLE_HASH.into()).await.unwrap());
        assert!(!verify("onramp-demo-password".into(), UNMATCHABLE_HASH.into()).await.unwrap());
    }

    #[tokio::test]
    async fn a_hash_verifies_its_password_and_nothing_else() {
        let stored = hash(Password::parse("correct horse battery").unwrap()).await.unwrap();
        assert!(stored.starts_with("$argon2id$"));
        assert!(verify("correct horse battery".into(), stored.clone()).await.unwrap());
        assert!(!verify("correct horse battery!".into(), stored).await.unwrap());
        assert!(!verify("anything".into(), "not a hash".into()).await.unwrap());
    }
}
