use msal_runtime::msal_protected;

#[msal_protected(roles = "Admin", on_denied = "denied")]
async fn handler() {}

fn main() {}
