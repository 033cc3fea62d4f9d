//! The logged-in user: the extractor that requires it. [`AuthUser`] and the
//! [`Revocations`] list that back-channel logout fills are framework-neutral, in
//! [`rpkit::client::web`].

use crate::error::{AuthError, SessionError};
use crate::session;
use actix_session::{Session, SessionExt};
use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use rpkit::client::web::{self as rpweb, AuthUser, Revocations, WebError};
use std::future::Future;
use std::pin::Pin;

type LocalBoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// The logged-in user, as an actix extractor: answers `401 {"error":"login_required"}`
/// when nobody is logged in, or when a back-channel logout ended this login (the user is
/// then removed from the session).
///
/// Needs the actix-session `SessionMiddleware` and a `web::Data<`[`Revocations`]`>` app
/// data (`Revocations::of(&oauth)`: in the registry's shared store, so a back-channel
/// logout delivered to another instance counts; a store that cannot answer is `503`): without it, it refuses (`500 server_misconfigured`) rather than silently skip
/// the check. `Option<CurrentUser>` gives `None` instead of rejecting.
///
/// ```
/// use actix_web::{web, App};
/// use rpkit_actix::Revocations;
///
/// let revocations = web::Data::new(Revocations::new());
/// let app = App::new().app_data(revocations.clone());
/// # drop(app);
/// ```
///
/// ```
/// use actix_web::HttpResponse;
/// use rpkit_actix::CurrentUser;
///
/// async fn profile(CurrentUser(user): CurrentUser) -> HttpResponse {
///     HttpResponse::Ok().body(format!("{} via {}", user.name().unwrap_or("someone"), user.provider))
/// }
///
/// async fn home(user: Option<CurrentUser>) -> &'static str {
///     if user.is_some() { "welcome back" } else { "please log in" }
/// }
/// ```
#[derive(Debug, Clone)]
pub struct CurrentUser(pub AuthUser);

impl CurrentUser {
    /// The session's user unless absent or revoked (then removed from the session):
    /// [`rpweb::current_user`], which asks the revocations' store on every call.
    ///
    /// # Errors
    /// `503 session_store_unavailable` when the revocations' store cannot answer (never
    /// a silent "not revoked").
    pub async fn load(session: &Session, revocations: &Revocations) -> Result<Option<AuthUser>, AuthError> {
        let outcome = rpweb::current_user(session::values(session), revocations).await;
        if !outcome.edit.is_empty() {
            tracing::info!("session ended by back-channel logout");
        }
        session::settle(session, outcome)
    }

    async fn extract(req: HttpRequest) -> Result<CurrentUser, AuthError> {
        let revocations = req
            .app_data::<web::Data<Revocations>>()
            .ok_or(SessionError::MissingAppData("web::Data<rpkit_actix::Revocations>"))?;
        CurrentUser::load(&req.get_session(), revocations)
            .await?
            .map(CurrentUser)
            .ok_or(AuthError::Web(WebError::LoginRequired))
    }
}

impl FromRequest for CurrentUser {
    type Error = AuthError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        Box::pin(CurrentUser::extract(req.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rpkit::client::web::USER_KEY;
    use rpkit::logout::LogoutTarget;
    use rpkit::{Claims, Token, UnixTime};
    use serde_json::json;

    const T0: UnixTime = UnixTime::from_secs(1_700_000_000);

    fn user(provider: &str, sub: &str, sid: Option<&str>, at: UnixTime) -> AuthUser {
        let mut claims = json!({"sub": sub});
        if let Some(sid) = sid {
            claims["sid"] = json!(sid);
        }
        let token: Token = serde_json::from_value(json!({
            "access_token": "at", "token_type": "Bearer", "id_token": "x.y.z", "userinfo": claims
        }))
        .unwrap();
        AuthUser::new(provider, token, None, at)
    }

    fn target(sub: Option<&str>, sid: Option<&str>) -> LogoutTarget {
        LogoutTarget {
            sub: sub.map(str::to_owned),
            sid: sid.map(str::to_owned),
            jti: "j".into(),
            iat: T0,
            claims: Claims::default(),
        }
    }

    fn request_with_user(revocations: Option<Revocations>, logged_in: Option<AuthUser>) -> HttpRequest {
        let mut test = actix_web::test::TestRequest::get();
        if let Some(r) = revocations {
            test = test.app_data(web::Data::new(r));
        }
        let req = test.to_http_request();
        if let Some(u) = logged_in {
            session::insert(&req.get_session(), USER_KEY, &u).unwrap();
        }
        req
    }

    #[actix_web::test]
    async fn current_user_is_the_stored_user() {
        let req = request_with_user(Some(Revocations::new()), Some(user("dev", "alice", Some("s1"), T0)));
        let CurrentUser(u) = CurrentUser::extract(req.clone()).await.unwrap();
        assert_eq!(u.sub(), Some("alice"));
    }

    #[actix_web::test]
    async fn current_user_without_login_is_401() {
        let req = request_with_user(Some(Revocations::new()), None);
        let err = CurrentUser::extract(req.clone()).await.unwrap_err();
        assert!(matches!(err, AuthError::Web(WebError::LoginRequired)));
        assert_eq!(err.status(), actix_web::http::StatusCode::UNAUTHORIZED);
    }

    #[actix_web::test]
    async fn revoked_user_is_401_and_removed_from_the_session() {
        let revocations = Revocations::new().with_clock(rpkit::client::ManualClock::new(T0.plus(120).as_secs()));
        revocations.revoke("dev", &target(None, Some("s1")), T0.plus(60)).await.unwrap();
        let req = request_with_user(Some(revocations), Some(user("dev", "alice", Some("s1"), T0)));
        assert!(matches!(
            CurrentUser::extract(req.clone()).await.unwrap_err(),
            AuthError::Web(WebError::LoginRequired)
        ));
        assert!(!req.get_session().contains_key(USER_KEY));
    }

    #[actix_web::test]
    async fn current_user_without_revocations_app_data_refuses_rather_than_skips_the_check() {
        let req = request_with_user(None, Some(user("dev", "alice", Some("s1"), T0)));
        let err = CurrentUser::extract(req.clone()).await.unwrap_err();
        assert!(matches!(err, AuthError::Session(SessionError::MissingAppData(_))));
        assert_eq!(err.status(), actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[actix_web::test]
    async fn stored_user_of_another_shape_reads_as_logged_out() {
        let req = request_with_user(Some(Revocations::new()), None);
        req.get_session().insert(USER_KEY, serde_json::json!({"provider": 5})).unwrap();
        assert!(matches!(
            CurrentUser::extract(req.clone()).await.unwrap_err(),
            AuthError::Web(WebError::LoginRequired)
        ));
    }
}
