//! An HTTP client that behaves toward the app as a browser does, for tests of your own app.

use reqwest::header::{ACCEPT, HeaderMap, HeaderValue};

/// A client that acts as a browser toward an msal-axum app: it keeps cookies, follows
/// redirects (so one `GET /auth/login?login_hint=…` completes a sign-in against a
/// [`TestIdp`](super::TestIdp)), and sends `Accept: text/html`.
///
/// msal-axum treats a request as a browser navigation when it is a GET or HEAD with
/// `Accept: text/html` and no `Authorization` header: only then is a missing sign-in a
/// redirect to sign in and a missing scope a round trip for consent. Any other request is an
/// API call, answered 401 or 403 (`insufficient_scope`). A cookie-jar client without that
/// `Accept` header gets the API answers.
///
/// ```no_run
/// # async fn f() -> Result<(), Box<dyn std::error::Error>> {
/// let browser = msal_runtime::testing::browser()?;
/// let page = browser
///     .get("http://127.0.0.1:5000/auth/login?login_hint=bob@contoso.test&next=/admin")
///     .send()
///     .await?;
/// assert_eq!(page.status(), 200);
/// # Ok(()) }
/// ```
pub fn browser() -> reqwest::Result<reqwest::Client> {
    let mut headers = HeaderMap::new();
    headers.insert(ACCEPT, HeaderValue::from_static("text/html"));
    reqwest::Client::builder()
        .cookie_store(true)
        .default_headers(headers)
        .build()
}
