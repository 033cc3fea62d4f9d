//! DPoP in the async client ([RFC 9449](https://www.rfc-editor.org/rfc/rfc9449)): the
//! client's proof key, proofs on token and resource requests, and the nonce retry.
//!
//! - **The key**: `dpop_key` when configured (preferred). Otherwise one ES256 key is
//!   generated and kept in the [`SharedStore`](super::SharedStore) with put-if-absent
//!   semantics, so that every instance of the app (and every registry sharing the store)
//!   proves with the same key, and a token bound on one instance can be used on another.
//!   The generated private key is stored as JWK text, in the clear: configure `dpop_key`
//!   when the store is not trusted with it.
//! - **Nonces** are remembered per server origin in this process only: a nonce is a hint,
//!   and a stale or missing one costs one retry.
//! - **Retries**: a `use_dpop_nonce` answer is retried once with the server's new nonce
//!   (with fresh client authentication for the token endpoint); a second one is
//!   [`DpopError::NonceRetryExhausted`].

use super::{ClientError, OAuthClient};
use crate::discovery::ProviderMetadata;
use crate::dpop::{resource_nonce_challenge, token_nonce_challenge, DpopError, DpopKey, DpopNonces};
use crate::error::Endpoint;
use crate::secret::PrivateKeyMaterial;
use crate::token::Token;
use std::sync::Arc;

/// Per-client DPoP state: the key once loaded, and the latest nonces.
#[derive(Default)]
pub(super) struct DpopSlot {
    key: async_lock::Mutex<Option<Arc<DpopKey>>>,
    nonces: DpopNonces,
}

/// A token endpoint response and whether its request carried a DPoP proof (then the
/// token must be DPoP-bound: [`crate::token::parse_token_response_dpop`]).
#[derive(Debug)]
pub struct TokenResponse {
    /// The response to the last request sent.
    pub response: http::Response<Vec<u8>>,
    /// Whether the request carried a DPoP proof.
    pub proof_sent: bool,
}

impl OAuthClient {
    /// The client's DPoP key when `client_kwargs.dpop` is on: `dpop_key`, else the key
    /// kept in the shared store (generated and put there by the first instance that needed
    /// one). Its [`DpopKey::thumbprint`] is the `dpop_jkt` of authorization requests.
    ///
    /// # Errors
    /// [`crate::error::ConfigError::Invalid`] for an unusable `dpop_key`; the store's
    /// errors (a store that cannot keep a key answers `Unavailable`: configure one).
    pub async fn dpop_key(&self) -> Result<Option<Arc<DpopKey>>, ClientError> {
        let config = &self.inner.config;
        if !config.client_kwargs.dpop {
            return Ok(None);
        }
        if let Some(key) = config.parsed_dpop_key()? {
            return Ok(Some(key));
        }
        let mut slot = self.inner.dpop.key.lock().await;
        if let Some(key) = &*slot {
            return Ok(Some(Arc::clone(key)));
        }
        let fresh = DpopKey::generate_material(self.rng())?;
        let store_key = format!("dpop-key:{}", self.name());
        let kept = self.inner.shared.store.put_if_absent(&store_key, fresh.secret().as_bytes()).await?;
        let text = String::from_utf8(kept).map_err(|_| store_error("the kept key is not UTF-8"))?;
        let key = Arc::new(
            DpopKey::from_material(&PrivateKeyMaterial::new(text))
                .map_err(|_| store_error("the kept key is unreadable"))?,
        );
        *slot = Some(Arc::clone(&key));
        Ok(Some(key))
    }

    /// The latest `DPoP-Nonce` this process saw from `uri`'s origin.
    pub fn dpop_nonce(&self, uri: &str) -> Option<String> {
        self.inner.dpop.nonces.get(uri)
    }

