//! The certificate chain and ADV signatures verify under fakewa's published keys, and not under others.

use wacore::libsignal::protocol::{KeyPair, PublicKey};
use waproto::buffa::Message as _;
use waproto::whatsapp as wa;

use crate::common::start_fake;

fn verify(key: &[u8; 32], msg: &[u8], sig: &[u8]) -> bool {
    PublicKey::from_djb_public_key_bytes(key)
        .expect("a 32-byte key")
        .verify_signature(msg, sig)
}

#[tokio::test]
async fn cert_chain_verifies_under_published_root_only() {
    let fake = start_fake().await;
    let chain = wa::CertChain::decode_from_slice(&fake.cert_chain()).expect("chain decodes");
    let inter = chain.intermediate.into_option().expect("intermediate");
    let leaf = chain.leaf.into_option().expect("leaf");
    let inter_details = inter.details.clone().expect("details");
    let inter_sig = inter.signature.clone().expect("signature");
    let root = fake.root_public_key();
    assert!(
        verify(&root, &inter_details, &inter_sig),
        "intermediate signed by the root"
    );
    let other = KeyPair::generate(&mut rand::rng());
    let other: [u8; 32] = other.public_key.public_key_bytes().try_into().expect("32");
    assert!(
        !verify(&other, &inter_details, &inter_sig),
        "another key must not verify"
    );

    let d = wa::cert_chain::noise_certificate::Details::decode_from_slice(&inter_details)
        .expect("details decode");
    assert_eq!(d.issuer_serial.unwrap_or(0), 0);
    let inter_key: [u8; 32] = d.key.clone().expect("key").try_into().expect("32");
    let leaf_details = leaf.details.clone().expect("leaf details");
    let leaf_sig = leaf.signature.clone().expect("leaf sig");
    assert!(
        verify(&inter_key, &leaf_details, &leaf_sig),
        "leaf signed by the intermediate"
    );
    assert!(!verify(&root, &leaf_details, &leaf_sig));
    let ld = wa::cert_chain::noise_certificate::Details::decode_from_slice(&leaf_details)
        .expect("leaf details decode");
    assert_eq!(ld.issuer_serial, d.serial);
    let static_key: [u8; 32] = ld.key.clone().expect("key").try_into().expect("32");
    // wacore's own structural checks (signatures are skipped under the danger feature, checked above).
    wacore::noise::HandshakeUtils::verify_server_cert(&fake.cert_chain(), &static_key)
        .expect("wacore accepts the chain");
    fake.shutdown().await;
}

#[tokio::test]
async fn data_dir_keeps_the_server_identity() {
    crate::common::init();
    let dir = std::env::temp_dir().join(format!("fakewa-test-{}", std::process::id()));
    let config = fakewa::FakeWaConfig {
        data_dir: Some(dir.clone()),
        ..Default::default()
    };
    let a = fakewa::FakeWa::start(config.clone()).await.expect("start");
    let (root_a, chain_a) = (a.root_public_key(), a.cert_chain());
    a.shutdown().await;
    let b = fakewa::FakeWa::start(config).await.expect("restart");
    assert_eq!(root_a, b.root_public_key());
    let leaf = |c: &[u8]| {
        let chain = wa::CertChain::decode_from_slice(c).expect("chain");
        let leaf = chain.leaf.into_option().expect("leaf");
        wa::cert_chain::noise_certificate::Details::decode_from_slice(&leaf.details.expect("d"))
            .expect("details")
            .key
    };
    assert_eq!(
        leaf(&chain_a),
        leaf(&b.cert_chain()),
        "same Noise static key"
    );
    b.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}
