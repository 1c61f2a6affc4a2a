use msal_runtime::msal_protected;

#[msal_protected(roles = "Admin", roles = "Reader")]
async fn handler() {}

fn main() {}
