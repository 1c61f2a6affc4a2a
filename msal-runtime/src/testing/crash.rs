//! What a crashed app instance leaves in the shared store, for tests of the instances that
//! carry on: a session's refresh lock that nobody renews or releases. Not a stable API.

use std::str::FromStr;
use std::time::Duration;

use tower_sessions::session::Id;

use crate::{AuthError, Msal};

/// Takes the token-refresh lock of the session whose cookie carries `cookie_value` for
/// `ttl`, as an instance that crashed in the middle of a refresh would hold it: neither
/// renewed nor released, so it lasts `ttl`. Says whether the lock was free. (With the
/// memory store there is no lock to leave: it says `true` and leaves nothing.)
pub async fn abandon_refresh_lock(
    msal: &Msal,
    cookie_value: &str,
    ttl: Duration,
) -> Result<bool, AuthError> {
    let id = Id::from_str(cookie_value)
        .map_err(|e| AuthError::BadRequest(format!("not a session cookie value: {e}")))?;
    crate::tokens::abandon_lock(&msal.ctx.tokens, &id.to_string(), ttl).await
}
