//! The connections a run uses: `--connections` HTTP/2 connections to the
//! target, plaintext (`--insecure`) or TLS.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};
use tower_service::Service;

use crate::error::LoadError;
use crate::grpc_go::GrpcGo;

/// One of `--connections`: an HTTP/2 connection to the target (or, with
/// `--lb-strategy round_robin` on a `dns:///` target, one to each of its
/// addresses, taken in turn per call), failures read as grpc-go reads them.
pub type Connection = Balanced<GrpcGo<Channel>>;

/// grpc-go's client-side load balancing policies (`--lb-strategy`), over
/// the addresses a `dns:///` target resolves to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LbStrategy {
    /// The first address (grpc-go's default).
    #[default]
    PickFirst,
    /// Every address, each call on the next.
    RoundRobin,
}

impl LbStrategy {
    /// grpc-go's policy names, as ghz passes them in the service config.
    pub fn parse(name: &str) -> Result<LbStrategy, LoadError> {
        match name {
            "pick_first" => Ok(LbStrategy::PickFirst),
            "round_robin" => Ok(LbStrategy::RoundRobin),
            other => Err(LoadError::flag(
                "--lb-strategy",
                format!("{other:?} is not a policy: give pick_first or round_robin"),
            )),
        }
    }
}

/// A connection over one or more subchannels: each call takes the next,
/// as grpc-go's round_robin picker does.
#[derive(Clone, Debug)]
pub struct Balanced<S> {
    subchannels: Arc<[S]>,
    next: Arc<AtomicUsize>,
    /// The subchannel made ready for the coming call.
    picked: Option<S>,
}

impl<S: Clone> Balanced<S> {
    pub fn new(subchannels: Vec<S>) -> Balanced<S> {
        assert!(!subchannels.is_empty(), "a connection has a subchannel");
        Balanced {
            subchannels: subchannels.into(),
            next: Arc::default(),
            picked: None,
        }
    }

    /// The first subchannel, for the one-off reflection request.
    pub fn first(&self) -> &S {
        &self.subchannels[0]
    }

    fn pick(&self) -> S {
        let at = match self.subchannels.len() {
            1 => 0,
            n => self.next.fetch_add(1, Ordering::Relaxed) % n,
        };
        self.subchannels[at].clone()
    }
}

impl<S, Request> Service<Request> for Balanced<S>
where
    S: Service<Request> + Clone,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        if self.picked.is_none() {
            self.picked = Some(self.pick());
        }
        self.picked.as_mut().expect("picked above").poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> S::Future {
        let mut subchannel = self.picked.take().unwrap_or_else(|| self.pick());
        subchannel.call(request)
    }
}

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
    pub lb_strategy: LbStrategy,
}

/// The name a `dns:///` (or `dns://RESOLVER/`) target resolves.
pub fn dns_name(target: &str) -> Option<&str> {
    let rest = target.strip_prefix("dns://")?;
    // The authority (a resolver's address) is ignored: the system's
    // resolver answers, as for grpc-go when none is reachable.
    rest.split_once('/').map(|(_, name)| name)
}

impl ConnectOptions {
    /// The endpoint of one connection. Connections are made lazily, like
    /// ghz's non-blocking dial: the first calls pay for the handshake.
    pub fn endpoint(&self) -> Result<Endpoint, LoadError> {
        self.endpoint_to(&self.target)
    }

