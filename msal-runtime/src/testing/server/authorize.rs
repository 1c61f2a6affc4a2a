//! `/{tenant}/oauth2/v2.0/authorize`: the code flow's front half.
//!
//! Until the client and its redirect URI are known good, errors are pages: redirecting to an
//! unverified URI would hand the response to whoever named it. After that, errors travel back
//! to the app as `error`, `error_description` and `state`, as the spec says.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;

use super::super::claims_request::claims_of;
use super::super::consent;
use super::super::faults::Endpoint;
use super::super::model::TestUser;
use super::super::policy::sign_in_authn;
use super::super::state::{CodeGrant, Shared, SsoSession, TenantPath, lock, read};
use super::super::tokens::{GrantError, parse_scopes, secret_value, session_id};
use super::pages::{form_post, picker};
use super::{Params, error_page, found, injected_fault, uri_matches, with_query};

pub(crate) async fn get(
    State(shared): State<Arc<Shared>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let params = Params::parse(query.unwrap_or_default().as_bytes());
    record(&shared, &params);
    if let Some(fault) = injected_fault(&shared, Endpoint::Authorize).await {
        return fault;
    }
    authorize(&shared, &tenant, &headers, &params, false)
}

/// POST carries the same request as a form: from an app (allowed by OpenID Connect), or
/// from the picker page with the chosen user.
pub(crate) async fn post(
    State(shared): State<Arc<Shared>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = Params::parse(&body);
    record(&shared, &params);
    if let Some(fault) = injected_fault(&shared, Endpoint::Authorize).await {
        return fault;
    }
    authorize(&shared, &tenant, &headers, &params, true)
}

/// Keeps what the request asked for (the app's parameters, not the picker's own fields) for
/// [`TestIdp::last_authorize_params`](super::super::TestIdp::last_authorize_params).
fn record(shared: &Shared, params: &Params) {
    let asked = params
        .iter()
        .filter(|(k, _)| !k.starts_with("testidp_"))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    *lock(&shared.last_authorize) = Some(asked);
}

/// `max_age` as OpenID Connect defines it: a non-negative whole number of seconds (too
/// large a number means no limit worth enforcing). `None`: malformed.
fn parse_max_age(value: &str) -> Option<u64> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(value.parse().unwrap_or(u64::MAX))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Query,
    FormPost,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Prompt {
    Default,
    None,
    Login,
    SelectAccount,
    Consent,
}

/// Where the answer goes, once the client and redirect URI are trusted.
struct Reply<'a> {
    redirect_uri: &'a str,
    mode: Mode,
    state: Option<&'a str>,
}

impl Reply<'_> {
    fn send<'f>(&'f self, mut fields: Vec<(&'f str, &'f str)>) -> Response {
        if let Some(state) = self.state {
            fields.push(("state", state));
        }
        match self.mode {
            Mode::Query => found(&with_query(self.redirect_uri, &fields)),
            Mode::FormPost => form_post(self.redirect_uri, &fields),
        }
    }

    fn error(&self, err: GrantError) -> Response {
        let description = err.text();
        self.send(vec![
            ("error", err.error),
            ("error_description", &description),
        ])
    }
}

