//! The connections a run uses: `--connections` HTTP/2 connections to the
//! target, plaintext (`--insecure`) or TLS.

use std::path::PathBuf;
use std::time::Duration;

use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

use crate::error::LoadError;
use crate::grpc_go::GrpcGo;

/// One HTTP/2 connection, its failures read as grpc-go reads them.
pub type Connection = GrpcGo<Channel>;

#[derive(Clone, Debug, Default)]
pub struct ConnectOptions {
    /// `host:port`, or a URI with a scheme.
    pub target: String,
    pub insecure: bool,
    pub cacert: Option<PathBuf>,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    pub cname: Option<String>,
    pub skip_tls_verify: bool,
    pub authority: Option<String>,
    pub connect_timeout: Option<Duration>,
    pub keepalive: Option<Duration>,
    pub connections: usize,
}

impl ConnectOptions {
    /// The endpoint of one connection. Connections are made lazily, like
    /// ghz's non-blocking dial: the first calls pay for the handshake.
    pub fn endpoint(&self) -> Result<Endpoint, LoadError> {
        let fail = |message: String| LoadError::Connect {
            target: self.target.clone(),
            message,
        };
        // With --skipTLS the connector does TLS itself, so tonic must see
        // a plain URI.
        let uri = if self.target.contains("://") {
            self.target.clone()
        } else if self.insecure || self.skip_tls_verify {
            format!("http://{}", self.target)
        } else {
            format!("https://{}", self.target)
        };
        let mut endpoint = Endpoint::from_shared(uri)
            .map_err(|e| fail(format!("not a host:port or URI ({e})")))?
            .tcp_nodelay(true)
            .http2_adaptive_window(true)
            .user_agent(concat!("haplog-load/", env!("CARGO_PKG_VERSION")))
            .map_err(|e| fail(e.to_string()))?;
        if let Some(timeout) = self.connect_timeout.filter(|t| !t.is_zero()) {
            endpoint = endpoint.connect_timeout(timeout);
        }
        if let Some(interval) = self.keepalive.filter(|k| !k.is_zero()) {
            endpoint = endpoint
                .http2_keep_alive_interval(interval)
                .keep_alive_timeout(interval)
                .keep_alive_while_idle(true);
        }
        if let Some(authority) = &self.authority {
            let scheme = if self.insecure { "http" } else { "https" };
            let origin = format!("{scheme}://{authority}").parse().map_err(|_| {
                LoadError::flag(
                    "--authority",
                    format!("{authority:?} is not a valid authority"),
                )
            })?;
            endpoint = endpoint.origin(origin);
        }
        if !self.insecure && !self.skip_tls_verify {
            let mut tls = ClientTlsConfig::new().with_native_roots();
            if let Some(path) = &self.cacert {
                tls = tls.ca_certificate(Certificate::from_pem(read(path)?));
            }
            if let Some((cert, key)) = self.client_identity()? {
                tls = tls.identity(Identity::from_pem(cert, key));
            }
            if let Some(name) = &self.cname {
                tls = tls.domain_name(name.clone());
            }
            endpoint = endpoint
                .tls_config(tls)
                .map_err(|e| fail(format!("TLS: {e}")))?;
        }
        Ok(endpoint)
    }

    /// The PEM certificate and key of `--cert`/`--key`, when given.
    fn client_identity(&self) -> Result<Option<PemPair>, LoadError> {
        match (&self.cert, &self.key) {
            (Some(cert), Some(key)) => Ok(Some((read(cert)?, read(key)?))),
            (None, None) => Ok(None),
            _ => Err(LoadError::flag(
                "--cert/--key",
                "a client certificate needs both --cert and --key",
            )),
        }
    }

    /// The address dialled, as grpc-go names it in its errors.
    fn dial_address(&self) -> &str {
        let target = self.target.as_str();
        let rest = target.split_once("://").map_or(target, |(_, r)| r);
        rest.split('/').next().unwrap_or(rest)
    }

    /// `--connections` lazily connected channels.
    pub fn channels(&self) -> Result<Vec<Connection>, LoadError> {
        let dial = self.dial_address();
        Ok(self
            .plain_channels()?
            .into_iter()
            .map(|channel| GrpcGo::new(channel, dial))
            .collect())
    }

    fn plain_channels(&self) -> Result<Vec<Channel>, LoadError> {
        let endpoint = self.endpoint()?;
        let count = self.connections.max(1);
        if self.insecure || !self.skip_tls_verify {
            return Ok((0..count).map(|_| endpoint.connect_lazy()).collect());
        }
        let identity = self.client_identity()?;
        let config = crate::tls::insecure_client_config(
            identity.as_ref().map(|(c, k)| (c.as_slice(), k.as_slice())),
        )
        .map_err(|message| LoadError::flag("--skipTLS", message))?;
        let connector = crate::tls::SkipVerifyConnector {
            config: std::sync::Arc::new(config),
            server_name: self.cname.clone(),
            timeout: self.connect_timeout.filter(|t| !t.is_zero()),
        };
        Ok((0..count)
            .map(|_| endpoint.connect_with_connector_lazy(connector.clone()))
            .collect())
    }
}

/// A PEM certificate (chain) and its private key.
type PemPair = (Vec<u8>, Vec<u8>);

fn read(path: &PathBuf) -> Result<Vec<u8>, LoadError> {
    std::fs::read(path).map_err(|source| LoadError::Read {
        path: path.clone(),
        source,
    })
}
