//! UserInfo.

/// Why a UserInfo response was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UserInfoError {
    /// The UserInfo `sub` differs from the ID token's.
    #[error("the UserInfo `sub` is not the ID token's `sub`")]
    SubjectMismatch,
}