fn authorize(
    shared: &Shared,
    tenant: &str,
    headers: &HeaderMap,
    params: &Params,
    posted: bool,
) -> Response {
    let reg = read(&shared.registry);
    let Some(path) = reg.tenant_path(tenant) else {
        return error_page(&GrantError::new(
            "invalid_tenant",
            90002,
            format!("Tenant '{tenant}' not found."),
        ));
    };
    if let Err(err) = params.refuse_repeats() {
        return error_page(&err);
    }
    let Some(client_id) = params.get("client_id") else {
        return error_page(&GrantError::missing("client_id"));
    };
    let Some(client) = reg.client(client_id) else {
        return error_page(&GrantError::new(
            "unauthorized_client",
            700016,
            format!(
                "Application with identifier '{client_id}' was not found in the directory '{tenant}'."
            ),
        ));
    };
    let Some(redirect_uri) = params.get("redirect_uri") else {
        return error_page(&GrantError::missing("redirect_uri"));
    };
    if !client
        .redirect_uris
        .iter()
        .any(|r| uri_matches(r, redirect_uri))
    {
        return error_page(&GrantError::new(
            "invalid_request",
            50011,
            format!(
                "The redirect URI '{redirect_uri}' specified in the request does not match the \
                 redirect URIs configured for the application '{client_id}'."
            ),
        ));
    }

    // From here on the redirect URI is trusted: errors go back to the app.
    let mut reply = Reply {
        redirect_uri,
        mode: Mode::Query,
        state: params.get("state"),
    };
    match params.get("response_mode") {
        None | Some("query") => {}
        Some("form_post") => reply.mode = Mode::FormPost,
        Some(other) => {
            return reply.error(GrantError::new(
                "invalid_request",
                900352,
                format!("Unsupported response_mode '{other}' for the code flow: use 'query' or 'form_post'."),
            ));
        }
    }
    match params.get("response_type") {
        Some("code") => {}
        None => return reply.error(GrantError::missing("response_type")),
        Some(other) => {
            return reply.error(GrantError::new(
                "unsupported_response_type",
                700054,
                format!("response_type '{other}' is not enabled for the application."),
            ));
        }
    }
    let Some(scope) = params.get("scope") else {
        return reply.error(GrantError::missing("scope"));
    };
    let scopes = match parse_scopes(&reg, scope) {
        Ok(scopes) => scopes,
        Err(err) => return reply.error(err),
    };
    // What the sign-in must do beyond a password (MFA, authentication contexts).
    let claims = match claims_of(params.get("claims")) {
        Ok(claims) => claims,
        Err(err) => return reply.error(err),
    };
    let Some(code_challenge) = params.get("code_challenge") else {
        return reply.error(GrantError::new(
            "invalid_request",
            9002325,
            "Proof Key for Code Exchange is required: send code_challenge and code_challenge_method=S256.",
        ));
    };
    if params.get("code_challenge_method") != Some("S256") {
        return reply.error(GrantError::new(
            "invalid_request",
            9002325,
            "code_challenge_method must be 'S256'; 'plain' (or none, which means plain) is not accepted.",
        ));
    }
    if code_challenge.len() != 43
        || !code_challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return reply.error(GrantError::new(
            "invalid_request",
            501491,
            "Invalid size of Code_Challenge parameter: an S256 challenge is 43 base64url characters.",
        ));
    }
    let prompt = match params.get("prompt") {
        None => Prompt::Default,
        Some("none") => Prompt::None,
        Some("login") => Prompt::Login,
        Some("select_account") => Prompt::SelectAccount,
        Some("consent") => Prompt::Consent,
        Some(other) => {
            return reply.error(GrantError::new(
                "invalid_request",
                90023,
                format!("Unsupported 'prompt' value '{other}': use none, login, select_account or consent."),
            ));
        }
    };

    // How recent the user's authentication must be (OpenID Connect `max_age`), unless this
    // TestIdp plays a provider that ignores it.
    let max_age = match params.get("max_age") {
        _ if shared.ignore_max_age.load(Ordering::Relaxed) => None,
        None => None,
        Some(value) => match parse_max_age(value) {
            Some(seconds) => Some(seconds),
            None => {
                return reply.error(GrantError::new(
                    "invalid_request",
                    90100,
                    format!("The 'max_age' parameter is empty or not valid: '{value}' is not a non-negative whole number of seconds."),
                ));
            }
        },
    };
    // The authentication level asked for: the first of `acr_values`, which TestIdp's users
    // always meet.
    let acr = params
        .get("acr_values")
        .filter(|_| !shared.ignore_acr_values.load(Ordering::Relaxed))
        .and_then(|values| values.split(' ').find(|v| !v.is_empty()))
        .map(str::to_owned);

    if posted && params.get("testidp_cancel").is_some() {
        return reply.error(GrantError::new(
            "access_denied",
            65004,
            "User declined to consent to access the app.",
        ));
    }

    let now = shared.now();
    let sso_value = super::cookie(headers, &shared.sso_cookie).map(str::to_owned);
    // The IdP session the browser brings: its user and when they last authenticated.
    let sso_session = sso_value.as_deref().and_then(|v| {
        lock(&shared.sso)
            .get(v)
            .map(|s| (s.oid.clone(), s.auth_time))
    });
    let sso_user = sso_session
        .as_ref()
        .and_then(|(oid, _)| reg.user_by_oid(oid));
    // When the SSO session authenticated `user`, if it is theirs.
    let sso_time = |user: &TestUser| {
        sso_session
            .as_ref()
            .filter(|(oid, _)| *oid == user.oid)
            .map(|(_, auth_time)| *auth_time)
    };
    let action = format!("{}/{tenant}/oauth2/v2.0/authorize", shared.base_url);
    let carried: Vec<(&str, &str)> = params
        .iter()
        .filter(|(k, _)| !k.starts_with("testidp_"))
        .collect();
    let show_picker = |notice: Option<&str>| {
        picker(
            &action,
            &client.display_name,
            &reg.users_in(&path),
            &carried,
            notice,
        )
    };

    // Who signs in, and when the SSO session authenticated them if it vouches for them
    // (`None`: they authenticate now, on the picker or by a hint naming a known user).
    let hint = params.get("login_hint");
    let hinted = hint.and_then(|h| reg.user_by_name(h));
    let (user, reused): (&TestUser, Option<i64>) = if let Some(oid) =
        params.get("testidp_user").filter(|_| posted)
    {
        match reg.user_by_oid(oid) {
            Some(user) => (user, None),
            None => return show_picker(Some("That test user does not exist; pick another.")),
        }
    } else {
        match prompt {
            Prompt::None => match (hint, hinted, sso_user) {
                (Some(_), Some(user), _) | (None, None, Some(user)) => (user, sso_time(user)),
                _ => {
                    return reply.error(GrantError::new(
                            "login_required",
                            50058,
                            "A silent sign-in request was sent but no user is signed in (or the login_hint names nobody).",
                        ));
                }
            },
            Prompt::SelectAccount => return show_picker(None),
            // A fresh authentication: a known hinted user signs in again without the
            // form (so scripts need none); anyone else picks on the form.
            Prompt::Login => match (hint, hinted) {
                (_, Some(user)) => (user, None),
                (Some(h), None) => {
                    return show_picker(Some(&format!(
                        "No test user is named '{h}'; pick one of these."
                    )));
                }
                (None, None) => return show_picker(None),
            },
            Prompt::Default | Prompt::Consent => match (hint, hinted, sso_user) {
                (_, Some(user), _) => (user, sso_time(user)),
                (Some(h), None, _) => {
                    return show_picker(Some(&format!(
                        "No test user is named '{h}'; pick one of these."
                    )));
                }
                (None, None, Some(user)) => (user, sso_time(user)),
                (None, None, None) => return show_picker(None),
            },
        }
    };

    // `max_age`: an SSO session that authenticated longer ago than that does not do; the
    // user authenticates afresh (`max_age=0` always asks, as `prompt=login` does).
    let too_old = |auth_time: i64| match max_age {
        None => false,
        Some(0) => true,
        Some(limit) => u64::try_from(now.saturating_sub(auth_time)).is_ok_and(|age| age > limit),
    };
    let auth_time = match reused {
        Some(auth_time) if !too_old(auth_time) => auth_time,
        Some(_) if prompt == Prompt::None => {
            return reply.error(GrantError::new(
                "login_required",
                50058,
                "A silent sign-in request was sent but the user's sign-in is older than max_age allows; an interactive sign-in is needed.",
            ));
        }
        Some(_) if hinted.is_some_and(|h| h.oid == user.oid) => now,
        Some(_) => {
            return show_picker(Some(
                "Your sign-in is older than this app allows (max_age); sign in again.",
            ));
        }
        None => now,
    };

    let user_tenant = reg.user_tenant(user);
    let allowed = match &path {
        TenantPath::Tenant(t) => t.id == user_tenant,
        TenantPath::Any => true,
        TenantPath::Consumers => false,
    };
    if !allowed {
        return reply.error(GrantError::new(
            "invalid_request",
            50020,
            format!(
                "User account '{}' from identity provider does not exist in tenant '{tenant}' and \
                 cannot access the application '{client_id}' in that tenant.",
                user.preferred_username
            ),
        ));
    }

    // Consent: a silent request cannot ask the user, so it needs consent already; any
    // other request consents to what it asks (incremental consent).
    if prompt == Prompt::None && !consent::covers(shared, &reg, &user.oid, client, &scopes) {
        return reply.error(GrantError::new(
            "consent_required",
            65001,
            format!(
                "The user or administrator has not consented to use the application with ID '{}' named '{}'. Send an interactive authorization request for this user and resource.",
                client.client_id, client.display_name
            ),
        ));
    }
    consent::grant(shared, &user.oid, &client.client_id, &scopes);

    // The IdP's own session: reused for the same user (with the time of this sign-in's
    // authentication), replaced for another.
    let (cookie_value, sid) = {
        let mut sso = lock(&shared.sso);
        let existing = sso_value
            .as_ref()
            .filter(|v| sso.get(*v).is_some_and(|s| s.oid == user.oid))
            .cloned();
        let value = match existing {
            Some(v) => v,
            None => {
                let v = secret_value();
                sso.insert(
                    v.clone(),
                    SsoSession {
                        oid: user.oid.clone(),
                        sid: session_id(),
                        auth_time,
                        clients: Default::default(),
                    },
                );
                v
            }
        };
        let session = sso.get_mut(&value);
        let sid = session
            .map(|s| {
                s.auth_time = auth_time;
                s.clients.insert(client.client_id.clone());
                s.sid.clone()
            })
            .unwrap_or_default();
        (value, sid)
    };

    let mut authn = sign_in_authn(shared, &claims, auth_time);
    authn.acr = acr;
    let code = secret_value();
    lock(&shared.codes).insert(
        code.clone(),
        CodeGrant {
            client_id: client.client_id.clone(),
            redirect_uri: redirect_uri.to_owned(),
            oid: user.oid.clone(),
            scope: scope.to_owned(),
            nonce: params.get("nonce").map(str::to_owned),
            code_challenge: code_challenge.to_owned(),
            sid: sid.clone(),
            expires: shared.now() + shared.settings.code_lifetime.as_secs() as i64,
            authn,
        },
    );
    let mut response = reply.send(vec![("code", &code), ("session_state", &sid)]);
    let cookie = format!(
        "{}={cookie_value}; Path=/; HttpOnly; SameSite=Lax",
        shared.sso_cookie
    );
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}
