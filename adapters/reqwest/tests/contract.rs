//! The HttpClient contract, checked for `ReqwestClient` against a loopback server.

#[path = "../../contract-tests/support.rs"]
#[macro_use]
mod support;

use rpkit_reqwest::{ReqwestClient, DEFAULT_USER_AGENT};
use support::SHORT_TIMEOUT;

contract_tests!(ReqwestClient, DEFAULT_USER_AGENT);

#[tokio::test]
async fn from_client_enforces_the_adapter_timeout() {
    let inner = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    let client = ReqwestClient::from_client(inner).with_timeout(SHORT_TIMEOUT);
    support::hanging_server_times_out(&client).await;
}

#[tokio::test]
async fn from_client_sends_the_default_user_agent() {
    let inner = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    support::default_user_agent_is_sent(&ReqwestClient::from_client(inner), DEFAULT_USER_AGENT).await;
}

#[tokio::test]
async fn from_client_refuses_plain_http_to_a_non_loopback_host() {
    let inner = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    support::plain_http_to_a_non_loopback_host_is_refused_before_sending(&ReqwestClient::from_client(inner)).await;
}

#[tokio::test]
async fn from_client_with_the_danger_policy_sends_plain_http_to_any_host() {
    let inner = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    let client = ReqwestClient::from_client(inner)
        .with_transport_policy(rpkit::client::adapter::TransportPolicy::DangerAllowInsecureHttp);
    support::danger_allow_insecure_http_sends_plain_http_to_any_host(&client).await;
}
