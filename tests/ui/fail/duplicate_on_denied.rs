use msal_runtime::msal_protected;

fn denied(_: msal_runtime::AuthRejection) -> &'static str { "no" }

#[msal_protected(roles = "Admin", on_denied = denied, on_denied = denied)]
async fn handler() {}

fn main() {}
