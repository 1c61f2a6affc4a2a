//! Scopes belong to a resource: which resource a scope names, under the two readings Entra
//! gives an unprefixed scope, and the one function that decides whether granted scopes
//! cover wanted ones. Every caller (requirements, the token cache, consent) uses it.
//!
//! | scope | in a token request (and a session's grants) | in a bearer rule (and `scp`) |
//! | --- | --- | --- |
//! | `User.Read` | Microsoft Graph's `User.Read` | this API's `User.Read` |
//! | `https://graph.microsoft.com/User.Read` | Microsoft Graph | Microsoft Graph |
//! | `api://<this API>/Tasks.Read` | this API | this API |
//! | `api://orders/Orders.Read` | the orders API | the orders API |
//! | `openid`, `profile`, `email`, `offline_access` | no resource | no resource |
//!
//! A scope of one resource never covers a scope of another, whatever their names.

/// Microsoft Graph's resource URI.
pub(crate) const GRAPH: &str = "https://graph.microsoft.com";
/// Microsoft Graph's application id, which may prefix its scopes too.
const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";
/// The OpenID Connect scopes: they belong to no resource.
pub(crate) const OPENID: [&str; 4] = ["openid", "profile", "email", "offline_access"];

/// The resource a scope belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Resource<'s> {
    /// Microsoft Graph.
    Graph,
    /// This app's own API (one of its configured audiences).
    ThisApi,
    /// Another API, by the identifier that prefixes its scopes (`api://orders`).
    Other(&'s str),
    /// `openid`, `profile`, `email`, `offline_access`.
    OpenId,
}

/// Which resource an unprefixed scope belongs to where it is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Unprefixed {
    /// Token requests, and what a session was granted: Microsoft Graph, as Entra defines it.
    Graph,
    /// Bearer rules and a bearer token's `scp`: this API's own scope.
    ThisApi,
}

/// How scopes are read in one place: what an unprefixed scope means there, and the names of
/// this API (its audiences: the client id and App ID URI), so a prefixed scope of this API
/// is recognised as one.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Reading<'a> {
    pub(crate) unprefixed: Unprefixed,
    pub(crate) this_api: &'a [String],
}

impl<'a> Reading<'a> {
    /// The reading of token requests and of what a session was granted.
    pub(crate) fn token_request(this_api: &'a [String]) -> Self {
        Self {
            unprefixed: Unprefixed::Graph,
            this_api,
        }
    }

    /// The reading of bearer rules and of a bearer token's `scp`.
    pub(crate) fn bearer(this_api: &'a [String]) -> Self {
        Self {
            unprefixed: Unprefixed::ThisApi,
            this_api,
        }
    }

    /// The resource a scope belongs to, and its name on that resource.
    pub(crate) fn resolve<'s>(&self, scope: &'s str) -> (Resource<'s>, &'s str) {
        if OPENID.contains(&scope) {
            return (Resource::OpenId, scope);
        }
        let Some((prefix, name)) = scope.rsplit_once('/') else {
            return match self.unprefixed {
                Unprefixed::Graph => (Resource::Graph, scope),
                Unprefixed::ThisApi => (Resource::ThisApi, scope),
            };
        };
        let prefix = prefix.trim_end_matches('/');
        let resource =
            if prefix.eq_ignore_ascii_case(GRAPH) || prefix.eq_ignore_ascii_case(GRAPH_APP_ID) {
                Resource::Graph
            } else if self
                .this_api
                .iter()
                .any(|a| a.trim_end_matches('/') == prefix)
            {
                Resource::ThisApi
            } else {
                Resource::Other(prefix)
            };
        (resource, name)
    }

    /// Whether `granted` holds `wanted`: the same resource and the same name. The one
    /// decision every scope check makes.
    pub(crate) fn holds<G: AsRef<str>>(&self, granted: &[G], wanted: &str) -> bool {
        let wanted = self.resolve(wanted);
        granted.iter().any(|g| self.resolve(g.as_ref()) == wanted)
    }

    /// Whether `granted` covers every scope of `wanted`.
    pub(crate) fn covers<G: AsRef<str>, W: AsRef<str>>(&self, granted: &[G], wanted: &[W]) -> bool {
        wanted.iter().all(|w| self.holds(granted, w.as_ref()))
    }

    /// The one resource of a token request's scopes (`None` for OpenID scopes only); an
    /// error names two scopes of different resources.
    pub(crate) fn single_resource<'s, S: AsRef<str>>(
        &self,
        scopes: &'s [S],
    ) -> Result<Option<Resource<'s>>, (&'s str, &'s str)> {
        let mut first: Option<(Resource<'s>, &'s str)> = None;
        for scope in scopes {
            let scope = scope.as_ref();
            let (resource, _) = self.resolve(scope);
            if resource == Resource::OpenId {
                continue;
            }
            match first {
                None => first = Some((resource, scope)),
                Some((r, _)) if r == resource => {}
                Some((_, earlier)) => return Err((earlier, scope)),
            }
        }
        Ok(first.map(|(r, _)| r))
    }
}

#[cfg(test)]
#[path = "scopes_tests.rs"]
mod tests;
