//! The few HTML pages a TestIdp shows: the user picker, errors, form_post and sign-out.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::super::model::TestUser;
use super::super::tokens::GrantError;
// The one HTML escaper of the crate (error is a leaf every module may use).
pub(crate) use crate::error::escape_html as escape;

pub(crate) fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem}}\
         .test{{background:#fff3cd;padding:.5rem;border-radius:4px}}button{{display:block;margin:.5rem 0;padding:.6rem 1rem;width:100%;text-align:left}}</style>\
         </head><body><p class=\"test\">TestIdp: a local identity provider for tests. Not a real sign-in.</p>\n{body}\n</body></html>\n",
        title = escape(title),
    );
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        html,
    )
        .into_response()
}

/// An error shown to the user instead of redirecting (unknown client, unregistered
/// redirect URI: a redirect would go somewhere untrusted).
pub(crate) fn error_page(err: &GrantError) -> Response {
    let status = StatusCode::from_u16(err.status).unwrap_or(StatusCode::BAD_REQUEST);
    page(
        status,
        "Sign-in error",
        &format!(
            "<h1>Sorry, but we're having trouble signing you in.</h1>\n<p id=\"error\">{}</p>\n<p id=\"error_description\">{}</p>",
            escape(err.error),
            escape(&err.text())
        ),
    )
}

/// Hidden inputs that carry parameters through a form.
fn hidden(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">\n",
                escape(k),
                escape(v)
            )
        })
        .collect()
}

/// "Pick an account": one button per user; the original request travels in hidden fields.
pub(crate) fn picker(
    action: &str,
    app_name: &str,
    users: &[&TestUser],
    params: &[(&str, &str)],
    notice: Option<&str>,
) -> Response {
    let notice = notice
        .map(|n| format!("<p id=\"notice\">{}</p>\n", escape(n)))
        .unwrap_or_default();
    let buttons: String = users
        .iter()
        .map(|u| {
            format!(
                "<button type=\"submit\" name=\"testidp_user\" value=\"{}\">{} ({})</button>\n",
                escape(&u.oid),
                escape(&u.name),
                escape(&u.preferred_username)
            )
        })
        .collect();
    page(
        StatusCode::OK,
        "Pick an account",
        &format!(
            "<h1>Pick an account</h1>\n<p>to continue to {app}</p>\n{notice}\
             <form method=\"post\" action=\"{action}\">\n{hidden}{buttons}\
             <button type=\"submit\" name=\"testidp_cancel\" value=\"1\">Cancel</button>\n</form>",
            app = escape(app_name),
            action = escape(action),
            hidden = hidden(params),
        ),
    )
}

/// `response_mode=form_post`: a page that posts the response to the app.
pub(crate) fn form_post(action: &str, fields: &[(&str, &str)]) -> Response {
    page(
        StatusCode::OK,
        "Working...",
        &format!(
            "<form method=\"post\" action=\"{}\">\n{}<noscript><button type=\"submit\">Continue</button></noscript>\n</form>\n\
             <script>document.forms[0].submit()</script>",
            escape(action),
            hidden(fields)
        ),
    )
}

/// After sign-out: front-channel iframes for the apps of the session, then the way back.
pub(crate) fn signed_out(frames: &[String], next: Option<&str>) -> Response {
    let frames: String = frames
        .iter()
        .map(|src| {
            format!(
                "<iframe class=\"frontchannel\" src=\"{}\" hidden></iframe>\n",
                escape(src)
            )
        })
        .collect();
    let next = next
        .map(|n| {
            format!(
                "<p><a id=\"continue\" href=\"{0}\">Continue</a></p>\n<script>setTimeout(function(){{location.href=document.getElementById('continue').href}},500)</script>",
                escape(n)
            )
        })
        .unwrap_or_default();
    page(
        StatusCode::OK,
        "Signed out",
        &format!("<h1>You signed out of your account</h1>\n{frames}{next}"),
    )
}
