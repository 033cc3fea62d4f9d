//! Dynamic client registration (RFC 7591) and its management (RFC 7592) over the
//! client's [`HttpClient`](super::HttpClient).

use super::{send_capped, ClientError, OAuth, OAuthClient};
use crate::config::ClientConfig;
use crate::discovery::MetadataCache;
use crate::error::Endpoint;
use crate::registration::{
    delete_request, parse_delete_response, parse_management_response, parse_registration_response, read_request,
    registration_endpoint, registration_request, update_request, ClientMetadata, RegisteredClient,
};
use crate::secret::InitialAccessToken;

impl OAuth {
    /// Registers a client at the provider (RFC 7591) and in this registry, and returns it
    /// with its registration (keep [`RegisteredClient`] — its registration access token
    /// reads, updates and deletes the registration).
    ///
    /// `base` names the client and says where the provider is: `server_metadata_url` (the
    /// registration endpoint is then discovered unless `endpoint` is given) or explicit
    /// endpoints; its `redirect_uri`, `scope` and authentication method win over the
    /// registered ones ([`RegisteredClient::apply_to`]).
    ///
    /// # Errors
    /// [`crate::registration::RegistrationError`] for the provider's registration errors;
    /// [`crate::error::ConfigError::Missing`] (`registration_endpoint`) when neither
    /// given nor discovered; discovery errors; transport failures.
    pub async fn register_dynamic(
        &self,
        base: ClientConfig,
        endpoint: Option<&str>,
        metadata: &ClientMetadata,
        initial_access_token: Option<&InitialAccessToken>,
    ) -> Result<(OAuthClient, RegisteredClient), ClientError> {
        let http = &*self.shared.http;
        let discovered = match (endpoint, crate::login::discovery_request(&base)?) {
            (None, Some(request)) => {
                let response = send_capped(http, request, Endpoint::Discovery).await?;
                let expected = base.expected_issuer().unwrap_or_default();
                Some(MetadataCache::from_response(&response, &expected, self.shared.clock.now())?.metadata)
            }
            _ => None,
        };
        let url = registration_endpoint(&base, endpoint, discovered.as_ref())?;
        let request = registration_request(&base, url, metadata, initial_access_token)?;
        let response = send_capped(http, request, Endpoint::Registration).await?;
        let registered = parse_registration_response(&response)?;
        let client = self.register(registered.apply_to(base));
        Ok((client, registered))
    }
}

impl OAuthClient {
    /// Reads this client's registration (RFC 7592 §2.1) with its registration access
    /// token: the metadata as the provider now holds it (a rotated registration access
    /// token replaces the old one in the result).
    ///
    /// # Errors
    /// [`crate::registration::RegistrationError::NotManageable`] without a client URI or
    /// token; `ClientIdMismatch`; the provider's error (often `401` once deleted);
    /// transport failures.
    pub async fn read_registration(&self, registered: &RegisteredClient) -> Result<RegisteredClient, ClientError> {
        let request = read_request(&self.inner.config, registered)?;
        let response = self.send(request, Endpoint::Registration).await?;
        Ok(parse_management_response(&response, registered)?)
    }

    /// Replaces this client's registered metadata with `metadata` (RFC 7592 §2.2: the
    /// whole set; `client_id` and `client_secret` are added). Register
    /// `registered.apply_to(config)` again if the credentials changed.
    ///
    /// # Errors
    /// As [`OAuthClient::read_registration`]; the registration errors
    /// (`invalid_redirect_uri`, `invalid_client_metadata`, …).
    pub async fn update_registration(
        &self,
        registered: &RegisteredClient,
        metadata: &ClientMetadata,
    ) -> Result<RegisteredClient, ClientError> {
        let request = update_request(&self.inner.config, registered, metadata)?;
        let response = self.send(request, Endpoint::Registration).await?;
        Ok(parse_management_response(&response, registered)?)
    }

    /// Deletes this client's registration at the provider (RFC 7592 §2.3). The client
    /// stays in the registry; its credentials no longer work.
    ///
    /// # Errors
    /// As [`OAuthClient::read_registration`].
    pub async fn delete_registration(&self, registered: &RegisteredClient) -> Result<(), ClientError> {
        let request = delete_request(&self.inner.config, registered)?;
        let response = self.send(request, Endpoint::Registration).await?;
        Ok(parse_delete_response(&response)?)
    }
}
