//! An https front for a plain-http server on this machine: a TLS proxy with
//! a self-signed certificate for `localhost`, made when it starts. For
//! clients that speak only https (Auth0's Deploy CLI to `AUTH0_DOMAIN`),
//! which are told to trust the certificate (Node's `NODE_EXTRA_CA_CERTS`).

use std::net::SocketAddr;
use std::sync::Arc;

use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

pub struct TlsProxy {
    /// `localhost:PORT`: a domain, as the Deploy CLI's `AUTH0_DOMAIN` wants one.
    pub domain: String,
    /// The certificate the proxy presents, PEM, for the client to trust.
    pub certificate_pem: String,
    task: tokio::task::JoinHandle<()>,
}

impl TlsProxy {
    /// Accepts TLS on an ephemeral port of 127.0.0.1 and relays each
    /// connection's bytes to and from `target`, until dropped.
    pub async fn start(target: SocketAddr) -> TlsProxy {
        let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])
            .expect("a self-signed certificate for localhost");
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
            certified.signing_key.serialize_der(),
        ));
        let config = rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(vec![certified.cert.der().clone()], key)
            .expect("a TLS server configuration");
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("a port for the TLS proxy");
        let port = listener.local_addr().expect("its address").port();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    // A failed handshake or a closed connection ends only
                    // that connection; the client sees it fail.
                    let Ok(mut tls) = acceptor.accept(client).await else {
                        return;
                    };
                    let Ok(mut upstream) = TcpStream::connect(target).await else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut upstream).await;
                });
            }
        });
        TlsProxy {
            domain: format!("localhost:{port}"),
            certificate_pem: certified.cert.pem(),
            task,
        }
    }
}

impl Drop for TlsProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}
