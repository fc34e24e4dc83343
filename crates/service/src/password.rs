//! Password hashing with Argon2id (SEC-2). Hashing is deliberately slow, so it runs on the blocking pool,
//! never on the async runtime's worker threads.

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash};
use onramp_domain::Password;

#[derive(Debug, thiserror::Error)]
pub enum PasswordHashError {
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error("the hashing task was cancelled")]
    Cancelled(#[from] tokio::task::JoinError),
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_and_nothing_else() {
        let stored = hash(Password::parse("correct horse battery").unwrap()).await.unwrap();
        assert!(stored.starts_with("$argon2id$"));
        assert!(verify("correct horse battery".into(), stored.clone()).await.unwrap());
        assert!(!verify("correct horse battery!".into(), stored).await.unwrap());
        assert!(!verify("anything".into(), "not a hash".into()).await.unwrap());
    }
}
