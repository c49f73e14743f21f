//! The media listener's certificates: a fakewa media CA (kept in the data directory as `media-ca.pem` and
//! `media-ca-key.pem`, so a restart keeps it and clients keep trusting it) and a leaf for `127.0.0.1` and
//! `localhost` signed by it at every start. Clients trust the CA explicitly; nothing here disables
//! verification.

use std::path::Path;
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::FakeWaError;

/// The CA certificate file in the data directory (the PEM clients trust).
pub(crate) const CA_FILE: &str = "media-ca.pem";
const CA_KEY_FILE: &str = "media-ca-key.pem";
const CA_NAME: &str = "fakewa media CA";

/// The CA (as PEM, for clients) and the rustls configuration of the listener.
pub(crate) struct MediaTls {
    pub ca_pem: String,
    pub server_config: Arc<rustls::ServerConfig>,
}

fn tls_err(e: impl std::fmt::Display) -> FakeWaError {
    FakeWaError::Tls(e.to_string())
}

/// The CA's parameters. Deterministic, so a CA loaded from disk signs leaves whose issuer name matches
/// the subject of the stored certificate.
fn ca_params() -> Result<CertificateParams, FakeWaError> {
    let mut params = CertificateParams::new(Vec::<String>::new()).map_err(tls_err)?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, CA_NAME);
    dn.push(DnType::OrganizationName, "fakewa");
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.not_before = rcgen::date_time_ymd(2023, 11, 14);
    params.not_after = rcgen::date_time_ymd(2033, 5, 18);
    Ok(params)
}

fn leaf_params() -> Result<CertificateParams, FakeWaError> {
    let mut params = CertificateParams::new(vec!["localhost".to_string()]).map_err(tls_err)?;
    params
        .subject_alt_names
        .push(SanType::IpAddress([127, 0, 0, 1].into()));
    params
        .distinguished_name
        .push(DnType::CommonName, "fakewa media");
    params.not_before = rcgen::date_time_ymd(2023, 11, 14);
    params.not_after = rcgen::date_time_ymd(2033, 5, 18);
    Ok(params)
}

/// The CA key and certificate PEM: from `data_dir` when saved there, else new (and saved).
fn load_or_create_ca(data_dir: Option<&Path>) -> Result<(KeyPair, String), FakeWaError> {
    if let Some(dir) = data_dir {
        let (cert_path, key_path) = (dir.join(CA_FILE), dir.join(CA_KEY_FILE));
        if cert_path.exists() && key_path.exists() {
            let key = KeyPair::from_pem(&std::fs::read_to_string(&key_path)?)
                .map_err(|e| FakeWaError::Tls(format!("{}: {e}", key_path.display())))?;
            return Ok((key, std::fs::read_to_string(&cert_path)?));
        }
    }
    let key = KeyPair::generate().map_err(tls_err)?;
    let pem = ca_params()?.self_signed(&key).map_err(tls_err)?.pem();
    if let Some(dir) = data_dir {
        std::fs::create_dir_all(dir)?;
        std::fs::write(dir.join(CA_KEY_FILE), key.serialize_pem())?;
        std::fs::write(dir.join(CA_FILE), &pem)?;
    }
    Ok((key, pem))
}

impl MediaTls {
    pub fn load_or_create(data_dir: Option<&Path>) -> Result<Self, FakeWaError> {
        let (ca_key, ca_pem) = load_or_create_ca(data_dir)?;
        let ca_der = CertificateDer::from_pem_slice(ca_pem.as_bytes()).map_err(tls_err)?;
        let issuer = Issuer::new(ca_params()?, ca_key);
        let leaf_key = KeyPair::generate().map_err(tls_err)?;
        let leaf = leaf_params()?
            .signed_by(&leaf_key, &issuer)
            .map_err(tls_err)?;
        let key_der = PrivateKeyDer::try_from(leaf_key.serialize_der()).map_err(tls_err)?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(tls_err)?
            .with_no_client_auth()
            .with_single_cert(vec![leaf.der().clone(), ca_der], key_der)
            .map_err(tls_err)?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self {
            ca_pem,
            server_config: Arc::new(config),
        })
    }
}
