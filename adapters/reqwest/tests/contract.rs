//! The HttpClient contract, checked for `ReqwestClient` against a loopback server.

#[path = "../../contract-tests/support.rs"]
mod support;

use rpkit_reqwest::{ReqwestClient, DEFAULT_USER_AGENT};
use std::time::Duration;
use support::SHORT_TIMEOUT;

fn client() -> ReqwestClient {
    ReqwestClient::builder().connect_timeout(SHORT_TIMEOUT).timeout(SHORT_TIMEOUT).build().expect("client")
}

#[tokio::test]
async fn json_response_comes_back_whole() {
    support::json_response_comes_back_whole(&client()).await;
}

#[tokio::test]
async fn hanging_server_times_out() {
    support::hanging_server_times_out(&client()).await;
}

#[tokio::test]
async fn hanging_server_times_out_with_from_timeout_secs() {
    support::hanging_server_times_out(&ReqwestClient::from_timeout_secs(0.3).expect("client")).await;
}

#[tokio::test]
async fn stalled_body_times_out() {
    support::stalled_body_times_out(&client()).await;
}

#[tokio::test]
async fn unanswered_connect_times_out() {
    let client = ReqwestClient::builder()
        .connect_timeout(SHORT_TIMEOUT)
        .timeout(Duration::from_secs(4))
        .build()
        .expect("client");
    support::unanswered_connect_times_out(&client).await;
}

#[tokio::test]
async fn oversized_streamed_body_is_cut_off() {
    support::oversized_streamed_body_is_cut_off(&client()).await;
}

#[tokio::test]
async fn oversized_content_length_is_refused_before_the_body() {
    support::oversized_content_length_is_refused_before_the_body(&client()).await;
}

#[tokio::test]
async fn declared_oversize_is_refused_without_waiting_for_the_body() {
    support::declared_oversize_is_refused_without_waiting_for_the_body(&client()).await;
}

#[tokio::test]
async fn body_exactly_at_the_cap_is_accepted() {
    let client = ReqwestClient::builder().timeout(Duration::from_secs(4)).build().expect("client");
    support::body_exactly_at_the_cap_is_accepted(&client).await;
}

#[tokio::test]
async fn redirect_is_returned_not_followed() {
    support::redirect_is_returned_not_followed(&client()).await;
}

#[tokio::test]
async fn server_error_page_is_a_response_not_an_error() {
    support::server_error_page_is_a_response_not_an_error(&client()).await;
}

#[tokio::test]
async fn default_user_agent_is_sent() {
    support::default_user_agent_is_sent(&client(), DEFAULT_USER_AGENT).await;
}

#[tokio::test]
async fn configured_user_agent_is_sent() {
    let client = ReqwestClient::builder().user_agent("my-rp/3 rpkit").build().expect("client");
    support::default_user_agent_is_sent(&client, "my-rp/3 rpkit").await;
}

#[tokio::test]
async fn request_user_agent_is_kept() {
    support::request_user_agent_is_kept(&client()).await;
}

#[tokio::test]
async fn post_body_and_headers_arrive_unchanged() {
    support::post_body_and_headers_arrive_unchanged(&client()).await;
}

#[tokio::test]
async fn refused_connection_is_a_connect_error_without_secrets() {
    support::refused_connection_is_a_connect_error_without_secrets(&client()).await;
}

#[tokio::test]
async fn relative_uri_is_an_error_not_a_panic() {
    support::relative_uri_is_an_error_not_a_panic(&client()).await;
}

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
async fn https_only_refuses_plain_http() {
    let client = ReqwestClient::builder().https_only(true).build().expect("client");
    let server = support::Server::start().await;
    let req = http::Request::get(server.url("/json")).body(Vec::new()).unwrap();
    let err = rpkit::client::HttpClient::send(&client, req, support::CAP).await.unwrap_err();
    assert!(matches!(err, rpkit::client::TransportError::Other(_)), "{err:?}");
    assert_eq!(server.hits("/json"), 0);
}
