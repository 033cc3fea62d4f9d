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
