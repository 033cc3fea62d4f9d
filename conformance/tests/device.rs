//! The device authorization grant (RFC 8628) and dynamic client registration (RFC
//! 7591/7592) conformance profiles, and the in-process provider's endpoints for them.

use std::time::Duration;

use rpkit_conformance::cases::{render_table, run_profile, Expected, Profile};
use rpkit_conformance::{ClientRegistration, DevProvider, DevUser};

async fn assert_profile(profile: Profile) {
    let reports = run_profile(profile).await;
    assert_eq!(reports.len(), profile.cases().len(), "every case of {profile} reports");
    let failed: Vec<_> = reports.iter().filter(|r| !r.passed()).cloned().collect();
    assert!(
        failed.is_empty(),
        "{} of {} {profile} cases failed:\n{}",
        failed.len(),
        reports.len(),
        render_table(&failed)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_profile() {
    assert_profile(Profile::Device).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_profile() {
    assert_profile(Profile::Registration).await;
}

#[test]
fn the_device_and_registration_cases_cover_the_brief() {
    let device: Vec<_> = Profile::Device.cases().iter().map(|c| (c.id, c.expected == Expected::Accept)).collect();
    assert_eq!(
        device,
        [
            ("rpkit-device-login", true),
            ("rpkit-device-slow_down", true),
            ("rpkit-device-expired_token", false),
            ("rpkit-device-access_denied", false),
            ("rpkit-device-deadline", false),
        ]
    );
    assert_eq!(Profile::Registration.cases().len(), 3);
    assert!(Profile::ALL.contains(&Profile::Device) && Profile::ALL.contains(&Profile::Registration));
}

async fn provider() -> rpkit_conformance::RunningProvider {
    DevProvider::builder()
        .client(ClientRegistration::public("tv"))
        .user(DevUser::new("alice"))
        .start()
        .await
        .expect("the provider starts")
}

fn http() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(10)).build().unwrap()
}

async fn device_authorize(op: &rpkit_conformance::RunningProvider) -> serde_json::Value {
    let r = http()
        .post(op.device_authorization_endpoint())
        .form(&[("client_id", "tv"), ("scope", "profile")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

async fn poll(op: &rpkit_conformance::RunningProvider, device_code: &str) -> (u16, serde_json::Value) {
    let r = http()
        .post(op.token_endpoint())
        .form(&[
            ("grant_type", rpkit::device::DEVICE_CODE_GRANT_TYPE),
            ("device_code", device_code),
            ("client_id", "tv"),
        ])
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test]
async fn the_provider_answers_slow_down_to_a_poll_faster_than_the_interval() {
    let op = provider().await;
    op.device_user().set_timing(2, Duration::from_secs(30));
    let a = device_authorize(&op).await;
    let code = a["device_code"].as_str().unwrap();
    assert_eq!(a["interval"], 2);
    assert_eq!(poll(&op, code).await.1["error"], "authorization_pending");
    assert_eq!(poll(&op, code).await.1["error"], "slow_down");
    assert_eq!(op.device_user().polls(a["user_code"].as_str().unwrap()).len(), 2);
    op.shutdown().await;
}

#[tokio::test]
async fn the_provider_issues_a_token_once_approved_and_only_once() {
    let op = provider().await;
    op.device_user().set_timing(1, Duration::from_secs(30));
    let a = device_authorize(&op).await;
    let (code, user_code) = (a["device_code"].as_str().unwrap(), a["user_code"].as_str().unwrap());
    assert!(!op.device_user().approve(user_code, "mallory"), "unknown users cannot approve");
    assert!(op.device_user().approve(user_code, "alice"));
    let (status, body) = poll(&op, code).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["access_token"].is_string());
    assert_eq!(poll(&op, code).await.1["error"], "invalid_grant", "a device code is redeemed once");
    op.shutdown().await;
}

#[tokio::test]
async fn the_provider_refuses_another_clients_device_code_and_a_bad_registration_token() {
    let op = DevProvider::builder()
        .client(ClientRegistration::public("tv"))
        .client(ClientRegistration::public("other"))
        .user(DevUser::new("alice"))
        .start()
        .await
        .unwrap();
    let a = device_authorize(&op).await;
    let r = http()
        .post(op.token_endpoint())
        .form(&[
            ("grant_type", rpkit::device::DEVICE_CODE_GRANT_TYPE),
            ("device_code", a["device_code"].as_str().unwrap()),
            ("client_id", "other"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<serde_json::Value>().await.unwrap()["error"], "invalid_grant");
    let reg = http()
        .post(op.registration_endpoint())
        .json(&serde_json::json!({"redirect_uris": ["http://127.0.0.1:9/cb"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(reg.status(), 201);
    let reg: serde_json::Value = reg.json().await.unwrap();
    let uri = reg["registration_client_uri"].as_str().unwrap();
    let wrong = http().get(uri).bearer_auth("wrong").send().await.unwrap();
    assert_eq!(wrong.status(), 401);
    let right = http().get(uri).bearer_auth(reg["registration_access_token"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(right.status(), 200);
    op.shutdown().await;
}

#[tokio::test]
async fn a_person_can_approve_a_user_code_on_the_verification_page() {
    let op = provider().await;
    let a = device_authorize(&op).await;
    let complete = a["verification_uri_complete"].as_str().unwrap();
    let page = http().get(complete).send().await.unwrap().text().await.unwrap();
    let user_code = a["user_code"].as_str().unwrap();
    assert!(page.contains(user_code), "{page}");
    let uri = a["verification_uri"].as_str().unwrap();
    let bad = http().post(uri).form(&[("user_code", "NOPE-NOPE"), ("username", "alice"), ("action", "approve")]);
    assert_eq!(bad.send().await.unwrap().status(), 400);
    let lower = user_code.to_ascii_lowercase();
    let ok = http().post(uri).form(&[("user_code", lower.as_str()), ("username", "alice"), ("action", "approve")]);
    assert_eq!(ok.send().await.unwrap().status(), 200);
    let (status, body) = poll(&op, a["device_code"].as_str().unwrap()).await;
    assert_eq!(status, 200, "{body}");
    op.shutdown().await;
}
