//! Standard Webhooks signatures (<https://www.standardwebhooks.com>): `webhook-id`,
//! `webhook-timestamp` (unix seconds) and `webhook-signature: v1,<base64 HMAC-SHA256>` over
//! `"{id}.{timestamp}.{body}"`.
//!
//! The key: a secret written `whsec_<base64>` (the Standard Webhooks form) signs with the
//! decoded bytes; any other secret signs with its raw UTF-8 bytes. A `whsec_` secret whose tail
//! is not valid base64 is also used raw.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The HMAC key of a configured secret.
pub fn secret_key(secret: &str) -> Vec<u8> {
    secret
        .strip_prefix("whsec_")
        .and_then(|b64| STANDARD.decode(b64).ok())
        .unwrap_or_else(|| secret.as_bytes().to_vec())
}

/// `v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`.
pub fn sign(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mac) => mac,
        // HMAC accepts keys of any length; this arm cannot be taken.
        Err(_) => return String::new(),
    };
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// The three headers of a signed request, for `secret`.
pub fn headers(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> [(&'static str, String); 3] {
    [
        ("webhook-id", id.to_string()),
        ("webhook-timestamp", timestamp.to_string()),
        (
            "webhook-signature",
            sign(&secret_key(secret), id, timestamp, body),
        ),
    ]
}

/// Whether `signature_header` (space-separated `v1,<sig>` entries) holds a valid signature of the
/// request for `secret`. What a receiver does; used by the tests.
pub fn verify(secret: &str, id: &str, timestamp: i64, body: &[u8], signature_header: &str) -> bool {
    let key = secret_key(secret);
    let Some(expected) = sign(&key, id, timestamp, body)
        .strip_prefix("v1,")
        .map(str::to_string)
    else {
        return false;
    };
    let Ok(expected) = STANDARD.decode(expected) else {
        return false;
    };
    signature_header.split_whitespace().any(|entry| {
        entry
            .strip_prefix("v1,")
            .and_then(|sig| STANDARD.decode(sig).ok())
            .is_some_and(|sig| constant_time_eq(&sig, &expected))
    })
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    // The reference vector of the Standard Webhooks specification's libraries.
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TS: i64 = 1_614_265_330;
    const BODY: &str = r#"{"test": 2432232314}"#;
    const EXPECTED: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    #[test]
    fn matches_the_standard_webhooks_reference_vector() {
        assert_eq!(sign(&secret_key(SECRET), ID, TS, BODY.as_bytes()), EXPECTED);
        let h = headers(SECRET, ID, TS, BODY.as_bytes());
        assert_eq!(h[0], ("webhook-id", ID.to_string()));
        assert_eq!(h[1], ("webhook-timestamp", TS.to_string()));
        assert_eq!(h[2], ("webhook-signature", EXPECTED.to_string()));
    }

    #[test]
    fn verification_round_trips_and_refuses_tampering() {
        for secret in [SECRET, "a plain secret", "whsec_not base64!"] {
            let sig = sign(&secret_key(secret), ID, TS, BODY.as_bytes());
            assert!(verify(secret, ID, TS, BODY.as_bytes(), &sig), "{secret}");
            assert!(verify(
                secret,
                ID,
                TS,
                BODY.as_bytes(),
                &format!("v1,bm9wZQ== {sig}")
            ));
            assert!(!verify(secret, ID, TS + 1, BODY.as_bytes(), &sig));
            assert!(!verify(secret, ID, TS, b"{}", &sig));
            assert!(!verify("other", ID, TS, BODY.as_bytes(), &sig));
            assert!(!verify(secret, ID, TS, BODY.as_bytes(), "v2,abc"));
        }
    }

    #[test]
    fn plain_secrets_sign_with_their_utf8_bytes() {
        assert_eq!(secret_key("s3cret"), b"s3cret".to_vec());
        assert_eq!(secret_key("whsec_czNjcmV0"), b"s3cret".to_vec());
    }
}
