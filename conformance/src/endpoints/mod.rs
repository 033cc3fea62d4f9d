//! The HTTP endpoints and the router that serves them.

use std::sync::Arc;

use axum::routing::get;
use axum::Router;

use crate::behavior::Endpoint;
use crate::state::Shared;

pub(crate) mod authorize;
pub(crate) mod discovery;
pub(crate) mod dpop;
pub(crate) mod logout;
pub(crate) mod par;
pub(crate) mod token;
pub(crate) mod userinfo;
// --- device flow (RFC 8628) and dynamic registration (RFC 7591/7592) ---
pub(crate) mod client_registration;
pub(crate) mod device;

/// The provider's routes.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/", get(discovery::index))
        .route(Endpoint::Discovery.path(), get(discovery::discovery))
        .route(Endpoint::Jwks.path(), get(discovery::jwks))
        .route(Endpoint::Authorize.path(), get(authorize::authorize).post(authorize::authorize))
        .route(Endpoint::Token.path(), axum::routing::post(token::token))
        .route(Endpoint::Userinfo.path(), get(userinfo::userinfo).post(userinfo::userinfo))
        .route(Endpoint::EndSession.path(), get(logout::end_session).post(logout::end_session))
        .route("/revoke", axum::routing::post(token::revoke))
        .route("/introspect", axum::routing::post(token::introspect))
        // --- device flow (RFC 8628) and dynamic registration (RFC 7591/7592) ---
        .route("/device_authorization", axum::routing::post(device::device_authorization))
        .route("/device", get(device::verification_page).post(device::verification_submit))
        .route("/register", axum::routing::post(client_registration::register))
        .route(
            "/register/{client_id}",
            get(client_registration::read).put(client_registration::update).delete(client_registration::delete),
        )
        .route(par::PAR_PATH, axum::routing::post(par::par))
        .with_state(shared)
}
