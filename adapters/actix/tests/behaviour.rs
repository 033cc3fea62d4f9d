//! The behaviour suite shared with rpkit-axum, against the actix demo app.

#[path = "../examples/support/demo_app.rs"]
mod demo_app;
#[path = "../../contract-tests/web_suite.rs"]
#[macro_use]
mod web_suite;

use demo_app::{dev_client_config, dev_oauth1_client_config, start_dev_provider, Demo};
use rpkit::client::OAuth;
use web_suite::Site;

async fn start() -> Site {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let op = start_dev_provider(&base, |b| b.auto_login("alice")).await.unwrap();
    let oauth = OAuth::new(rpkit_reqwest::ReqwestClient::new().unwrap());
    oauth.register(dev_client_config(&op));
    oauth.register(dev_oauth1_client_config(&op, &base));
    let server = Demo::new(oauth, &base).serve(listener, 1).unwrap();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    Site { base, op, guard: Box::new(handle), browser: web_suite::browser() }
}

web_behaviour_suite!(actix_web::test);