    /// The endpoint of a connection to `target` (the target itself, or
    /// one address of a `dns:///` target).
    fn endpoint_to(&self, target: &str) -> Result<Endpoint, LoadError> {
        let fail = |message: String| LoadError::Connect {
            target: self.target.clone(),
            message,
        };
        // With --skipTLS the connector does TLS itself, so tonic must see
        // a plain URI.
        let uri = if target.contains("://") {
            target.to_string()
        } else if self.insecure || self.skip_tls_verify {
            format!("http://{target}")
        } else {
            format!("https://{target}")
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
        // A resolved address still names the host in :authority and TLS,
        // as grpc-go does for a dns:/// target.
        let authority = self
            .authority
            .clone()
            .or_else(|| dns_name(&self.target).map(String::from));
        if let Some(authority) = &authority {
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
            let host = |a: &str| a.rsplit_once(':').map_or(a, |(h, _)| h).to_string();
            if let Some(name) = self
                .cname
                .clone()
                .or_else(|| dns_name(&self.target).map(host))
            {
                tls = tls.domain_name(name);
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
    fn dial_address(target: &str) -> &str {
        let rest = target.split_once("://").map_or(target, |(_, r)| r);
        rest.split('/').next().unwrap_or(rest)
    }

    /// The addresses to connect to: the target itself, or what a `dns:///`
    /// target resolves to (the first only for pick_first).
    fn addresses(&self) -> Result<Vec<String>, LoadError> {
        let Some(name) = dns_name(&self.target) else {
            return Ok(vec![self.target.clone()]);
        };
        let resolved: Vec<SocketAddr> = name
            .to_socket_addrs()
            .map_err(|e| LoadError::Connect {
                target: self.target.clone(),
                message: format!("cannot resolve {name:?}: {e}"),
            })?
            .collect();
        if resolved.is_empty() {
            return Err(LoadError::Connect {
                target: self.target.clone(),
                message: format!("{name:?} resolves to no address"),
            });
        }
        let take = match self.lb_strategy {
            LbStrategy::PickFirst => 1,
            LbStrategy::RoundRobin => resolved.len(),
        };
        Ok(resolved.iter().take(take).map(|a| a.to_string()).collect())
    }

    /// `--connections` lazily connected connections.
    pub fn channels(&self) -> Result<Vec<Connection>, LoadError> {
        self.channels_to(&self.addresses()?)
    }

    /// `--connections` connections, each over every one of `addresses`.
    fn channels_to(&self, addresses: &[String]) -> Result<Vec<Connection>, LoadError> {
        let mut per_address = Vec::with_capacity(addresses.len());
        for address in addresses {
            let dial = Self::dial_address(address);
            let channels = self.plain_channels(address)?;
            per_address.push(
                channels
                    .into_iter()
                    .map(|channel| GrpcGo::new(channel, dial))
                    .collect::<Vec<_>>(),
            );
        }
        Ok((0..self.connections.max(1))
            .map(|i| Balanced::new(per_address.iter().map(|c| c[i].clone()).collect()))
            .collect())
    }

    fn plain_channels(&self, address: &str) -> Result<Vec<Channel>, LoadError> {
        let endpoint = self.endpoint_to(address)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::RawCodec;
    use crate::testserver::{BackgroundServer, ServerConfig};

    #[test]
    fn dns_targets_and_policies() {
        assert_eq!(dns_name("dns:///lb.example:443"), Some("lb.example:443"));
        assert_eq!(
            dns_name("dns://8.8.8.8/lb.example:443"),
            Some("lb.example:443")
        );
        assert_eq!(dns_name("lb.example:443"), None);
        let options = ConnectOptions {
            target: "dns:///localhost:50051".into(),
            insecure: true,
            ..ConnectOptions::default()
        };
        assert_eq!(options.addresses().unwrap(), ["127.0.0.1:50051"]);
        let error = LbStrategy::parse("least_request").unwrap_err().to_string();
        assert!(error.contains("--lb-strategy") && error.contains("round_robin"));
    }

    /// Which server answered each of `calls` calls on one connection over
    /// `addresses` (the demo server names itself in `x-served-by`).
    async fn served_by(
        options: &ConnectOptions,
        addresses: &[String],
        calls: usize,
    ) -> Vec<String> {
        let connection = options.channels_to(addresses).unwrap().remove(0);
        let mut names = Vec::new();
        for _ in 0..calls {
            let mut grpc = tonic::client::Grpc::new(connection.clone());
            grpc.ready().await.unwrap();
            let request = tonic::Request::new(bytes::Bytes::from_static(&[0x0a, 2, b'h', b'i']));
            let path = http::uri::PathAndQuery::from_static("/haplog.demo.Tts/Speak");
            let response = grpc.unary(request, path, RawCodec).await.unwrap();
            let name = response
                .metadata()
                .get("x-served-by")
                .unwrap()
                .to_str()
                .unwrap();
            names.push(name.to_string());
        }
        names
    }

    #[tokio::test]
    async fn round_robin_takes_each_address_in_turn() {
        let server = |name: &str| ServerConfig {
            name: name.into(),
            latency: Duration::ZERO,
            jitter: Duration::ZERO,
            ..ServerConfig::default()
        };
        let a = BackgroundServer::start(server("a")).await.unwrap();
        let b = BackgroundServer::start(server("b")).await.unwrap();
        let addresses = [a.addr.to_string(), b.addr.to_string()];
        let options = ConnectOptions {
            target: "dns:///demo.test:1".into(),
            insecure: true,
            ..ConnectOptions::default()
        };
        assert_eq!(
            served_by(&options, &addresses, 6).await,
            ["a", "b", "a", "b", "a", "b"]
        );
        assert_eq!(
            served_by(&options, &addresses[..1], 3).await,
            ["a", "a", "a"]
        );
    }
}
