use msal_runtime::msal_protected;

#[msal_protected(scope = "User.Read", roles = "", any(), tenants = "nope")]
async fn handler() {}

fn main() {}
