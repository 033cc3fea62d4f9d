//! The HttpClient contract, checked for `HyperClient` against a loopback server.

#[path = "../../contract-tests/support.rs"]
#[macro_use]
mod support;

use rpkit_hyper::{HyperClient, DEFAULT_USER_AGENT};
use support::SHORT_TIMEOUT;

contract_tests!(HyperClient, DEFAULT_USER_AGENT);

#[tokio::test]
async fn hanging_server_times_out_with_with_timeout() {
    support::hanging_server_times_out(&HyperClient::new().expect("client").with_timeout(SHORT_TIMEOUT)).await;
}
