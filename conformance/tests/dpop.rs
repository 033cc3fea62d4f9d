//! DPoP (RFC 9449) against the development provider: the DPoP conformance profile, the
//! provider's own strictness (a DPoP token presented as Bearer, a replayed proof, a
//! proof for another URL), and one generated key shared by two instances over a shared
//! store.

mod common;

use rpkit::authorize::PendingSet;
use rpkit::callback::CallbackParams;
use rpkit::client::{AuthorizeOptions, MemoryStore, OAuth, OAuthClient};
use rpkit::dpop::DpopKey;
use rpkit::rand::SystemRandom;
use rpkit::{ClientConfig, Token, UnixTime};
use rpkit_conformance::cases::{render_table, run_profile, Profile};
use rpkit_conformance::RunningProvider;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dpop_profile() {
    let reports = run_profile(Profile::Dpop).await;
    assert_eq!(reports.len(), Profile::Dpop.cases().len());
    let failed: Vec<_> = reports.iter().filter(|r| !r.passed()).cloned().collect();
    assert!(failed.is_empty(), "DPoP cases failed:\n{}", render_table(&failed));
}

fn config(op: &RunningProvider, name: &str) -> ClientConfig {
    ClientConfig::new(name)
        .client_id(common::CLIENT_ID)
        .client_secret(common::SECRET)
        .server_metadata_url(op.discovery_url())
        .redirect_uri(common::REDIRECT)
        .scope("openid profile")
        .dpop(None)
}

async fn login(client: &OAuthClient) -> Token {
    let mut session = PendingSet::new();
    let url = client.authorize_redirect(&mut session, &AuthorizeOptions::default()).await.unwrap();
    let resp = common::http().get(url.as_str()).send().await.unwrap();
    let back = url::Url::parse(resp.headers()["location"].to_str().unwrap()).unwrap();
    let params = CallbackParams::from_query(back.query().unwrap_or_default()).unwrap();
    client.authorize_access_token(&mut session, &params).await.unwrap()
}

fn now() -> UnixTime {
    UnixTime::from_system_time(std::time::SystemTime::now())
}

#[tokio::test]
async fn the_provider_refuses_a_dpop_token_as_bearer_a_replayed_proof_and_a_proof_for_another_url() {
    let op = common::builder().auto_login("alice").start().await.unwrap();
    let oauth = OAuth::new(rpkit_reqwest::ReqwestClient::new().unwrap());
    let client = oauth.register(config(&op, "dev"));
    let token = login(&client).await;
    assert!(token.is_dpop());
    let key = client.dpop_key().await.unwrap().unwrap();
    let at = token.access_token.secret();
    let http = common::http();
    let userinfo = op.userinfo_endpoint();

    let as_bearer = http.get(&userinfo).bearer_auth(at).send().await.unwrap();
    assert_eq!(as_bearer.status(), 401);
    assert!(as_bearer.headers()["www-authenticate"].to_str().unwrap().starts_with("DPoP"));

    let rng = SystemRandom::new();
    let proof = key.proof("GET", &userinfo, now(), &rng, None, Some(&token.access_token)).unwrap();
    let send =
        |proof: String| http.get(&userinfo).header("authorization", format!("DPoP {at}")).header("dpop", proof).send();
    assert_eq!(send(proof.clone()).await.unwrap().status(), 200);
    assert_eq!(send(proof).await.unwrap().status(), 401, "a replayed jti is refused");

    let elsewhere = key.proof("GET", &op.token_endpoint(), now(), &rng, None, Some(&token.access_token)).unwrap();
    assert_eq!(send(elsewhere).await.unwrap().status(), 401, "a proof for another htu is refused");
    let post = key.proof("POST", &userinfo, now(), &rng, None, Some(&token.access_token)).unwrap();
    assert_eq!(send(post).await.unwrap().status(), 401, "a proof for another htm is refused");
    let no_ath = key.proof("GET", &userinfo, now(), &rng, None, None).unwrap();
    assert_eq!(send(no_ath).await.unwrap().status(), 401, "a proof without ath is refused");
    let other_key = DpopKey::generate(&rng).unwrap();
    let stolen = other_key.proof("GET", &userinfo, now(), &rng, None, Some(&token.access_token)).unwrap();
    assert_eq!(send(stolen).await.unwrap().status(), 401, "a proof by another key is refused");

    let refused: Vec<_> = op.dpop_proofs().into_iter().filter_map(|p| p.refused).collect();
    assert!(refused.iter().any(|r| r.contains("jti")), "{refused:?}");
    assert!(refused.iter().any(|r| r.contains("htu")), "{refused:?}");
    assert!(refused.iter().any(|r| r.contains("htm")), "{refused:?}");
    assert!(refused.iter().any(|r| r.contains("ath")), "{refused:?}");
    op.shutdown().await;
}

#[tokio::test]
async fn two_instances_sharing_a_store_prove_with_one_generated_key() {
    let op = common::builder().auto_login("alice").start().await.unwrap();
    let store = MemoryStore::new();
    let instance = || OAuth::builder(rpkit_reqwest::ReqwestClient::new().unwrap()).shared_store(store.clone()).build();
    let (a, b) = (instance(), instance());
    let client_a = a.register(config(&op, "dev"));
    let client_b = b.register(config(&op, "dev"));
    let (key_a, key_b) = (client_a.dpop_key().await.unwrap().unwrap(), client_b.dpop_key().await.unwrap().unwrap());
    assert_eq!(key_a.thumbprint(), key_b.thumbprint());

    // A token bound on instance A is usable on instance B.
    let token = login(&client_a).await;
    let claims = client_b.userinfo(&token).await.unwrap();
    assert_eq!(claims.sub(), Some("alice"));

    // Without a shared store, each registry has its own key.
    let alone = OAuth::new(rpkit_reqwest::ReqwestClient::new().unwrap()).register(config(&op, "dev"));
    assert_ne!(alone.dpop_key().await.unwrap().unwrap().thumbprint(), key_a.thumbprint());
    op.shutdown().await;
}

#[tokio::test]
async fn a_configured_key_is_used_as_is() {
    let op = common::builder().auto_login("alice").start().await.unwrap();
    let material = DpopKey::generate_material(&SystemRandom::new()).unwrap();
    let expected = DpopKey::from_material(&material).unwrap();
    let mut cfg = config(&op, "dev");
    cfg.dpop_key = Some(material);
    let client = OAuth::new(rpkit_reqwest::ReqwestClient::new().unwrap()).register(cfg);
    let token = login(&client).await;
    assert_eq!(op.dpop_binding(token.access_token.secret()).as_deref(), Some(expected.thumbprint()));
    op.shutdown().await;
}
