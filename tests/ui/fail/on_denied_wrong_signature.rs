use msal_runtime::msal_protected;

fn denied(code: u32) -> u32 { code }

#[msal_protected(roles = "Admin", on_denied = denied)]
async fn handler() {}

fn main() {}