    /// Sends a request built by the token builders ([`crate::token`]: code exchange,
    /// refresh, client credentials, device code…), with a DPoP proof when DPoP is on, and
    /// answers a `use_dpop_nonce` error once: with the server's nonce and fresh client
    /// authentication ([`crate::token::retry_request`]).
    ///
    /// # Errors
    /// [`DpopError::NonceRetryExhausted`] when the retry is answered `use_dpop_nonce`
    /// again; key and transport errors.
    pub async fn send_token_request(
        &self,
        request: http::Request<Vec<u8>>,
        metadata: Option<&ProviderMetadata>,
    ) -> Result<TokenResponse, ClientError> {
        let Some(key) = self.dpop_key().await? else {
            let response = self.send(request, Endpoint::Token).await?;
            return Ok(TokenResponse { response, proof_sent: false });
        };
        let uri = request.uri().to_string();
        let original = copy_request(&request);
        let mut first = request;
        let nonce = self.inner.dpop.nonces.get(&uri);
        key.add_proof(&mut first, self.now(), self.rng(), nonce.as_deref(), None)?;
        let response = self.send(first, Endpoint::Token).await?;
        self.inner.dpop.nonces.observe(&uri, &response);
        let Some(nonce) = token_nonce_challenge(&response) else {
            return Ok(TokenResponse { response, proof_sent: true });
        };
        let mut retry = crate::token::retry_request(&original, &self.inner.config, metadata, self.rng(), self.now())?;
        key.add_proof(&mut retry, self.now(), self.rng(), Some(&nonce), None)?;
        let response = self.send(retry, Endpoint::Token).await?;
        self.inner.dpop.nonces.observe(&uri, &response);
        if token_nonce_challenge(&response).is_some() {
            return Err(ClientError::Core(DpopError::NonceRetryExhausted { endpoint: Endpoint::Token }.into()));
        }
        Ok(TokenResponse { response, proof_sent: true })
    }

    /// Sends a resource or UserInfo request that presents `token`: with a proof (with
    /// `ath`) when the token is DPoP-bound, retried once on `WWW-Authenticate: DPoP
    /// error="use_dpop_nonce"`. Bearer tokens are sent as they are.
    ///
    /// # Errors
    /// [`DpopError::NonceRetryExhausted`] when the retry asks for a nonce again; a DPoP
    /// token on a client without DPoP is [`DpopError::UnsupportedKey`]; transport errors.
    pub(super) async fn send_presenting(
        &self,
        request: http::Request<Vec<u8>>,
        token: &Token,
        endpoint: Endpoint,
    ) -> Result<http::Response<Vec<u8>>, ClientError> {
        if !token.is_dpop() {
            return self.send(request, endpoint).await;
        }
        let key = self.dpop_key().await?.ok_or_else(|| {
            ClientError::Core(
                DpopError::UnsupportedKey("a DPoP-bound token needs `client_kwargs.dpop` and its key".to_owned())
                    .into(),
            )
        })?;
        let uri = request.uri().to_string();
        let mut retry = copy_request(&request);
        let mut first = request;
        let nonce = self.inner.dpop.nonces.get(&uri);
        key.add_proof(&mut first, self.now(), self.rng(), nonce.as_deref(), Some(&token.access_token))?;
        let response = self.send(first, endpoint).await?;
        self.inner.dpop.nonces.observe(&uri, &response);
        let Some(nonce) = resource_nonce_challenge(&response) else {
            return Ok(response);
        };
        key.add_proof(&mut retry, self.now(), self.rng(), Some(&nonce), Some(&token.access_token))?;
        let response = self.send(retry, endpoint).await?;
        self.inner.dpop.nonces.observe(&uri, &response);
        if resource_nonce_challenge(&response).is_some() {
            return Err(ClientError::Core(DpopError::NonceRetryExhausted { endpoint }.into()));
        }
        Ok(response)
    }
}

fn store_error(what: &str) -> ClientError {
    ClientError::Core(DpopError::Store(what.to_owned()).into())
}

fn copy_request(request: &http::Request<Vec<u8>>) -> http::Request<Vec<u8>> {
    let mut copy = http::Request::new(request.body().clone());
    *copy.method_mut() = request.method().clone();
    *copy.uri_mut() = request.uri().clone();
    *copy.version_mut() = request.version();
    *copy.headers_mut() = request.headers().clone();
    copy
}

#[cfg(test)]
mod tests {
    use crate::client::store::{MemoryStore, SharedStore};

    #[test]
    fn memory_store_keeps_the_first_value() {
        futures_util::FutureExt::now_or_never(async {
            let store = MemoryStore::new();
            let other = store.clone();
            assert_eq!(store.put_if_absent("k", b"one").await.unwrap(), b"one");
            assert_eq!(other.put_if_absent("k", b"two").await.unwrap(), b"one");
            assert_eq!(other.put_if_absent("k2", b"two").await.unwrap(), b"two");
        })
        .unwrap();
    }
}
