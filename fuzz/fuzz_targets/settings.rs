//! The settings file: `rpkit_settings::Settings::parse` as JSON and as TOML, and
//! `rpkit::config::ClientConfig::from_value` (and its `Deserialize`) on the input as JSON;
//! then what the client builds from each configuration, which reads the configured key
//! material (`private_key`, `decryption_key`: PEM or JWK text).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rpkit::id_token::IdTokenValidator;
use rpkit::jose::sign::SigningKey;
use rpkit::logout::BackchannelLogoutValidator;
use rpkit::secret::{ClientSecret, PrivateKeyMaterial};
use rpkit::userinfo::UserInfoContext;
use rpkit::ClientConfig;
use rpkit_settings::{Format, Settings};
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    if let Some(text) = rpkit_fuzz::text(data) {
        for (format, path) in [(Format::Json, "settings.json"), (Format::Toml, "settings.toml")] {
            match Settings::parse(text, format, path) {
                Ok(settings) => check_settings(&settings),
                Err(e) => {
                    let _ = e.to_string();
                }
            }
        }
    }
    if let Ok(value) = serde_json::from_slice::<Value>(data) {
        let direct = ClientConfig::from_value("fuzz", &value);
        let via_serde = serde_json::from_value::<ClientConfig>(value);
        assert_eq!(direct.is_ok(), via_serde.is_ok());
        if let Ok(config) = direct {
            assert_eq!(config.name, "fuzz");
            use_config(&config);
        }
    }
});

fn check_settings(settings: &Settings) {
    let _ = format!("{settings:?}");
    assert_eq!(settings.clients().count(), settings.len());
    for (name, config) in settings.clients() {
        assert_eq!(config.name, name);
        // Registering with no code kwargs gives back the configuration as read.
        for overwrite in [false, true] {
            let registered = settings.register(name, &Value::Null, overwrite).expect("register a parsed client");
            assert_eq!(&registered, config);
        }
        use_config(config);
    }
}

fn use_config(config: &ClientConfig) {
    // Debug never depends on the secrets.
    let mut blank = config.clone();
    blank.client_secret = blank.client_secret.as_ref().map(|_| ClientSecret::new("x"));
    blank.private_key = blank.private_key.as_ref().map(|_| PrivateKeyMaterial::new("x"));
    blank.decryption_key = blank.decryption_key.as_ref().map(|_| PrivateKeyMaterial::new("x"));
    assert_eq!(format!("{config:?}"), format!("{blank:?}"), "Debug shows a secret");

    let _ = (config.is_openid(), config.leeway(), config.expected_issuer(), config.scope_str());
    if let Some(material) = &config.private_key {
        if let Ok(key) = SigningKey::from_material(material) {
            let _ = key.public_jwk();
        }
    }
    let _ = IdTokenValidator::from_config(config, None);
    let _ = UserInfoContext::from_config(config, None);
    let _ = BackchannelLogoutValidator::from_config(config, None);
}
