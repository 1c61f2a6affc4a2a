//! The session cookie: the session id a request's `Cookie` headers carry, and the
//! `Set-Cookie` that keeps or removes it. Only an opaque id: `HttpOnly`, `SameSite=Lax`,
//! `Path=/`, `Secure` except on http loopback, and `Max-Age` of the inactivity lifetime.

use axum::http::{HeaderMap, HeaderValue, header};
use tower_sessions::session::Id;

use crate::config::MsalConfig;

/// How this app writes its session cookie, worked out once.
#[derive(Clone, Debug)]
pub(crate) struct SessionCookie {
    name: String,
    /// Everything after the value: the attributes, the same on every `Set-Cookie`.
    attributes: String,
    /// The attributes of the cookie that removes it.
    removal: String,
}

impl SessionCookie {
    pub(crate) fn new(config: &MsalConfig) -> Self {
        let secure = if config.secure_cookies() {
            "; Secure"
        } else {
            ""
        };
        let common = format!("; HttpOnly; SameSite=Lax; Path=/{secure}");
        Self {
            name: config.cookie_name.clone(),
            attributes: format!("{common}; Max-Age={}", config.session_lifetime.as_secs()),
            removal: format!("{common}; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT"),
        }
    }

    /// The session id the request's cookies of this name carry. Values that are no session
    /// id are passed over (a malformed cookie tossed in first cannot hide the real one); two
    /// different ids are no session at all: this app sets one cookie per host, so a second
    /// was planted (from a sibling subdomain, say), and guessing which is the user's could
    /// sign them in as someone else.
    pub(crate) fn id_in(&self, headers: &HeaderMap) -> Option<Id> {
        let mut found = None;
        let values = headers
            .get_all(header::COOKIE)
            .iter()
            .flat_map(|h| h.as_bytes().split(|&b| b == b';'))
            .filter_map(|pair| {
                let rest = pair.trim_ascii().strip_prefix(self.name.as_bytes())?;
                rest.strip_prefix(b"=")
            });
        for value in values {
            let Some(id) = std::str::from_utf8(value)
                .ok()
                .and_then(|v| v.parse::<Id>().ok())
            else {
                tracing::debug!("a session cookie that is no session id: passed over");
                continue;
            };
            match found {
                Some(seen) if seen != id => {
                    tracing::info!(
                        "two different session cookies (one planted?): treated as no session"
                    );
                    return None;
                }
                _ => found = Some(id),
            }
        }
        found
    }

    /// The `Set-Cookie` that keeps session `id` for the inactivity lifetime.
    pub(crate) fn keep(&self, id: &Id) -> Option<HeaderValue> {
        HeaderValue::from_str(&format!("{}={id}{}", self.name, self.attributes)).ok()
    }

    /// The `Set-Cookie` that removes the session cookie.
    pub(crate) fn remove(&self) -> Option<HeaderValue> {
        HeaderValue::from_str(&format!("{}={}", self.name, self.removal)).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cookie() -> SessionCookie {
        SessionCookie {
            name: "msal_session".into(),
            attributes: "; HttpOnly".into(),
            removal: "; Max-Age=0".into(),
        }
    }

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(header::COOKIE, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn the_id_is_found_among_other_cookies_and_headers() {
        let id = Id::default();
        let c = cookie();
        for found in [
            headers(&[&format!("msal_session={id}")]),
            headers(&[&format!("a=1; msal_session={id}; b=2")]),
            headers(&["a=1", &format!("  msal_session={id}")]),
        ] {
            assert_eq!(c.id_in(&found), Some(id));
        }
    }

    #[test]
    fn look_alikes_and_malformed_values_are_no_session() {
        let id = Id::default();
        let c = cookie();
        for nothing in [
            headers(&[]),
            headers(&[&format!("msal_session_flow_1={id}")]),
            headers(&[&format!("xmsal_session={id}")]),
            headers(&["msal_session=not-an-id"]),
            headers(&["msal_session="]),
            headers(&["msal_session"]),
        ] {
            assert_eq!(c.id_in(&nothing), None, "{nothing:?}");
        }
    }

    #[test]
    fn a_planted_second_session_cookie_is_no_session_and_a_malformed_one_hides_nothing() {
        let (mine, planted) = (Id::default(), Id::default());
        let c = cookie();
        let two = headers(&[&format!("msal_session={planted}; msal_session={mine}")]);
        assert_eq!(
            c.id_in(&two),
            None,
            "which one is the user's is not for us to guess"
        );
        let same = headers(&[
            &format!("msal_session={mine}"),
            &format!("msal_session={mine}"),
        ]);
        assert_eq!(c.id_in(&same), Some(mine));
        let tossed = headers(&[&format!("msal_session=x; msal_session={mine}")]);
        assert_eq!(c.id_in(&tossed), Some(mine));
    }
}
