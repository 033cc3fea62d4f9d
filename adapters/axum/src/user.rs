//! The logged-in user: the extractor that requires it. [`AuthUser`] and the
//! [`Revocations`] list that back-channel logout fills are framework-neutral, in
//! [`rpkit::client::web`].

use crate::error::AuthError;
use crate::session::AuthSession;
use axum::extract::{FromRef, FromRequestParts, OptionalFromRequestParts};
use rpkit::client::web::{self, AuthUser, Revocations, WebError};

/// The logged-in user, as an axum extractor: answers `401 {"error":"login_required"}`
/// when nobody is logged in, or when a back-channel logout ended this login (the user is
/// then removed from the session).
///
/// Needs a session layer (see [`AuthSession`]) and a [`Revocations`] in the router state
/// (through `FromRef`): `Revocations::of(&oauth)` keeps them in the registry's shared
/// store, so a back-channel logout delivered to another instance ends this session too;
/// the store is asked on every request, and a store that cannot answer is `503`. `Option<CurrentUser>` never rejects for a missing login.
///
/// ```
/// use axum::extract::FromRef;
/// use axum::{routing::get, Router};
/// use rpkit_axum::{CurrentUser, Revocations};
///
/// #[derive(Clone, FromRef)]
/// struct AppState {
///     revocations: Revocations,
/// }
///
/// async fn profile(CurrentUser(user): CurrentUser) -> String {
///     format!("{} via {}", user.name().unwrap_or("someone"), user.provider)
/// }
///
/// async fn home(user: Option<CurrentUser>) -> &'static str {
///     if user.is_some() { "welcome back" } else { "please log in" }
/// }
///
/// let app: Router = Router::new()
///     .route("/", get(home))
///     .route("/me", get(profile))
///     .with_state(AppState { revocations: Revocations::new() });
/// ```
#[derive(Debug, Clone)]
pub struct CurrentUser(pub AuthUser);

impl CurrentUser {
    /// The session's user unless absent or revoked (then removed from the session):
    /// [`web::current_user`].
    ///
    /// # Errors
    /// Session store failures; `503 session_store_unavailable` when the revocations'
    /// store cannot answer (never a silent "not revoked").
    pub async fn load(session: &AuthSession, revocations: &Revocations) -> Result<Option<AuthUser>, AuthError> {
        let outcome = web::current_user(session.values().await?, revocations).await;
        if !outcome.edit.is_empty() {
            tracing::info!("session ended by back-channel logout");
        }
        session.settle(outcome).await
    }
}

impl<S> FromRequestParts<S> for CurrentUser
where
    S: Send + Sync,
    Revocations: FromRef<S>,
{
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut http::request::Parts, state: &S) -> Result<Self, Self::Rejection> {
        let user = <CurrentUser as OptionalFromRequestParts<S>>::from_request_parts(parts, state).await?;
        user.ok_or(AuthError::Web(WebError::LoginRequired))
    }
}

impl<S> OptionalFromRequestParts<S> for CurrentUser
where
    S: Send + Sync,
    Revocations: FromRef<S>,
{
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut http::request::Parts, state: &S) -> Result<Option<Self>, Self::Rejection> {
        let session = AuthSession::from_request_parts(parts, state).await?;
        let revocations = Revocations::from_ref(state);
        Ok(CurrentUser::load(&session, &revocations).await?.map(CurrentUser))
    }
}
