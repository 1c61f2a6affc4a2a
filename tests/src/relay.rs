//! A TCP relay to Redis that a test can cut, to lose Redis in the middle of a run (and bring
//! it back on the same address).

use tokio::net::{TcpListener, TcpStream};

/// A TCP relay to Redis that can be cut, to lose Redis in the middle of a run.
pub struct Relay {
    /// The port it listens on, on 127.0.0.1.
    pub port: u16,
    task: tokio::task::JoinHandle<()>,
}

impl Relay {
    /// A relay to `redis` (a `redis://` URL) on any free port.
    pub async fn to(redis: &str) -> Self {
        Self::on(redis, 0).await
    }

    /// A relay on a given port (0: any), e.g. the one a cut relay had.
    pub async fn on(redis: &str, port: u16) -> Self {
        let target = url::Url::parse(redis).unwrap();
        let target = format!(
            "{}:{}",
            target.host_str().unwrap(),
            target.port().unwrap_or(6379)
        );
        let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let task = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            while let Ok((mut inbound, _)) = listener.accept().await {
                let target = target.clone();
                connections.spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        });
        Self { port, task }
    }

    /// Drops the listener and every relayed connection.
    pub fn cut(&self) {
        self.task.abort();
    }

    /// `redis://127.0.0.1:PORT`: Redis, through this relay.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}
